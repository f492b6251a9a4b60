/**
 * Log rows for tests, inserted straight into otel_logs (the table of
 * exporters/clickhouse/logs-schema.ts) with the columns the OTLP logs receiver fills.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { CORRELATION_ID_ATTRIBUTE, LOGS_TABLE } from '../../../../exporters/clickhouse/logs-schema.js';

export interface TestLog {
  /** Milliseconds since the epoch, plus `nanos` within the millisecond. */
  atMs: number;
  nanos?: number;
  traceId?: string;
  spanId?: string;
  service: string;
  severity?: [text: string, number: number];
  body: string;
  correlationId?: string;
  attributes?: Record<string, string>;
  attributeKinds?: Record<string, string>;
  resource?: Record<string, string>;
}

export function logRow(log: TestLog): Record<string, unknown> {
  const time = isoNanos(log.atMs, log.nanos ?? 0);
  const [severityText, severityNumber] = log.severity ?? ['INFO', 9];
  return {
    Timestamp: time,
    ObservedTimestamp: time,
    TraceId: log.traceId ?? '',
    SpanId: log.spanId ?? '',
    TraceFlags: log.traceId ? 1 : 0,
    Flags: log.traceId ? 1 : 0,
    SeverityText: severityText,
    SeverityNumber: severityNumber,
    ServiceName: log.service,
    Body: log.body,
    ResourceAttributes: { 'service.name': log.service, ...log.resource },
    ScopeName: 'test-logger',
    LogAttributes: { ...log.attributes, ...(log.correlationId !== undefined ? { [CORRELATION_ID_ATTRIBUTE]: log.correlationId } : {}) },
    AttributeKinds: log.attributeKinds ?? {},
  };
}

export async function insertLogs(writer: ClickHouseClient, database: string, logs: readonly TestLog[]): Promise<void> {
  await writer.insert({ table: `${database}.${LOGS_TABLE}`, values: logs.map(logRow), format: 'JSONEachRow', clickhouse_settings: { date_time_input_format: 'best_effort' } });
}

/** `2026-12-07T02:50:16.123456789Z`: all nine digits. */
function isoNanos(atMs: number, nanos: number): string {
  const iso = new Date(atMs).toISOString();
  return `${iso.slice(0, 23)}${String(nanos).padStart(6, '0')}Z`;
}
