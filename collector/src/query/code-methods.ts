/**
 * Method spans of one source file, aggregated per function: what an editor shows above the
 * functions the agents traced (the VS Code extension's CodeLens: "312 calls · p99 41 ms · 2
 * errors, last hour").
 *
 * Agents report `code.file.path` differently: Node.js, Python and Go absolute paths, Java the
 * package path (`com/acme/shop/CheckoutService.java`), Rust `file!()` (crate-relative), Go with
 * `-trimpath` the module path. An editor knows a workspace-relative path. So a span matches the
 * requested path when, after `\` → `/` and a leading `./` removed, one ends with the other at a
 * path-segment boundary: the span's path ends with `/<path>` (absolute paths), or the request
 * ends with `/<span path>` (Java's package path under `src/main/java/`), or they are equal. Two
 * files with the same trailing segments (two `src/main.rs` of two crates) are not told apart:
 * filter by `service` for that. Every value is a query parameter; the SQL text is fixed.
 *
 * Bounded: the window (at most MAX_WINDOW_NS), `limit` groups (at most MAX_CODE_METHODS), the
 * engine's time and memory limits (CODE_METHOD_SETTINGS: a query beyond them is a 422 asking for
 * a narrower window), and the path length (MAX_PATH_LENGTH). Read through the caller's read
 * scope (`table` is its filtered view), so hidden services' spans are never counted.
 */
import type { ClickHouseClient } from '@clickhouse/client';

export const MAX_CODE_METHODS = 1000;
export const DEFAULT_CODE_METHODS = 200;
export const MAX_PATH_LENGTH = 1024;
/** Widest window one request may cover: 7 days. */
export const MAX_CODE_WINDOW_NS = 7n * 24n * 3_600_000_000_000n;
export const CODE_METHOD_SETTINGS = {
  output_format_json_quote_64bit_integers: 1,
  max_execution_time: 20,
  max_memory_usage: String(512 * 1024 * 1024),
} as const;

export interface CodeMethodFilter {
  /** Quoted span table, or the principal's filtered view of it (query/read-scope.ts). */
  table: string;
  /** Normalised by normaliseCodePath. */
  path: string;
  startNs: bigint;
  endNs: bigint;
  service?: string;
  limit: number;
}

export interface CodeMethod {
  service: string;
  /** `code.function.name` (or the older `code.function`). */
  function: string;
  namespace: string;
  /** `code.line.number`; 0 when the agent did not report one. */
  line: number;
  /** The path as the agent reported it (normalised). */
  filePath: string;
  calls: number;
  errors: number;
  p50Ns: bigint;
  p99Ns: bigint;
  /** The latest call's start, ns since the epoch. */
  lastSeenNs: bigint;
  /** The trace of the slowest call (an editor opens it from the lens). */
  slowestTraceId: string;
}

export interface CodeMethods {
  methods: CodeMethod[];
  /** Distinct groups matched; more than `methods.length` when cut at the limit. */
  methodCount: number;
}

/** The path is refused: the route answers 400 with this message. */
export class CodePathError extends Error {
  override name = 'CodePathError';
}

/** The query ran into CODE_METHOD_SETTINGS: the route answers 422. */
export class CodeMethodsTooBroadError extends Error {
  override name = 'CodeMethodsTooBroadError';
  readonly statusCode = 422;
  constructor(detail: string) {
    super(`code methods: the query exceeded the engine's ${detail} limit; narrow the window or filter by service`);
  }
}

/**
 * `\` → `/`, `./` prefixes and repeated slashes removed. Refused: empty, longer than
 * MAX_PATH_LENGTH, control characters, a `..` segment, or no file name (ends with `/`).
 */
export function normaliseCodePath(raw: string): string {
  if (raw.length > MAX_PATH_LENGTH) throw new CodePathError(`path: at most ${MAX_PATH_LENGTH} characters, got ${raw.length}`);
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw new CodePathError('path: control characters are not allowed');
  const path = raw.replaceAll('\\', '/').replace(/\/{2,}/g, '/').replace(/^(\.\/)+/, '');
  if (path === '' || path === '/') throw new CodePathError('path: expected a file path, e.g. src/orders/service.ts');
  if (path.endsWith('/')) throw new CodePathError('path: expected a file, not a folder');
  if (path.split('/').includes('..')) throw new CodePathError("path: '..' segments are not allowed");
  return path;
}

