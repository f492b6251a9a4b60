/**
 * Hotspots: which methods burn the time. Self time and call counts per method over a time
 * window and a filter, top-N with each method's share of the total self time.
 *
 * Method = `code.namespace` + `code.function.name` (or the older `code.function`), as
 * span-tree.ts `methodOf` names it; the span name when a span has no code attributes. Methods
 * are grouped per service (the same name in two services is two rows).
 *
 * Self time of a span = its duration − the length of the union of its children's intervals,
 * each clipped to the span: overlapping children (fan-out) count once, a child that outlives its
 * parent (fire-and-forget) counts only up to the parent's end, a child wholly outside counts 0.
 * The same definition as critical-path.ts `selfTimeOf`, computed inside ClickHouse so that no
 * span leaves the engine:
 *
 *   1. `s`: the spans matching the window and filter (the *measured* spans).
 *   2. `c`: the children of those spans' traces, grouped by (TraceId, ParentSpanId) into an
 *      array of [start, end] intervals. Children are read in the window widened by
 *      CHILD_SLACK_BEFORE_NS / CHILD_SLACK_AFTER_NS (a child starts within its parent, give or
 *      take clock skew, but may start after the window's end when its parent started just
 *      before it), and only for traces that hold a measured span.
 *   3. `s LEFT JOIN c` on (TraceId, SpanId); per span, the children's intervals are clipped,
 *      sorted by start and folded (`arrayFold`) into the covered length; self = duration − covered.
 *   4. Grouped by (service, method); totals over all groups by window functions, so shares are
 *      of the whole filter, not of the top-N shown.
 *
 * Cost: one scan of the window for `s`, one for the candidate trace IDs and one (slightly wider)
 * for `c`; the join's right side (one row per parent with children) is held in memory. It is
 * bounded by MAX_WINDOW_NS (the route refuses wider windows) and by the engine limits in
 * HOTSPOT_SETTINGS (time, memory); a query that exceeds them fails with HotspotsTooBroadError,
 * which asks for a narrower window or a filter.
 *
 * Read rules: `table` is the principal's filtered view of the span table, so children in
 * services it may not read are invisible too: a client span calling a hidden service then
 * counts the remote time as its own self time — nothing of the hidden service is shown.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { LOOKUP_END, LOOKUP_START } from '../query/lookup-bounds.js';

/** Rows returned at most. */
export const MAX_HOTSPOTS = 100;
/** Widest window a hotspots query may cover. */
export const MAX_WINDOW_NS = 7n * 24n * 3_600_000_000_000n;
/** Children may start this long before the window (clock skew between services). */
export const CHILD_SLACK_BEFORE_NS = 60_000_000_000n;
/** Children may start this long after the window's end (their parent started just before it). */
export const CHILD_SLACK_AFTER_NS = 3_600_000_000_000n;
/** The engine's limits on one hotspots query, whatever the window. */
export const HOTSPOT_SETTINGS = {
  output_format_json_quote_64bit_integers: 1,
  max_execution_time: 30,
  max_memory_usage: String(1024 * 1024 * 1024),
} as const;

export interface HotspotFilter {
  /** Quoted span table, or the principal's filtered view of it (query/read-scope.ts). */
  table: string;
  startNs: bigint;
  endNs: bigint;
  /** Only spans of this service. */
  service?: string;
  /** Only traces whose root span (no parent) has this name. */
  operation?: string;
  /** Only spans of this trace (32 lowercase hex digits). */
  traceId?: string;
  /** Top-N, 1..MAX_HOTSPOTS. */
  limit: number;
}

export interface Hotspot {
  service: string;
  method: string;
  calls: number;
  errors: number;
  /** Sum of the calls' self times. */
  selfNs: bigint;
  /** Sum of the calls' durations (self time + time in children). */
  totalNs: bigint;
  /** selfNs / the self time of every span matched (0..1). */
  share: number;
}

export interface Hotspots {
  /** Most self time first (ties by service, then method). */
  hotspots: Hotspot[];
  /** Self time of every span matched: what `share` divides by. */
  totalSelfNs: bigint;
  totalCalls: number;
  /** Distinct (service, method) pairs matched; more than `hotspots.length` when cut at the limit. */
  methodCount: number;
}

