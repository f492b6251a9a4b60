import { parseLimit, parseText, parseTraceId, parseWindow, QueryParamError, single } from '../params.js';
import { parseCorrelationId } from '../stitch-routes.js';
import { parseLogCursor, type LogOrder } from './log-cursor.js';
import { MAX_LOG_LIMIT, type LogFilter, type LogPageRequest } from './log-reads.js';

export const DEFAULT_LOG_LIMIT = 100;
/** A search by service, severity or text (no ID) covers at most this window. */
export const MAX_LOG_SEARCH_WINDOW_NS = 7n * 24n * 3_600_000_000_000n;
export const DEFAULT_LOG_LOOKBACK_NS = 3_600_000_000_000n;
const MAX_TEXT = 256;

/** The lowest SeverityNumber of each OTLP severity range. */
export const SEVERITY_FLOORS: ReadonlyMap<string, number> = new Map([
  ['trace', 1],
  ['debug', 5],
  ['info', 9],
  ['warn', 13],
  ['error', 17],
  ['fatal', 21],
]);

/** Every query parameter `GET /api/logs` takes; any other is refused (a typo would otherwise widen the answer). */
export const LOG_QUERY_PARAMETERS = ['trace_id', 'span_id', 'correlation_id', 'service', 'severity', 'text', 'start', 'end', 'lookback', 'order', 'limit', 'cursor'] as const;
/** What `GET /api/traces/:traceId/logs` takes. */
export const TRACE_LOG_QUERY_PARAMETERS = ['severity', 'order', 'limit', 'cursor'] as const;

export function refuseUnknown(query: Record<string, unknown>, known: readonly string[]): void {
  const unknown = Object.keys(query).filter((name) => !known.includes(name));
  if (unknown.length > 0) throw new QueryParamError(`${unknown[0]!.slice(0, 64)}: unknown parameter; the parameters are ${known.join(', ')}`);
}

/** 16 hex digits, lowercased. */
export function parseSpanId(name: string, value: unknown): string | undefined {
  const text = single(name, value);
  if (text === undefined) return undefined;
  if (!/^[0-9a-fA-F]{16}$/.test(text)) throw new QueryParamError(`${name}: expected 16 hex digits, got ${JSON.stringify(text.slice(0, 64))}`);
  return text.toLowerCase();
}

/** A severity name (trace, debug, info, warn, error, fatal) or an OTLP SeverityNumber 1–24: that severity or worse. */
export function parseSeverity(value: unknown): number | undefined {
  const text = single('severity', value);
  if (text === undefined) return undefined;
  const floor = SEVERITY_FLOORS.get(text.toLowerCase());
  if (floor !== undefined) return floor;
  const n = /^\d{1,2}$/.test(text) ? Number(text) : NaN;
  if (n >= 1 && n <= 24) return n;
  throw new QueryParamError(`severity: expected trace, debug, info, warn, error, fatal or a number from 1 to 24, got ${JSON.stringify(text.slice(0, 64))}`);
}

export function parseOrder(value: unknown, fallback: LogOrder): LogOrder {
  const text = single('order', value);
  if (text === undefined) return fallback;
  if (text === 'asc' || text === 'desc') return text;
  throw new QueryParamError(`order: expected asc (time order) or desc (newest first), got ${JSON.stringify(text.slice(0, 64))}`);
}

/** limit, order and cursor: the paging every log route shares. */
export function parsePage(query: Record<string, unknown>, defaultOrder: LogOrder): LogPageRequest {
  const order = parseOrder(query.order, defaultOrder);
  const cursorText = single('cursor', query.cursor);
  return { limit: parseLimit(query.limit, DEFAULT_LOG_LIMIT, MAX_LOG_LIMIT), order, cursor: cursorText === undefined ? undefined : parseLogCursor(cursorText, order) };
}

/**
 * `GET /api/logs`'s query: by IDs (trace, span, correlation: any window, time order by default),
 * or by service / severity / text over a window (default the last hour, at most 7 days; newest first).
 */
export function parseLogQuery(query: Record<string, unknown>): { filter: LogFilter; page: LogPageRequest } {
  refuseUnknown(query, LOG_QUERY_PARAMETERS);
  const traceText = single('trace_id', query.trace_id);
  const traceId = traceText === undefined ? undefined : named('trace_id', () => parseTraceId(traceText));
  const spanId = parseSpanId('span_id', query.span_id);
  const correlationText = single('correlation_id', query.correlation_id);
  const correlationId = correlationText === undefined ? undefined : named('correlation_id', () => parseCorrelationId(correlationText));
  const service = parseText('service', query.service);
  const minSeverity = parseSeverity(query.severity);
  const text = parseText('text', query.text, MAX_TEXT);
  const byId = traceId !== undefined || spanId !== undefined || correlationId !== undefined;
  const windowGiven = ['start', 'end', 'lookback'].some((name) => single(name, query[name]) !== undefined);
  const filter: LogFilter = { traceId, spanId, correlationId, service, minSeverity, text };
  if (!byId || windowGiven) {
    const { startNs, endNs } = parseWindow(query, DEFAULT_LOG_LOOKBACK_NS);
    if (!byId && endNs - startNs > MAX_LOG_SEARCH_WINDOW_NS) {
      const culprit = single('start', query.start) === undefined && single('lookback', query.lookback) !== undefined ? 'lookback' : 'start';
      throw new QueryParamError(`${culprit}: without trace_id, span_id or correlation_id the window is at most 7 days (168h) wide`);
    }
    filter.startNs = startNs;
    filter.endNs = endNs;
  }
  return { filter, page: parsePage(query, byId ? 'asc' : 'desc') };
}

/** Runs a parser whose message names the value generically, naming the parameter instead. */
function named<T>(name: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof QueryParamError) throw new QueryParamError(err.message.replace(/^(trace ID|correlation ID):/, `${name}:`));
    throw err;
  }
}
