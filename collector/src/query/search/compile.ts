/**
 * TraceExpr → one parameterised ClickHouse query over `otel_traces` (or a read scope's filtered
 * view of it). Every value the user typed — attribute keys included — becomes a query parameter
 * (`{p3:String}`); the SQL text is built only from this file's fixed fragments and parameter
 * names, so no user text can change its shape.
 *
 * Shape:
 *   SELECT <summary> FROM <table>
 *   WHERE <window> [AND TraceId IN (SELECT TraceId FROM <table> WHERE <window> AND <prefilter>)]
 *   GROUP BY TraceId HAVING <trace expression> [AND <cursor>]
 *   ORDER BY start DESC, TraceId DESC LIMIT n
 * The prefilter is a span condition every matching trace must have a span for (derived from the
 * expression when there is one), so only candidate traces are grouped; trace-level values
 * (duration, span count, root) are computed over the trace's spans inside the window.
 */
import type { Comparison, SpanExpr, SpanField, TraceExpr, TraceField, Value } from './ast.js';
import { activeHotColumns, hotElementsSql, type HotColumns } from '../../storage/hot-attributes/hot-columns.js';

/** How many levels above a span the descendant operator looks for its ancestor. */
export const MAX_ANCESTOR_DEPTH = 64;

export interface CompiledSearch {
  sql: string;
  params: Record<string, unknown>;
}

export interface SearchBounds {
  /** Quoted table to read: the principal's filtered view when read rules restrict it. */
  table: string;
  startNs: bigint;
  endNs: bigint;
  limit: number;
  /** Continue after this trace (from the previous page's last row). */
  after?: { startNs: bigint; traceId: string };
  /** Span attributes with their own column (storage/hot-attributes/); the store's active ones when absent. */
  hot?: HotColumns;
}

/** Column of a summary row; see TraceSummary in trace-store.ts (the same shape as /api/traces). */
const SUMMARY = `TraceId AS traceId,
    argMinIf(ServiceName, Timestamp, ParentSpanId = '') AS rootServiceName,
    argMinIf(SpanName, Timestamp, ParentSpanId = '') AS rootSpanName,
    toString(min(toUnixTimestamp64Nano(Timestamp))) AS startTimeUnixNano,
    toString(${traceDurationNs()}) AS durationNano,
    count() AS spanCount, countIf(StatusCode = 'Error') AS errorCount,
    arraySort(groupUniqArray(ServiceName)) AS services`;

function traceDurationNs(): string {
  return 'max(toUnixTimestamp64Nano(Timestamp) + toInt64(Duration)) - min(toUnixTimestamp64Nano(Timestamp))';
}

export function compileSearch(expr: TraceExpr, bounds: SearchBounds): CompiledSearch {
  const p = new Params(bounds.hot ?? activeHotColumns());
  const window = windowSql(bounds, p);
  const having = [traceSql(expr, p)];
  if (bounds.after) {
    having.push(`(min(Timestamp), TraceId) < (fromUnixTimestamp64Nano(${p.add(bounds.after.startNs.toString(), 'Int64')}), ${p.add(bounds.after.traceId, 'String')})`);
  }
  const where = candidatesSql(expr, window, bounds.table, p);
  const sql = `SELECT ${SUMMARY}
FROM ${bounds.table}
WHERE ${where}
GROUP BY TraceId
HAVING ${having.join(' AND ')}
ORDER BY min(Timestamp) DESC, TraceId DESC
LIMIT ${p.add(bounds.limit, 'UInt32')}`;
  return { sql, params: p.values };
}

/** Where the window is as a condition on `Timestamp`. */
function windowSql(bounds: Pick<SearchBounds, 'startNs' | 'endNs'>, p: Params): string {
  return `Timestamp >= fromUnixTimestamp64Nano(${p.add(bounds.startNs.toString(), 'Int64')}) AND Timestamp <= fromUnixTimestamp64Nano(${p.add(bounds.endNs.toString(), 'Int64')})`;
}

