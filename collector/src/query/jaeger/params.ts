/**
 * Jaeger's query parameters (cmd/query/app/query_parser.go), parsed strictly and bounded:
 * every bad value is a QueryParamError (400) naming the parameter.
 */
import { MAX_NS, MAX_TAGS, QueryParamError, parseDuration, parseLimit, parseTags, parseText, parseTime, parseTraceId, single } from '../params.js';

/** Jaeger's own default and FlowTrace's bound on traces per search. */
export const DEFAULT_SEARCH_LIMIT = 100;
export const MAX_SEARCH_LIMIT = 1000;
/** Jaeger's defaults: searches look 2 days back, dependencies 1 day. */
const SEARCH_LOOKBACK_NS = 48n * 3_600_000_000_000n;
const DEPENDENCIES_LOOKBACK_MS = 24n * 3_600_000n;
const NS_PER_MS = 1_000_000n;

export const SPAN_KINDS = ['internal', 'server', 'client', 'producer', 'consumer'] as const;

export interface SearchParams {
  /** Set when the request names trace IDs (`traceID=…`, repeatable): the other conditions are then ignored, as Jaeger does. */
  traceIds: string[];
  service: string;
  operation?: string;
  tags: Array<[string, string]>;
  minDurationNs?: bigint;
  maxDurationNs?: bigint;
  startNs: bigint;
  endNs: bigint;
  limit: number;
  /** `raw=true`: stored times as they are, without the clock-skew adjustment (Jaeger skips its adjusters). */
  raw: boolean;
}

/** `GET /api/traces`: service (required without traceID), operation, tags/tag, min/maxDuration, limit, start/end (µs) or lookback. */
export function parseSearch(q: Record<string, unknown>, nowNs = BigInt(Date.now()) * 1_000_000n): SearchParams {
  const traceIds = many('traceID', q.traceID).map((id) => parseTraceId(id));
  if (traceIds.length > MAX_SEARCH_LIMIT) throw new QueryParamError(`traceID: at most ${MAX_SEARCH_LIMIT} IDs, got ${traceIds.length}`);
  const service = parseText('service', q.service) ?? '';
  if (traceIds.length === 0 && service === '') throw new QueryParamError("parameter 'service' is required");

  const tags = parseTags(q.tags);
  for (const tag of many('tag', q.tag)) {
    const colon = tag.indexOf(':');
    if (colon <= 0) throw new QueryParamError(`tag: expected key:value, got ${JSON.stringify(tag.slice(0, 64))}`);
    tags.push([tag.slice(0, colon), tag.slice(colon + 1)]);
  }
  if (tags.length > MAX_TAGS) throw new QueryParamError(`tags: at most ${MAX_TAGS} conditions, got ${tags.length}`);

  const min = single('minDuration', q.minDuration);
  const max = single('maxDuration', q.maxDuration);
  const minDurationNs = min !== undefined ? parseDuration('minDuration', min) : undefined;
  const maxDurationNs = max !== undefined ? parseDuration('maxDuration', max) : undefined;
  if (minDurationNs !== undefined && maxDurationNs !== undefined && maxDurationNs < minDurationNs) {
    throw new QueryParamError("'maxDuration' should be greater than 'minDuration'");
  }

  const end = single('end', q.end);
  const start = single('start', q.start);
  const lookback = single('lookback', q.lookback);
  const endNs = end !== undefined ? parseTime('end', end) : nowNs;
  // The Jaeger UI sends `lookback=custom` beside start and end: only a duration counts.
  const lookbackNs = lookback !== undefined && lookback !== 'custom' ? parseDuration('lookback', lookback) : SEARCH_LOOKBACK_NS;
  const startNs = start !== undefined ? parseTime('start', start) : endNs > lookbackNs ? endNs - lookbackNs : 0n;
  if (startNs > endNs) throw new QueryParamError('start: must not be after end');

  return {
    traceIds,
    service,
    operation: parseText('operation', q.operation) || undefined,
    tags,
    minDurationNs,
    maxDurationNs,
    startNs,
    endNs,
    limit: parseLimit(q.limit, DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT),
    raw: parseRaw(q.raw),
  };
}

const GO_TRUE = ['1', 't', 'T', 'TRUE', 'true', 'True'];
const GO_FALSE = ['0', 'f', 'F', 'FALSE', 'false', 'False'];

/**
 * Jaeger's `raw` parameter (trace by ID and search): true turns its adjusters off, clock skew
 * among them, so the answer holds the stored times. Parsed as Go's strconv.ParseBool, with
 * Jaeger's message for anything else; absent or empty is false.
 */
export function parseRaw(value: unknown): boolean {
  const text = single('raw', value);
  if (text === undefined) return false;
  if (GO_TRUE.includes(text)) return true;
  if (GO_FALSE.includes(text)) return false;
  throw new QueryParamError(`unable to parse param 'raw': strconv.ParseBool: parsing ${JSON.stringify(text.slice(0, 64))}: invalid syntax`);
}

/** `GET /api/operations`: service (required) and an optional span kind. */
export function parseOperations(q: Record<string, unknown>): { service: string; spanKind?: string } {
  const service = parseText('service', q.service);
  if (service === undefined) throw new QueryParamError("parameter 'service' is required");
  const spanKind = single('spanKind', q.spanKind);
  if (spanKind !== undefined && !(SPAN_KINDS as readonly string[]).includes(spanKind)) {
    throw new QueryParamError(`spanKind: expected one of ${SPAN_KINDS.join(', ')}, got ${JSON.stringify(spanKind.slice(0, 64))}`);
  }
  return { service, spanKind };
}

/** `GET /api/dependencies`: endTs (ms since the epoch, default now) and lookback (ms, default 1 day); optional service. */
export function parseDependencies(q: Record<string, unknown>, nowNs = BigInt(Date.now()) * 1_000_000n): { startNs: bigint; endNs: bigint; service?: string } {
  const endNs = millis('endTs', q.endTs) ?? nowNs;
  const lookbackNs = millis('lookback', q.lookback) ?? DEPENDENCIES_LOOKBACK_MS * NS_PER_MS;
  return { startNs: endNs > lookbackNs ? endNs - lookbackNs : 0n, endNs, service: parseText('service', q.service) || undefined };
}

/** Whole milliseconds (digits only) as nanoseconds, bounded; undefined when absent. */
function millis(name: string, value: unknown): bigint | undefined {
  const text = single(name, value);
  if (text === undefined) return undefined;
  if (!/^\d{1,16}$/.test(text)) throw new QueryParamError(`${name}: expected whole milliseconds, got ${JSON.stringify(text.slice(0, 64))}`);
  const ns = BigInt(text) * NS_PER_MS;
  if (ns > MAX_NS) throw new QueryParamError(`${name}: ${text} ms is beyond 2262-04-11`);
  return ns;
}

/** A repeatable parameter's values (absent: none). */
function many(name: string, value: unknown): string[] {
  if (value === undefined || value === '') return [];
  const values = Array.isArray(value) ? value : [value];
  if (values.length > MAX_SEARCH_LIMIT) throw new QueryParamError(`${name}: at most ${MAX_SEARCH_LIMIT} values`);
  return values.map((v) => {
    if (typeof v !== 'string') throw new QueryParamError(`${name}: expected text`);
    return v;
  });
}