/** The file name of a normalised path. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

const FUNCTION = `if(SpanAttributes['code.function.name'] != '', SpanAttributes['code.function.name'], SpanAttributes['code.function'])`;
/** The stored path, normalised as normaliseCodePath normalises the request's. */
const FILE_PATH = `replaceRegexpOne(replaceRegexpAll(replaceAll(SpanAttributes['code.file.path'], '\\\\', '/'), '/{2,}', '/'), '^(\\\\./)+', '')`;

export function codeMethodsQuery(filter: CodeMethodFilter): { sql: string; params: Record<string, unknown> } {
  if (!(filter.limit >= 1 && filter.limit <= MAX_CODE_METHODS)) throw new RangeError(`limit must be 1..${MAX_CODE_METHODS}`);
  const base = baseName(filter.path);
  const params: Record<string, unknown> = {
    start: filter.startNs.toString(),
    end: filter.endNs.toString(),
    path: filter.path,
    slashPath: `/${filter.path}`,
    base,
    limit: filter.limit,
  };
  const conditions = [
    'Timestamp >= fromUnixTimestamp64Nano({start:Int64}) AND Timestamp <= fromUnixTimestamp64Nano({end:Int64})',
    // The same file name first: a cheap test on the raw value before the normalised comparisons.
    `endsWith(SpanAttributes['code.file.path'], {base:String})`,
    `${FUNCTION} != ''`,
  ];
  if (filter.service !== undefined) {
    params.service = filter.service;
    conditions.push('ServiceName = {service:String}');
  }
  const sql = `SELECT service, function, namespace, line, filePath, calls, errors, p50Ns, p99Ns, lastSeenNs, slowestTraceId, count() OVER () AS methodCount
FROM (
  SELECT ServiceName AS service, ${FUNCTION} AS function, SpanAttributes['code.namespace'] AS namespace,
    toUInt32OrZero(SpanAttributes['code.line.number']) AS line, ${FILE_PATH} AS filePath,
    count() AS calls, countIf(StatusCode = 'Error') AS errors,
    toUInt64(quantile(0.5)(Duration)) AS p50Ns, toUInt64(quantile(0.99)(Duration)) AS p99Ns,
    toString(max(toUnixTimestamp64Nano(Timestamp))) AS lastSeenNs, argMax(TraceId, Duration) AS slowestTraceId
  FROM ${filter.table}
  WHERE ${conditions.join(' AND ')}
  GROUP BY service, function, namespace, line, filePath
  HAVING filePath = {path:String} OR endsWith(filePath, {slashPath:String}) OR endsWith({path:String}, concat('/', filePath))
)
ORDER BY calls DESC, service ASC, function ASC, line ASC
LIMIT {limit:UInt32}`;
  return { sql, params };
}

interface Row {
  service: string;
  function: string;
  namespace: string;
  line: number | string;
  filePath: string;
  calls: string;
  errors: string;
  p50Ns: string;
  p99Ns: string;
  lastSeenNs: string;
  slowestTraceId: string;
  methodCount: string;
}

export async function codeMethods(client: ClickHouseClient, filter: CodeMethodFilter): Promise<CodeMethods> {
  const { sql, params } = codeMethodsQuery(filter);
  let rows: Row[];
  try {
    rows = await (await client.query({ query: sql, query_params: params, format: 'JSONEachRow', clickhouse_settings: CODE_METHOD_SETTINGS })).json<Row>();
  } catch (err) {
    const type = (err as { type?: unknown }).type;
    if (type === 'TIMEOUT_EXCEEDED') throw new CodeMethodsTooBroadError('time');
    if (type === 'MEMORY_LIMIT_EXCEEDED') throw new CodeMethodsTooBroadError('memory');
    throw err;
  }
  return {
    methods: rows.map((r) => ({
      service: r.service,
      function: r.function,
      namespace: r.namespace,
      line: Number(r.line),
      filePath: r.filePath,
      calls: Number(r.calls),
      errors: Number(r.errors),
      p50Ns: BigInt(r.p50Ns),
      p99Ns: BigInt(r.p99Ns),
      lastSeenNs: BigInt(r.lastSeenNs),
      slowestTraceId: r.slowestTraceId,
    })),
    methodCount: rows[0] ? Number(rows[0].methodCount) : 0,
  };
}
