import type { AttributeKinds, Attributes, InstrumentationScope, Resource, ValueKind } from './span.js';

/**
 * The collector's log record: OTLP's LogRecord, flat, shaped after the `otel_logs` row as the
 * OpenTelemetry Collector ClickHouse exporter writes it (exporters/clickhouse/logs-schema.ts).
 * Values are the strings that exporter stores (pdata's AsString(), as for spans: model/span.ts),
 * with the kinds of non-string values kept beside them so a record goes back out as it came.
 */
export interface LogRecord {
  /** Shared by every record of the same ResourceLogs. */
  resource: Resource;
  /** Shared by every record of the same ScopeLogs. */
  scope: InstrumentationScope;
  /** time_unix_nano as sent (0 when absent). */
  timeUnixNano: bigint;
  observedTimeUnixNano: bigint;
  /** OTLP SeverityNumber, 0–24. */
  severityNumber: number;
  severityText: string;
  /** The body as AsString() renders it ('' for none). */
  body: string;
  /** The body's kind when it is not a string (its JSON/decimal/base64 text is in `body`). */
  bodyKind?: ValueKind;
  attributes: Attributes;
  attributeKinds?: AttributeKinds;
  droppedAttributesCount: number;
  /** All 32 bits of flags; the low 8 are the W3C trace flags. */
  flags: number;
  /** 32 lower-case hex digits, or '' when the record has no trace context. */
  traceId: string;
  /** 16 lower-case hex digits, or ''. */
  spanId: string;
  eventName: string;
}

/** The time a record is stored and expired under: its own, else when it was observed (as the exporter does). */
export function storedTime(record: Pick<LogRecord, 'timeUnixNano' | 'observedTimeUnixNano'>): bigint {
  return record.timeUnixNano !== 0n ? record.timeUnixNano : record.observedTimeUnixNano;
}
