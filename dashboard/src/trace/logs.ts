/**
 * The trace page's log records: their API shapes and paths, and the rows the Logs panel and the
 * span details show (severity class, body as text, offset from the trace's start, whether the
 * record's span is in this trace). Records are data from whoever sent them: text only.
 */
import { queryString } from '../api/client';
import { formatDurationNs } from './model';

/** One record as `GET /api/traces/:id/logs` and `GET /api/logs` return it (query/logs/log-view.ts). */
export interface LogRecordJson {
  timeUnixNano: string;
  traceId: string;
  spanId: string;
  severityText: string;
  severityNumber: number;
  serviceName: string;
  body: unknown;
  bodyTruncated?: boolean;
  correlationId: string;
  attributes: Record<string, unknown>;
  foundBy?: 'trace' | 'correlation';
}

export interface LogPageJson {
  logs: LogRecordJson[];
  nextCursor?: string;
  byteCapped: boolean;
}

export interface TraceLogsJson extends LogPageJson {
  traceId: string;
  correlationIds: string[];
}

/** Records per request of the panel; "Load more" asks for the next page. */
export const LOGS_PAGE = 500;
/** Records of one span shown in its details. */
export const SPAN_LOGS_LIMIT = 100;

export function traceLogsPath(traceId: string, cursor?: string): string {
  return `/api/traces/${encodeURIComponent(traceId)}/logs${queryString({ limit: LOGS_PAGE, cursor })}`;
}

export function spanLogsPath(traceId: string, spanId: string): string {
  return `/api/logs${queryString({ trace_id: traceId, span_id: spanId, limit: SPAN_LOGS_LIMIT })}`;
}

export type SeverityClass = 'unset' | 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** The OTLP range a SeverityNumber falls in (1–4 TRACE … 21–24 FATAL; 0 unset). */
export function severityClass(severityNumber: number): SeverityClass {
  if (!(severityNumber >= 1)) return 'unset';
  return (['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const)[Math.min(5, Math.floor((severityNumber - 1) / 4))]!;
}

/** The text the sender gave, else the range's name. */
export function severityLabel(log: Pick<LogRecordJson, 'severityText' | 'severityNumber'>): string {
  if (log.severityText !== '') return log.severityText;
  const cls = severityClass(log.severityNumber);
  return cls === 'unset' ? '–' : cls.toUpperCase();
}

/** A string body as it is; any other kind as compact JSON. */
export function bodyText(body: unknown): string {
  return typeof body === 'string' ? body : JSON.stringify(body) ?? '';
}

export interface LogRow {
  key: string;
  timeUnixNano: string;
  /** Nanoseconds after the trace's start (negative before it). */
  offsetNs: number;
  severity: string;
  severityClass: SeverityClass;
  service: string;
  body: string;
  truncated: boolean;
  spanId: string;
  /** The record's span is a span of this trace that the page can select. */
  selectable: boolean;
  /** Found through a correlation ID the trace shares, not by its trace ID. */
  byCorrelation: boolean;
  correlationId: string;
}

/** Rows in the order given (the API's time order), against the trace's start time. */
export function logRows(logs: readonly LogRecordJson[], traceStartNs: string, hasSpan: (spanId: string) => boolean): LogRow[] {
  const start = BigInt(traceStartNs);
  const seen = new Map<string, number>();
  return logs.map((log) => {
    // Two records may share every field shown: the key stays unique.
    const base = `${log.timeUnixNano}/${log.spanId}/${log.serviceName}`;
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return {
      key: `${base}/${n}`,
      timeUnixNano: log.timeUnixNano,
      offsetNs: Number(BigInt(log.timeUnixNano) - start),
      severity: severityLabel(log),
      severityClass: severityClass(log.severityNumber),
      service: log.serviceName,
      body: bodyText(log.body),
      truncated: log.bodyTruncated === true,
      spanId: log.spanId,
      selectable: log.spanId !== '' && hasSpan(log.spanId),
      byCorrelation: log.foundBy === 'correlation',
      correlationId: log.correlationId,
    };
  });
}

/** How many records are shown and whether more can be loaded, as the panel's heading says it. */
export function logsSummary(count: number, more: boolean, correlationIds: readonly string[]): string {
  const records = `${count}${more ? '+' : ''} log record${count === 1 && !more ? '' : 's'}`;
  return correlationIds.length > 0 ? `${records}, with those of correlation ID${correlationIds.length === 1 ? '' : 's'} ${correlationIds.join(', ')}` : records;
}

/** A record's time against the trace's start: `+1.50 ms`, `-3.00 ms` (before the first span). */
export function offsetLabel(offsetNs: number): string {
  return offsetNs < 0 ? formatDurationNs(offsetNs) : `+${formatDurationNs(offsetNs)}`;
}
