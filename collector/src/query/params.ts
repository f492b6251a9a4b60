/** A bad query parameter: answered with 400 and this message. */
export class QueryParamError extends Error {
  override name = 'QueryParamError';
}

const UNITS_NS: Record<string, bigint> = { ns: 1n, us: 1_000n, 'µs': 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };

/** A Go/Jaeger-style duration (`250ms`, `1.5s`, `2m`, `1h30m`) in nanoseconds. */
export function parseDuration(name: string, text: string): bigint {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * Number(UNITS_NS[m[2]!]);
    matched = re.lastIndex;
  }
  if (text === '' || matched !== text.length) {
    throw new QueryParamError(`${name}: expected a duration such as 250ms, 1.5s or 2m, got ${JSON.stringify(text)}`);
  }
  return BigInt(Math.round(total));
}

/**
 * A point in time in nanoseconds since the epoch: an integer is microseconds since the
 * epoch (as the Jaeger API takes it); anything else must be an ISO-8601 date.
 */
export function parseTime(name: string, text: string): bigint {
  if (/^\d+$/.test(text)) return BigInt(text) * 1000n;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) {
    throw new QueryParamError(`${name}: expected microseconds since the epoch or an ISO-8601 time, got ${JSON.stringify(text)}`);
  }
  return BigInt(ms) * 1_000_000n;
}

/** Tags as Jaeger sends them (`{"k":"v"}`) or as logfmt (`k=v k2="v 2"`). */
export function parseTags(text: string): Array<[string, string]> {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  if (trimmed.startsWith('{')) {
    let obj: unknown;
    try {
      obj = JSON.parse(trimmed);
    } catch {
      throw new QueryParamError('tags: invalid JSON object');
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new QueryParamError('tags: expected a JSON object');
    return Object.entries(obj as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]);
  }
  const out: Array<[string, string]> = [];
  const re = /\s*([^\s=]+)=("((?:[^"\\]|\\.)*)"|\S*)/gy;
  let end = 0;
  for (let m = re.exec(trimmed); m !== null; m = re.exec(trimmed)) {
    out.push([m[1]!, m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[2]!]);
    end = re.lastIndex;
  }
  if (end !== trimmed.length) throw new QueryParamError(`tags: expected key=value pairs separated by spaces, got ${JSON.stringify(text)}`);
  return out;
}

export function parseLimit(text: string | undefined, fallback: number, max: number): number {
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new QueryParamError(`limit: expected a whole number from 1 to ${max}, got ${JSON.stringify(text)}`);
  return n;
}

/** 32 hex digits (16-digit IDs, as some Zipkin-era clients send, are zero-padded). */
export function parseTraceId(text: string): string {
  const id = text.toLowerCase();
  if (/^[0-9a-f]{32}$/.test(id)) return id;
  if (/^[0-9a-f]{16}$/.test(id)) return id.padStart(32, '0');
  throw new QueryParamError(`trace ID: expected 32 hex digits, got ${JSON.stringify(text)}`);
}