/** The window, narrowed to candidate traces by the prefilter when the expression implies one. */
function candidatesSql(expr: TraceExpr | undefined, window: string, table: string, p: Params): string {
  const prefilter = expr === undefined ? undefined : necessarySpanCondition(expr, p);
  return prefilter ? `${window} AND TraceId IN (SELECT TraceId FROM ${table} WHERE ${window} AND ${prefilter})` : window;
}

export type CountBounds = Omit<SearchBounds, 'limit' | 'after'>;

/**
 * How many traces match `expr` in the window (every trace with a span in it when undefined) and
 * how many spans they have there: `SELECT traces, spans` (one row). The assertions' counts
 * (query/assert/) are aggregated here, in the engine, never by reading the traces.
 */
export function compileTraceCount(expr: TraceExpr | undefined, bounds: CountBounds): CompiledSearch {
  const p = new Params(bounds.hot ?? activeHotColumns());
  const window = windowSql(bounds, p);
  // Every trace of the window: no grouping needed.
  if (expr === undefined) return { sql: `SELECT uniqExact(TraceId) AS traces, count() AS spans FROM ${bounds.table} WHERE ${window}`, params: p.values };
  const sql = `SELECT count() AS traces, sum(spans) AS spans FROM (
SELECT TraceId, count() AS spans FROM ${bounds.table}
WHERE ${candidatesSql(expr, window, bounds.table, p)}
GROUP BY TraceId
HAVING ${traceSql(expr, p)})`;
  return { sql, params: p.values };
}

/** Quantiles of `compileSpanDurations`, in the order its `quantiles` column holds them. */
export const DURATION_QUANTILES = [0.5, 0.95, 0.99] as const;

/**
 * Durations of the spans matching `spans` inside the traces matching `within`: one row
 * `{spans, quantiles: [p50, p95, p99], max}` (nanoseconds; exact quantiles interpolated between
 * the two nearest durations, as numpy's default and Excel's PERCENTILE.INC) — and a second
 * query for the slowest of those spans from `minDurationNs` up, with their trace IDs.
 */
export function compileSpanDurations(
  spans: SpanExpr,
  within: TraceExpr,
  bounds: CountBounds,
  slowest: { limit: number; minDurationNs: bigint },
): { stats: CompiledSearch; slowest: CompiledSearch } {
  const build = (select: string, tail: string): CompiledSearch => {
    const p = new Params(bounds.hot ?? activeHotColumns());
    const window = windowSql(bounds, p);
    const traces = `SELECT TraceId FROM ${bounds.table} WHERE ${candidatesSql(within, window, bounds.table, p)} GROUP BY TraceId HAVING ${traceSql(within, p)}`;
    const sql = `SELECT ${select} FROM ${bounds.table}
WHERE ${window} AND ${spanSql(spans, p)} AND TraceId IN (${traces})${tail.replace('{min}', () => p.add(slowest.minDurationNs.toString(), 'UInt64')).replace('{limit}', () => p.add(slowest.limit, 'UInt32'))}`;
    return { sql, params: p.values };
  };
  return {
    stats: build(`count() AS spans, quantilesExactInclusive(${DURATION_QUANTILES.join(', ')})(Duration) AS quantiles, max(Duration) AS max`, ''),
    slowest: build('TraceId AS traceId, SpanId AS spanId, ServiceName AS serviceName, SpanName AS name, Duration AS durationNano', ' AND Duration >= {min}\nORDER BY Duration DESC, TraceId, SpanId LIMIT {limit}'),
  };
}

/** Named query parameters `p0`, `p1`, … with their ClickHouse types. */
class Params {
  readonly values: Record<string, unknown> = {};
  private next = 0;

  /** Travels with the parameters, which every fragment builder already takes. */
  constructor(readonly hot: HotColumns) {}

