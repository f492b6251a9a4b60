/**
 * Query-API parameter parsers. Every bad value is a QueryParamError (400) naming the parameter:
 * strict integers (digits only), every number bounded before it reaches a query (no 500 from an
 * Int64 overflow in the engine), and a parameter given twice is refused rather than guessed at.
 * The parsers take `unknown` because a repeated query parameter arrives as an array.
 */

/** A bad query parameter: answered with 400 and this message. */
export class QueryParamError extends Error {
  override name = 'QueryParamError';
}

/** The largest time or duration in nanoseconds the engine's Int64/DateTime64(9) can hold (2262-04-11). */
export const MAX_NS = (1n << 63n) - 1n;
/** Tags conditions per search: each becomes a clause of the query. */
export const MAX_TAGS = 50;
/** Longest tag key or value accepted. */
const MAX_TAG_TEXT = 4096;

const UNITS_NS: Record<string, bigint> = { ns: 1n, us: 1_000n, 'µs': 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };

/** One value of a query parameter, or undefined when it is absent or empty. */
export function single(name: string, value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new QueryParamError(`${name}: expected one value, got ${Array.isArray(value) ? `${value.length} values` : typeof value}`);
  return value;
}

/** A Go/Jaeger-style duration (`250ms`, `1.5s`, `2m`, `1h30m`) in nanoseconds, at most ~292 years. */
export function parseDuration(name: string, value: unknown): bigint {
  const text = single(name, value) ?? '';
  const problem = () => new QueryParamError(`${name}: expected a duration such as 250ms, 1.5s or 2m, got ${quote(text)}`);
  // Whole and fractional digits are bounded so that no part can overflow a double.
  const re = /(\d{1,20})(?:\.(\d{1,9}))?(ns|us|µs|ms|s|m|h)/gy;
  let total = 0n;
  let matched = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const unit = UNITS_NS[m[3]!]!;
    const fraction = m[2] ?? '';
    total += BigInt(m[1]!) * unit + (BigInt(fraction || '0') * unit) / 10n ** BigInt(fraction.length);
    matched = re.lastIndex;
  }
  if (text === '' || matched !== text.length) throw problem();
  if (total > MAX_NS) throw new QueryParamError(`${name}: duration ${quote(text)} is too long (at most 292 years)`);
  return total;
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * A point in time in nanoseconds since the epoch, from 1970 to 2262: an integer is microseconds
 * since the epoch (as the Jaeger API takes it); anything else must be an ISO-8601 date or time.
 */
export function parseTime(name: string, value: unknown): bigint {
  const text = single(name, value) ?? '';
  let ns: bigint | undefined;
  if (/^\d{1,20}$/.test(text)) ns = BigInt(text) * 1000n;
  else if (ISO_8601.test(text)) {
    const ms = Date.parse(text);
    if (!Number.isNaN(ms)) ns = BigInt(ms) * 1_000_000n;
  }
  if (ns === undefined) throw new QueryParamError(`${name}: expected microseconds since the epoch or an ISO-8601 time, got ${quote(text)}`);
  if (ns < 0n || ns > MAX_NS) throw new QueryParamError(`${name}: ${quote(text)} is outside 1970-01-01 to 2262-04-11`);
  return ns;
}

/**
 * The search window [start, end] in nanoseconds: `end` (default now), `start`, or `lookback`
 * before end (default `defaultLookbackNs`), clamped at the epoch; start must not be after end.
 */
export function parseWindow(q: Record<string, unknown>, defaultLookbackNs: bigint, nowNs = BigInt(Date.now()) * 1_000_000n): { startNs: bigint; endNs: bigint } {
  const end = single('end', q.end);
  const start = single('start', q.start);
  const lookback = single('lookback', q.lookback);
  const endNs = end !== undefined ? parseTime('end', end) : nowNs;
  const lookbackNs = lookback !== undefined ? parseDuration('lookback', lookback) : defaultLookbackNs;
  const startNs = start !== undefined ? parseTime('start', start) : endNs > lookbackNs ? endNs - lookbackNs : 0n;
  if (startNs > endNs) throw new QueryParamError('start: must not be after end');
  return { startNs, endNs };
}

/** Tags as Jaeger sends them (`{"k":"v"}`, values strings, numbers or booleans) or as logfmt (`k=v k2="v 2"`). */
export function parseTags(value: unknown): Array<[string, string]> {
  const trimmed = (single('tags', value) ?? '').trim();
  if (trimmed === '') return [];
  const out: Array<[string, string]> = [];
  if (trimmed.startsWith('{')) {
    let obj: unknown;
    try {
      obj = JSON.parse(trimmed);
    } catch {
      throw new QueryParamError('tags: invalid JSON object');
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new QueryParamError('tags: expected a JSON object');
    for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
      if (typeof v === 'string') out.push([k, v]);
      else if (typeof v === 'number' || typeof v === 'boolean') out.push([k, String(v)]);
      else throw new QueryParamError(`tags: the value of ${quote(k)} must be a string, number or boolean`);
    }
  } else {
    const re = /\s*([^\s=]+)=("((?:[^"\\]|\\.)*)"|\S*)/gy;
    let end = 0;
    for (let m = re.exec(trimmed); m !== null; m = re.exec(trimmed)) {
      out.push([m[1]!, m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[2]!]);
      end = re.lastIndex;
    }
    if (end !== trimmed.length) throw new QueryParamError(`tags: expected key=value pairs separated by spaces, got ${quote(trimmed)}`);
  }
  if (out.length > MAX_TAGS) throw new QueryParamError(`tags: at most ${MAX_TAGS} conditions, got ${out.length}`);
  for (const [k, v] of out) {
    if (k.length > MAX_TAG_TEXT || v.length > MAX_TAG_TEXT) throw new QueryParamError(`tags: keys and values are at most ${MAX_TAG_TEXT} characters`);
  }
  return out;
}

/** A whole number from 1 to `max`, digits only (no sign, spaces, exponent, hex or fraction). */
export function parseLimit(value: unknown, fallback: number, max: number): number {
  const text = single('limit', value);
  if (text === undefined) return fallback;
  const n = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= max)) throw new QueryParamError(`limit: expected a whole number from 1 to ${max}, got ${quote(text)}`);
  return n;
}

/** An optional free-text parameter (service, operation): one value, bounded length. */
export function parseText(name: string, value: unknown, maxLength = 1024): string | undefined {
  const text = single(name, value);
  if (text !== undefined && text.length > maxLength) throw new QueryParamError(`${name}: at most ${maxLength} characters, got ${text.length}`);
  return text;
}

/** 32 hex digits (16-digit IDs, as some Zipkin-era clients send, are zero-padded). */
export function parseTraceId(value: unknown): string {
  const text = single('trace ID', value) ?? '';
  const id = text.toLowerCase();
  if (/^[0-9a-f]{32}$/.test(id)) return id;
  if (/^[0-9a-f]{16}$/.test(id)) return id.padStart(32, '0');
  throw new QueryParamError(`trace ID: expected 32 hex digits, got ${quote(text)}`);
}

/** A client value echoed in a message: JSON-quoted and cut short. */
function quote(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}
