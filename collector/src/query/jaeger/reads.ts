/**
 * The reads the Jaeger API needs beyond the trace store: whole stored rows (with their
 * attribute kinds, which Jaeger's typed tags need) for many traces at once, and a search
 * with Jaeger's matching rules. Every value is a query parameter; the tables are the
 * principal's own (read-scope.ts), so read rules apply inside the SQL.
 */
import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client';
import type { SpanExpr, TraceExpr, Value } from '../search/ast.js';
import { compileSearch } from '../search/compile.js';
import { SEARCH_SETTINGS } from '../search/search.js';
import { SPAN_COLUMNS, type SpanRow } from '../span-view.js';
import { LOOKUP_END, LOOKUP_START } from '../lookup-bounds.js';
import type { TraceTables } from '../trace-store.js';

/** Every 64-bit integer as a JSON string, so no digit is lost on the way to JavaScript. */
const READ_SETTINGS = { output_format_json_quote_64bit_integers: 1 } as const;

export interface JaegerSearch {
  service: string;
  operation?: string;
  /** Each must hold on the same span as the other conditions. */
  tags: Array<[string, string]>;
  minDurationNs?: bigint;
  maxDurationNs?: bigint;
  startNs: bigint;
  endNs: bigint;
  limit: number;
}

export class JaegerReads {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly tables: TraceTables,
  ) {}

  private async rows<T>(query: string, params: Record<string, unknown>, settings: ClickHouseSettings = READ_SETTINGS): Promise<T[]> {
    const result = await this.client.query({ query, query_params: params, format: 'JSONEachRow', clickhouse_settings: settings });
    return result.json<T>();
  }

  /**
   * IDs of traces with at least one span matching every condition, newest first, as Jaeger
   * matches them (jaegerSearchExpr), compiled by the search grammar's compiler
   * (search/compile.ts): one path from user predicates to parameterised SQL.
   */
  async search(q: JaegerSearch): Promise<string[]> {
    const { sql, params } = compileSearch(jaegerSearchExpr(q), { table: this.tables.traces, startNs: q.startNs, endNs: q.endNs, limit: q.limit });
    // The limits of GET /api/search: the same compiler, so the same worst cases (50 tags, each on four attribute maps, over any lookback).
    return (await this.rows<{ traceId: string }>(sql, params, SEARCH_SETTINGS)).map((r) => r.traceId);
  }

  /**
   * The stored rows of these traces, grouped by trace in the order asked, each ordered by
   * start; traces with no readable span are left out. At most `maxSpans` rows in all.
   */
  async traces(traceIds: readonly string[], maxSpans: number): Promise<Array<{ traceId: string; rows: SpanRow[] }>> {
    if (traceIds.length === 0) return [];
    // The lookup table narrows the scan of the span table to the traces' own time range.
    const [bounds] = await this.rows<{ start: string; end: string; n: string }>(
      `SELECT toString(${LOOKUP_START}) AS start, toString(${LOOKUP_END}) AS end, count() AS n
       FROM ${this.tables.traceIds} WHERE TraceId IN {ids:Array(String)}`,
      { ids: traceIds },
    );
    if (!bounds || bounds.n === '0') return [];
    const rows = await this.rows<SpanRow>(
      `SELECT ${SPAN_COLUMNS} FROM ${this.tables.traces}
       WHERE TraceId IN {ids:Array(String)} AND Timestamp >= {start:DateTime64(9)} AND Timestamp <= {end:DateTime64(9)}
       ORDER BY TraceId, Timestamp, SpanId LIMIT {max:UInt32}`,
      { ids: traceIds, start: bounds.start, end: bounds.end, max: maxSpans },
    );
    const byTrace = new Map<string, SpanRow[]>();
    for (const row of rows) {
      const list = byTrace.get(row.TraceId);
      if (list) list.push(row);
      else byTrace.set(row.TraceId, [row]);
    }
    return traceIds.flatMap((traceId) => {
      const found = byTrace.get(traceId);
      return found ? [{ traceId, rows: found }] : [];
    });
  }
}

/**
 * A Jaeger search as the search grammar's tree: `{ service = S AND name = OP AND duration >= MIN
 * AND duration <= MAX AND <each tag> }` — one span must match every condition, as in Jaeger. A
 * tag `k=v` holds when the span's, its scope's, its resource's or one of its events' attribute
 * `k` has the text `v` (an array as its JSON text, as Jaeger stores it); the tag `error` is the
 * span's status instead (`true`: Error, anything else: not Error). The window and limit go to
 * the compiler as bounds.
 */
export function jaegerSearchExpr(q: Omit<JaegerSearch, 'startNs' | 'endNs' | 'limit'>): TraceExpr {
  const text = (value: string): Value => ({ type: 'string', value, column: 0 });
  const duration = (ns: bigint): Value => ({ type: 'duration', ns, column: 0 });
  const conditions: SpanExpr[] = [{ type: 'compare', field: { type: 'intrinsic', name: 'service' }, op: '=', values: [text(q.service)], column: 0 }];
  if (q.operation !== undefined) conditions.push({ type: 'compare', field: { type: 'intrinsic', name: 'name' }, op: '=', values: [text(q.operation)], column: 0 });
  if (q.minDurationNs !== undefined) conditions.push({ type: 'compare', field: { type: 'intrinsic', name: 'duration' }, op: '>=', values: [duration(q.minDurationNs)], column: 0 });
  if (q.maxDurationNs !== undefined) conditions.push({ type: 'compare', field: { type: 'intrinsic', name: 'duration' }, op: '<=', values: [duration(q.maxDurationNs)], column: 0 });
  for (const [key, value] of q.tags) {
    if (key === 'error') {
      conditions.push({ type: 'compare', field: { type: 'intrinsic', name: 'status' }, op: value === 'true' ? '=' : '!=', values: [text('Error')], column: 0 });
      continue;
    }
    const where = (['span', 'scope', 'resource', 'event'] as const).map(
      (scope): SpanExpr => ({ type: 'compare', field: { type: 'attribute', scope, key, asText: true }, op: '=', values: [text(value)], column: 0 }),
    );
    conditions.push(where.reduce((left, right) => ({ type: 'or', left, right })));
  }
  return { type: 'spans', where: conditions.reduce((left, right) => ({ type: 'and', left, right })), column: 0 };
}