  add(value: unknown, type: string): string {
    const name = `p${this.next++}`;
    this.values[name] = value;
    return `{${name}:${type}}`;
  }
}

// ── trace level: aggregates over one trace's spans ─────────────────────────

function traceSql(e: TraceExpr, p: Params): string {
  switch (e.type) {
    case 'and':
    case 'or':
      return `(${traceSql(e.left, p)} ${e.type.toUpperCase()} ${traceSql(e.right, p)})`;
    case 'not':
      return `NOT (${traceSql(e.expr, p)})`;
    case 'spans':
      return `countIf(${spanSql(e.where, p)}) > 0`;
    case 'descendant':
      return descendantSql(spanSql(e.ancestor, p), spanSql(e.descendant, p), e.childOnly ? 1 : MAX_ANCESTOR_DEPTH, p);
    case 'compare':
      return traceFieldSql(e, p);
  }
}

/**
 * "A span matching A has a descendant matching B" within `levels` levels (1: a child): per
 * trace, the parent of every span as a map (span ID → parent ID), the IDs of the A spans, and the parents of the B spans as the first
 * frontier; then up to MAX_ANCESTOR_DEPTH steps each check whether the frontier holds an A span
 * and replace it by its (distinct, stored) parents. Cost per candidate trace: depth × frontier ×
 * spans (the map lookup scans), and only traces holding both an A and a B span get that far.
 */
function descendantSql(a: string, b: string, levels: number, p: Params): string {
  const depth = p.add(levels, 'UInt32');
  // The accumulator carries the aggregates too: a lambda may not hold aggregate functions itself.
  // (frontier, found, span → parent, A span IDs)
  return `(countIf(${a}) > 0 AND countIf(${b}) > 0 AND arrayFold(
      (acc, step) -> (arrayDistinct(arrayFilter(id -> id != '', arrayMap(id -> acc.3[id], acc.1))), acc.2 OR hasAny(acc.1, acc.4), acc.3, acc.4),
      range(${depth}),
      (arrayDistinct(groupArrayIf(ParentSpanId, ${b})), toUInt8(0) = 1, mapFromArrays(groupArray(SpanId), groupArray(ParentSpanId)), groupArrayIf(SpanId, ${a}))
    ).2)`;
}

function traceFieldSql(c: Comparison<TraceField>, p: Params): string {
  switch (c.field) {
    case 'duration':
      return rangeSql(`(${traceDurationNs()})`, c, p, 'Int64');
    case 'spans':
      return rangeSql('count()', c, p, 'UInt64');
    case 'status': {
      // trace.status = error: some span failed; = ok: none did.
      const failed = `countIf(StatusCode = 'Error') > 0`;
      const wantsError = stringOf(c.values[0]!) === 'Error';
      return (c.op === '=') === wantsError ? failed : `NOT (${failed})`;
    }
    case 'rootService':
      return stringSql(`argMinIf(ServiceName, Timestamp, ParentSpanId = '')`, c, p);
    case 'rootName':
      return stringSql(`argMinIf(SpanName, Timestamp, ParentSpanId = '')`, c, p);
  }
}

// ── span level: conditions on one row ──────────────────────────────────────

function spanSql(e: SpanExpr, p: Params): string {
  switch (e.type) {
    case 'and':
    case 'or':
      return `(${spanSql(e.left, p)} ${e.type.toUpperCase()} ${spanSql(e.right, p)})`;
    case 'not':
      return `NOT (${spanSql(e.expr, p)})`;
    case 'compare':
      return e.field.type === 'attribute' ? attributeSql(e.field, e, p) : intrinsicSql(e as Comparison<SpanField & { type: 'intrinsic' }>, p);
  }
}

const INTRINSIC_COLUMNS = { name: 'SpanName', service: 'ServiceName', kind: 'SpanKind', status: 'StatusCode', statusMessage: 'StatusMessage' } as const;

