/**
 * Runs a search: parse, compile, query, page. The one entry point REST, CLI, MCP and the
 * dashboard share, so a query means the same everywhere.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { TraceSummary } from '../trace-store.js';
import type { Comparison, SpanExpr, TraceExpr, Value } from './ast.js';
import { compileSearch } from './compile.js';
import { parseSearch, SearchSyntaxError } from './parse.js';

export interface SearchRequest {
  /** The query text (README.md in this folder). */
  q: string;
  /** Quoted span table or the principal's filtered view of it (read-scope.ts). */
  table: string;
  startNs: bigint;
  endNs: bigint;
  limit: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface SearchAnswer {
  /** Newest first (by the trace's first span in the window). */
  traces: TraceSummary[];
  /** Present when the page is full: pass it as `cursor` for the next (older) traces. */
  nextCursor?: string;
  /** When nothing matched: keys the query names that no span carried lately, with close ones (key-hints.ts; GET /api/search only). */
  hints?: string[];
}

/** A bad cursor: the route answers 400. */
export class SearchCursorError extends Error {
  override name = 'SearchCursorError';
}

/** Limits on the engine's side of one search, whatever the query (a regex over every span of a long window…); Jaeger's search (jaeger/reads.ts) runs under them too. */
export const SEARCH_SETTINGS = { output_format_json_quote_64bit_integers: 1, max_execution_time: 30, max_memory_usage: String(1024 * 1024 * 1024) } as const;
/** SEARCH_SETTINGS with a shorter time limit (query/assert/ spends one budget over many queries). */
export type SearchSettings = Omit<typeof SEARCH_SETTINGS, 'max_execution_time'> & { max_execution_time: number };

export async function runSearch(client: ClickHouseClient, request: SearchRequest): Promise<SearchAnswer> {
  return runSearchExpr(client, parseSearch(request.q), request);
}

/** The same for an expression already parsed (or put together from parsed ones: query/assert/). */
export async function runSearchExpr(client: ClickHouseClient, expr: TraceExpr, request: Omit<SearchRequest, 'q'>, settings: SearchSettings = SEARCH_SETTINGS): Promise<SearchAnswer> {
  const after = request.cursor === undefined ? undefined : decodeCursor(request.cursor);
  const { sql, params } = compileSearch(expr, { table: request.table, startNs: request.startNs, endNs: request.endNs, limit: request.limit, after });
  let rows: Array<Omit<TraceSummary, 'spanCount' | 'errorCount'> & { spanCount: string; errorCount: string }>;
  try {
    rows = await (await client.query({ query: sql, query_params: params, format: 'JSONEachRow', clickhouse_settings: settings })).json();
  } catch (err) {
    throw regexError(err, expr) ?? err;
  }
  const traces = rows.map((r) => ({ ...r, spanCount: Number(r.spanCount), errorCount: Number(r.errorCount) }));
  const last = traces.at(-1);
  return { traces, ...(traces.length === request.limit && last ? { nextCursor: encodeCursor(BigInt(last.startTimeUnixNano), last.traceId) } : {}) };
}

/** `<start ns>-<trace id>` of the last trace of a page: the next page starts strictly after it. */
export function encodeCursor(startNs: bigint, traceId: string): string {
  return `${startNs}-${traceId}`;
}

export function decodeCursor(cursor: string): { startNs: bigint; traceId: string } {
  const m = /^(\d{1,19})-([0-9a-f]{32})$/.exec(cursor);
  if (!m) throw new SearchCursorError('cursor: expected the nextCursor of a previous answer');
  return { startNs: BigInt(m[1]!), traceId: m[2]! };
}

/** The engine refused a regex (re2 syntax differs from JavaScript's): point at the first regex of the query. */
export function regexError(err: unknown, expr: TraceExpr): SearchSyntaxError | undefined {
  const message = err instanceof Error ? err.message : '';
  if (!/cannot compile re2|CANNOT_COMPILE_REGEXP/i.test(message)) return undefined;
  const regexes = collectRegexes(expr);
  const detail = /error: ([^.]*)/.exec(message)?.[1] ?? 'invalid pattern';
  const culprit = regexes.find((r) => message.includes(r.value)) ?? regexes[0];
  return new SearchSyntaxError(culprit?.column ?? 1, `invalid regex (re2 syntax): ${detail}`);
}

export function collectRegexes(e: TraceExpr): Array<Value & { type: 'string' }> {
  const regexes = (c: Comparison<unknown>) => (c.op === '=~' || c.op === '!~' ? c.values.filter((v): v is Value & { type: 'string' } => v.type === 'string') : []);
  const inSpans = (s: SpanExpr): Array<Value & { type: 'string' }> =>
    s.type === 'compare' ? regexes(s) : s.type === 'not' ? inSpans(s.expr) : [...inSpans(s.left), ...inSpans(s.right)];
  switch (e.type) {
    case 'compare':
      return regexes(e);
    case 'spans':
      return inSpans(e.where);
    case 'descendant':
      return [...inSpans(e.ancestor), ...inSpans(e.descendant)];
    case 'not':
      return collectRegexes(e.expr);
    default:
      return [...collectRegexes(e.left), ...collectRegexes(e.right)];
  }
}