export interface HotspotQuery {
  sql: string;
  params: Record<string, unknown>;
}

/** The query ran into HOTSPOT_SETTINGS (time or memory): the route answers 422. */
export class HotspotsTooBroadError extends Error {
  override name = 'HotspotsTooBroadError';
  readonly statusCode = 422;
  constructor(detail: string) {
    super(`hotspots: the query exceeded the engine's ${detail} limit; narrow the window or filter by service, operation or traceId`);
  }
}

/** The method of a span as SQL over its row; mirrors span-tree.ts `methodOf` (the flame graph uses it too). */
const FUNCTION = `if(SpanAttributes['code.function.name'] != '', SpanAttributes['code.function.name'], SpanAttributes['code.function'])`;
const NAMESPACE = `SpanAttributes['code.namespace']`;
export const METHOD = `multiIf(${FUNCTION} = '', SpanName, ${NAMESPACE} != '' AND NOT startsWith(${FUNCTION}, concat(${NAMESPACE}, '.')), concat(${NAMESPACE}, '.', ${FUNCTION}), ${FUNCTION})`;

const START_NS = 'toUnixTimestamp64Nano(Timestamp)';
const END_NS = `(${START_NS} + toInt64(Duration))`;

/**
 * Covered length of the children's intervals `c.intervals`, clipped to the span [s.startNs, s.endNs]:
 * sorted by start, then folded with (covered, reached end) — each interval adds what lies beyond
 * the end reached so far.
 */
const COVERED = `arrayFold(
        (acc, iv) -> (toInt64(acc.1 + greatest(toInt64(0), iv.2 - greatest(iv.1, acc.2))), toInt64(greatest(acc.2, iv.2))),
        arraySort(iv -> iv.1, arrayFilter(iv -> iv.2 > iv.1, arrayMap(iv -> (greatest(iv.1, s.startNs), least(iv.2, s.endNs)), c.intervals))),
        (toInt64(0), s.startNs)
      ).1`;

/** The parameterised query for a filter; every value is a query parameter, the SQL text is fixed fragments only. */
export function hotspotsQuery(filter: HotspotFilter): HotspotQuery {
  if (!(filter.limit >= 1 && filter.limit <= MAX_HOTSPOTS)) throw new RangeError(`limit must be 1..${MAX_HOTSPOTS}`);
  const params: Record<string, unknown> = {
    start: filter.startNs.toString(),
    end: filter.endNs.toString(),
    childStart: (filter.startNs > CHILD_SLACK_BEFORE_NS ? filter.startNs - CHILD_SLACK_BEFORE_NS : 0n).toString(),
    childEnd: (filter.endNs + CHILD_SLACK_AFTER_NS).toString(),
    limit: filter.limit,
  };
  const window = `Timestamp >= fromUnixTimestamp64Nano({start:Int64}) AND Timestamp <= fromUnixTimestamp64Nano({end:Int64})`;
  const conditions = [window];
  if (filter.service !== undefined) {
    params.service = filter.service;
    conditions.push('ServiceName = {service:String}');
  }
  if (filter.traceId !== undefined) {
    params.traceId = filter.traceId;
    conditions.push('TraceId = {traceId:String}');
  }
  if (filter.operation !== undefined) {
    params.operation = filter.operation;
    conditions.push(`TraceId IN (SELECT TraceId FROM ${filter.table} WHERE ${window} AND ParentSpanId = '' AND SpanName = {operation:String})`);
  }
  const measured = conditions.join(' AND ');
  const sql = `SELECT service, method, calls, errors, selfNs, totalNs,
  sum(selfNs) OVER () AS totalSelfNs, sum(calls) OVER () AS totalCalls, count() OVER () AS methodCount
FROM (
  SELECT s.service AS service, s.method AS method, count() AS calls, countIf(s.failed) AS errors,
    toInt64(sum(s.durationNs - ${COVERED})) AS selfNs,
    toInt64(sum(s.durationNs)) AS totalNs
  FROM (
    SELECT TraceId, SpanId, ServiceName AS service, ${METHOD} AS method, StatusCode = 'Error' AS failed,
      ${START_NS} AS startNs, ${END_NS} AS endNs, toInt64(Duration) AS durationNs
    FROM ${filter.table}
    WHERE ${measured}
  ) AS s
  LEFT JOIN (
    SELECT TraceId AS ChildTraceId, ParentSpanId AS ParentId, groupArray((${START_NS}, ${END_NS})) AS intervals
    FROM ${filter.table}
    WHERE Timestamp >= fromUnixTimestamp64Nano({childStart:Int64}) AND Timestamp <= fromUnixTimestamp64Nano({childEnd:Int64})
      AND ParentSpanId != '' AND ParentSpanId != SpanId
      AND TraceId IN (SELECT TraceId FROM ${filter.table} WHERE ${measured})
    GROUP BY ChildTraceId, ParentId
  ) AS c ON s.TraceId = c.ChildTraceId AND s.SpanId = c.ParentId
  GROUP BY service, method
)
ORDER BY selfNs DESC, service ASC, method ASC
LIMIT {limit:UInt32}`;
  return { sql, params };
}