function intrinsicSql(c: Comparison<SpanField & { type: 'intrinsic' }>, p: Params): string {
  if (c.field.name === 'duration') return rangeSql('Duration', c, p, 'UInt64');
  return stringSql(INTRINSIC_COLUMNS[c.field.name], c, p);
}

/**
 * An attribute may be missing (then only `not exists` holds), a scalar (stored as its string),
 * or an array (stored as JSON, its kind `array` in AttributeKinds): a positive operator holds
 * when any element satisfies it, a negative one (`!=`, `!~`, `not in`) when the attribute is
 * present and no element satisfies the positive form.
 */
function attributeSql(field: SpanField & { type: 'attribute' }, c: Comparison<SpanField>, p: Params): string {
  const key = p.add(field.key, 'String');
  if (field.scope === 'event') return eventAttributeSql(key, c, p);
  const map = ATTRIBUTE_MAPS[field.scope];
  const present = `mapContains(${map}, ${key})`;
  if (c.op === 'exists') return present;
  if (c.op === 'notExists') return `NOT ${present}`;
  const negative = c.op === '!=' || c.op === '!~' || c.op === 'notIn';
  const positive = { ...c, op: negative ? POSITIVE_OF[c.op as '!=' | '!~' | 'notIn'] : c.op };
  const test = (x: string) => attributeValueSql(x, positive, p);
  // A hot attribute's column holds exactly `SpanAttributes[key]` ('' when missing): read it instead of the map.
  const column = field.scope === 'span' ? p.hot.column(field.key) : undefined;
  const value = column ?? `${map}[${key}]`;
  let any: string;
  if (field.asText) any = test(value);
  else {
    const kind = p.add(`${field.scope}:${field.key}`, 'String');
    const elements = `arrayMap(e -> if(JSONType(e) = 'String', JSONExtractString(e), e), JSONExtractArrayRaw(${value}))`;
    // The lambda's own parameter name `x` never collides with a column: the table has none named so.
    any = `if(AttributeKinds[${kind}] = 'array', arrayExists(x -> ${test('x')}, ${elements}), ${test(value)})`;
  }
  if (negative) return `(${present} AND NOT ${any})`;
  const pruning = column === undefined ? undefined : hotPruningSql(column, positive, p);
  return pruning ? `(${pruning} AND ${present} AND ${any})` : `(${present} AND ${any})`;
}

/**
 * For `=` and `in` on text, a condition every matching span meets that the hot column's skip
 * index evaluates: the value, or one of its array elements, is among the wanted ones
 * (hotElementsSql is what the index is built over). Numbers compare as numbers ('1.0' = 1): none.
 */
function hotPruningSql(column: string, c: Comparison<SpanField>, p: Params): string | undefined {
  if (c.values.some((v) => v.type === 'number')) return undefined;
  const elements = hotElementsSql(column);
  if (c.op === '=') return `has(${elements}, ${p.add(stringOf(c.values[0]!), 'String')})`;
  if (c.op === 'in') return `hasAny(${elements}, ${p.add(c.values.map(stringOf), 'Array(String)')})`;
  return undefined;
}

const ATTRIBUTE_MAPS = { span: 'SpanAttributes', resource: 'ResourceAttributes', scope: 'ScopeAttributes' } as const;

/** Some event of the span has the attribute (and, but for exists, a value passing the test), compared as text. */
function eventAttributeSql(key: string, c: Comparison<SpanField>, p: Params): string {
  const present = `arrayExists(ev -> mapContains(ev, ${key}), Events.Attributes)`;
  if (c.op === 'exists') return present;
  if (c.op === 'notExists') return `NOT ${present}`;
  const negative = c.op === '!=' || c.op === '!~' || c.op === 'notIn';
  const positive = { ...c, op: negative ? POSITIVE_OF[c.op as '!=' | '!~' | 'notIn'] : c.op };
  const any = `arrayExists(ev -> mapContains(ev, ${key}) AND ${attributeValueSql(`ev[${key}]`, positive, p)}, Events.Attributes)`;
  return negative ? `(${present} AND NOT ${any})` : any;
}

