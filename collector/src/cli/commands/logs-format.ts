import { visible } from '../format.js';
import type { LogView } from '../../query/logs/log-view.js';

/** Severity as shown: its text, else the range of its number, else `-`. */
export function severityLabel(log: Pick<LogView, 'severityText' | 'severityNumber'>): string {
  if (log.severityText !== '') return log.severityText;
  const n = log.severityNumber;
  if (n <= 0) return '-';
  return ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'][Math.min(5, Math.floor((n - 1) / 4))]!;
}

/** Nanoseconds since the epoch as ISO-8601 UTC with microseconds. */
function isoMicros(unixNano: string): string {
  const ns = BigInt(unixNano);
  const micros = ((ns / 1_000n) % 1_000n).toString().padStart(3, '0');
  return new Date(Number(ns / 1_000_000n)).toISOString().replace('Z', `${micros}Z`);
}

/**
 * Log records one per line: time, severity, service, span (or the trace when it is not the one
 * asked for), how it was found when it was through a correlation ID, and the body. Everything a
 * sender controls goes through `visible`, so a body can neither forge lines nor command the terminal.
 */
export function formatLogLines(logs: readonly LogView[], askedTraceId?: string): string {
  const severityWidth = Math.max(5, ...logs.map((l) => visible(severityLabel(l)).length));
  const serviceWidth = Math.max(1, ...logs.map((l) => visible(l.serviceName).length));
  return logs
    .map((log) => {
      // IDs too: the ingest writes hex, but the table is the exporter's and another writer may fill it.
      const [traceId, spanId] = [visible(log.traceId), visible(log.spanId)];
      const where = log.traceId !== '' && log.traceId !== askedTraceId ? `trace ${traceId}${spanId ? ` span ${spanId}` : ''}` : spanId ? `span ${spanId}` : 'no span';
      const body = typeof log.body === 'string' ? log.body : JSON.stringify(log.body);
      const via = log.foundBy === 'correlation' ? ` [by correlation ID ${visible(log.correlationId)}]` : '';
      return `${isoMicros(log.timeUnixNano)}  ${visible(severityLabel(log)).padEnd(severityWidth)}  ${visible(log.serviceName).padEnd(serviceWidth)}  ${where}${via}  ${visible(body)}${log.bodyTruncated ? ' [body cut]' : ''}`;
    })
    .map((line) => `${line}\n`)
    .join('');
}