interface Row {
  service: string;
  method: string;
  calls: string;
  errors: string;
  selfNs: string;
  totalNs: string;
  totalSelfNs: string;
  totalCalls: string;
  methodCount: string;
}

/** Runs the hotspots query for `filter` on `client` (the collector's reader). */
export async function hotspots(client: ClickHouseClient, filter: HotspotFilter): Promise<Hotspots> {
  const { sql, params } = hotspotsQuery(filter);
  let rows: Row[];
  try {
    rows = await (await client.query({ query: sql, query_params: params, format: 'JSONEachRow', clickhouse_settings: HOTSPOT_SETTINGS })).json<Row>();
  } catch (err) {
    const type = (err as { type?: unknown }).type;
    if (type === 'TIMEOUT_EXCEEDED') throw new HotspotsTooBroadError('time');
    if (type === 'MEMORY_LIMIT_EXCEEDED') throw new HotspotsTooBroadError('memory');
    throw err;
  }
  return fromRows(rows);
}

/** The answer from the query's rows (every row carries the totals; none when nothing matched). */
export function fromRows(rows: readonly Row[]): Hotspots {
  const first = rows[0];
  const totalSelfNs = first ? BigInt(first.totalSelfNs) : 0n;
  return {
    hotspots: rows.map((r) => {
      const selfNs = BigInt(r.selfNs);
      return { service: r.service, method: r.method, calls: Number(r.calls), errors: Number(r.errors), selfNs, totalNs: BigInt(r.totalNs), share: shareOf(selfNs, totalSelfNs) };
    }),
    totalSelfNs,
    totalCalls: first ? Number(first.totalCalls) : 0,
    methodCount: first ? Number(first.methodCount) : 0,
  };
}

/** part / whole in 0..1, to 4 decimals; 0 when the whole is 0. */
export function shareOf(part: bigint, whole: bigint): number {
  if (whole <= 0n) return 0;
  return Number((part * 10_000n) / whole) / 10_000;
}

/**
 * The time range of one trace (its first to its last span start) from the trace-ID lookup table
 * (`<spans>_trace_id_ts`); undefined when the trace is unknown. The lookup
 * table only narrows the window: the hotspots themselves are read through the caller's scope.
 */
export async function traceWindow(client: ClickHouseClient, traceIdsTable: string, traceId: string): Promise<{ startNs: bigint; endNs: bigint } | undefined> {
  const rows = await (
    await client.query({
      query: `SELECT count() AS n, toString(toUnixTimestamp64Nano(${LOOKUP_START})) AS start, toString(toUnixTimestamp64Nano(${LOOKUP_END})) AS end
              FROM ${traceIdsTable} WHERE TraceId = {traceId:String}`,
      query_params: { traceId },
      format: 'JSONEachRow',
      clickhouse_settings: HOTSPOT_SETTINGS,
    })
  ).json<{ n: string; start: string; end: string }>();
  const row = rows[0];
  if (!row || row.n === '0') return undefined;
  return { startNs: BigInt(row.start), endNs: BigInt(row.end) };
}