const POSITIVE_OF = { '!=': '=', '!~': '=~', notIn: 'in' } as const;

/** One stored (string) value against a positive comparison: numbers compare as numbers, the rest as text. */
function attributeValueSql(x: string, c: Comparison<SpanField>, p: Params): string {
  const first = c.values[0]!;
  if (first.type === 'number') {
    const n = `toFloat64OrNull(${x})`;
    if (c.op === 'in') return `coalesce(has(${p.add(c.values.map((v) => Number(numberOf(v))), 'Array(Float64)')}, ${n}), false)`;
    return `coalesce(${n} ${c.op} ${p.add(numberOf(first), 'Float64')}, false)`;
  }
  return stringOp(x, c.op, c.values.map(stringOf), p);
}

function stringSql(column: string, c: Comparison<unknown>, p: Params): string {
  const negative = c.op === '!=' || c.op === '!~' || c.op === 'notIn';
  const positive = stringOp(column, negative ? POSITIVE_OF[c.op as '!=' | '!~' | 'notIn'] : c.op, c.values.map(stringOf), p);
  return negative ? `NOT (${positive})` : positive;
}

function stringOp(x: string, op: string, values: string[], p: Params): string {
  switch (op) {
    case '=':
      return `${x} = ${p.add(values[0], 'String')}`;
    case '=~':
      // re2, unanchored as ClickHouse's match(); anchor with ^ and $ in the pattern.
      return `match(${x}, ${p.add(values[0], 'String')})`;
    case 'contains':
      return `position(${x}, ${p.add(values[0], 'String')}) > 0`;
    case 'startsWith':
      return `startsWith(${x}, ${p.add(values[0], 'String')})`;
    case 'in':
      return `has(${p.add(values, 'Array(String)')}, ${x})`;
    default:
      throw new Error(`operator ${op} on text`);
  }
}

function rangeSql(x: string, c: Comparison<unknown>, p: Params, type: 'Int64' | 'UInt64'): string {
  const v = c.values[0]!;
  const n = v.type === 'duration' ? v.ns.toString() : v.type === 'number' ? v.text : undefined;
  if (n === undefined || !/^\d+$/.test(n)) throw new Error(`${c.op} needs a whole number`);
  return `${x} ${c.op} ${p.add(n, type)}`;
}

function stringOf(v: Value): string {
  switch (v.type) {
    case 'string':
      return v.value;
    case 'bool':
      return String(v.value);
    case 'number':
      return v.text;
    case 'duration':
      return v.ns.toString();
  }
}

function numberOf(v: Value): string {
  return v.type === 'number' ? v.text : stringOf(v);
}

// ── prefilter ──────────────────────────────────────────────────────────────

/**
 * A span condition that some span of every matching trace satisfies, when the expression
 * implies one: the IN-subquery then narrows grouping to candidate traces. Undefined when no
 * such condition follows (NOT, trace-only fields, an OR with an unconstrained side).
 */
function necessarySpanCondition(e: TraceExpr, p: Params): string | undefined {
  switch (e.type) {
    case 'spans':
      return spanSql(e.where, p);
    case 'descendant':
      return spanSql(e.descendant, p);
    case 'and':
      return necessarySpanCondition(e.left, p) ?? necessarySpanCondition(e.right, p);
    case 'or': {
      const left = necessarySpanCondition(e.left, p);
      const right = left === undefined ? undefined : necessarySpanCondition(e.right, p);
      return left !== undefined && right !== undefined ? `(${left} OR ${right})` : undefined;
    }
    case 'compare':
      return e.field === 'status' && (e.op === '=') === (stringOf(e.values[0]!) === 'Error') ? `StatusCode = 'Error'` : undefined;
    case 'not':
      return undefined;
  }
}
