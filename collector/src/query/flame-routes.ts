import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyInstance } from 'fastify';
import { countNodes, flatten, mergeSpans, type FlameSpan, type FlatFlameNode } from '../analysis/flame.js';
import { CHILD_SLACK_AFTER_NS, CHILD_SLACK_BEFORE_NS, HOTSPOT_SETTINGS, MAX_WINDOW_NS, METHOD, traceWindow } from '../analysis/hotspots.js';
import '../auth/request-principal.js';
import { parseText, parseTraceId, parseWindow, QueryParamError, single } from './params.js';
import type { ReadScopes } from './read-scope.js';
import { errorSchema, nanoString, queryText, readErrors, traceIdParams } from './route-schemas.js';

/**
 * Flame graphs as data (analysis/flame.ts): the merged call tree of many traces, or of one.
 *
 * - `GET /api/flame?service=&operation=&start=&end=&lookback=&traces=&maxNodes=`: the `traces`
 *   most recent traces (default 200, at most 1000) holding a span that matches — `service` and
 *   `operation` (span name) on the SAME span, any span of the trace, not only its root — in the
 *   window (default the last hour, at most 7 days), merged whole (every span the caller may read,
 *   children found up to CHILD_SLACK_* beyond the window as the hotspots query finds them).
 * - `GET /api/traces/:traceId/flame?maxNodes=`: one trace, the same shape; 404 when none of its spans are readable.
 *
 * Computed in TypeScript over narrow rows (IDs, service, method, status, start, duration —
 * the method string built inside ClickHouse, so no attribute map leaves the engine): a node is
 * keyed by its whole path from the top, which SQL cannot build without a recursive walk of
 * parent IDs. bench/flame.ts measures both ways.
 *
 * Bounded: at most MAX_FLAME_SPANS spans are loaded (the most recent traces first; a trace that
 * would cross the budget is skipped and counted in `skippedTraceCount`), at most `maxNodes`
 * nodes answered (default 5000, at most 20000; the rest folded into `(other)`), and the engine's
 * limits of the hotspots query (time, memory) apply to every read.
 *
 * Read rules: everything is read through the caller's filtered span table. A span of a hidden
 * service is simply absent: its readable children become tops of their own, and a readable
 * span calling it keeps the time as its own self time. No frame of a hidden service is shown.
 */
export interface FlameRouteDeps {
  reader: ClickHouseClient;
  readScopes: ReadScopes;
}

export const DEFAULT_LOOKBACK_NS = 3_600_000_000_000n;
export const DEFAULT_TRACES = 200;
export const MAX_TRACES = 1000;
export const DEFAULT_MAX_NODES = 5000;
export const MAX_NODES = 20_000;
/** Spans loaded at most per request (about 60 MB of rows in memory at the worst). */
export const MAX_FLAME_SPANS = 250_000;

/** Numbers come as JSON numbers here: every value read fits a double (times relative to an origin). */
const FLAME_SETTINGS = { ...HOTSPOT_SETTINGS, output_format_json_quote_64bit_integers: 0 } as const;

/** The engine gave up (time or memory): 422, asking for less. */
export class FlameTooBroadError extends Error {
  override name = 'FlameTooBroadError';
  readonly statusCode = 422;
  constructor(detail: string) {
    super(`flame: the query exceeded the engine's ${detail} limit; narrow the window, filter by service or operation, or ask for fewer traces`);
  }
}

const nodeSchema = {
  type: 'object',
  properties: {
    parent: { type: 'integer', description: 'index of the parent node in `nodes`; -1 for the root' },
    depth: { type: 'integer', description: '0 for the root' },
    service: { type: 'string', description: "'' for the root and (other)" },
    method: { type: 'string', description: 'code.namespace + code.function.name, else the span name; "(all)" for the root, "(other)" for folded frames' },
    totalNano: { ...nanoString, description: 'sum of the calls’ durations, nanoseconds as a decimal string' },
    selfNano: { ...nanoString, description: 'sum of the calls’ self times (duration minus the union of the children’s intervals)' },
    calls: { type: 'integer' },
    errors: { type: 'integer' },
    exampleTraceId: { type: 'string', description: "the trace holding this frame's longest call; '' for the root and (other)" },
    folded: { type: 'integer', description: '(other) only: how many frames it stands for' },
  },
} as const;

const answerProperties = {
  traceCount: { type: 'integer', description: 'traces merged' },
  spanCount: { type: 'integer', description: 'spans merged' },
  nodeCount: { type: 'integer', description: 'nodes of the merged tree before the node cap (more than nodes.length when folded)' },
  nodes: { type: 'array', items: nodeSchema, description: 'pre-order: a parent before its children; children by service, then method, (other) last' },
} as const;

const maxNodesQuery = queryText(`nodes answered at most (default ${DEFAULT_MAX_NODES}, 2 to ${MAX_NODES}); the lightest are folded into "(other)"`);

export const flameSchema = {
  summary: 'Aggregated flame graph: the call tree of many traces by service and method, with total and self time',
  querystring: {
    type: 'object',
    properties: {
      service: queryText('only traces holding a span of this service (with operation: the same span)'),
      operation: queryText('only traces holding a span of this name (with service: of that service)'),
      start: queryText('window start: microseconds since the epoch or ISO-8601'),
      end: queryText('window end (default now): microseconds since the epoch or ISO-8601'),
      lookback: queryText('window length before end when start is absent, e.g. 15m (default 1h; at most 7 days)'),
      traces: queryText(`the most recent matching traces merged (default ${DEFAULT_TRACES}, at most ${MAX_TRACES})`),
      maxNodes: maxNodesQuery,
    },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        startTimeUnixNano: nanoString,
        endTimeUnixNano: nanoString,
        ...answerProperties,
        skippedTraceCount: { type: 'integer', description: `matching traces left out because merging them would load more than ${MAX_FLAME_SPANS} spans` },
      },
    },
    ...readErrors,
    422: { ...errorSchema, description: "the engine's time or memory limit was reached: narrow the request" },
  },
} as const;

export const traceFlameSchema = {
  summary: "One trace's flame graph: its call tree by service and method, with total and self time",
  params: traceIdParams,
  querystring: { type: 'object', properties: { maxNodes: maxNodesQuery } },
  response: {
    200: { type: 'object', properties: { traceId: { type: 'string' }, ...answerProperties } },
    ...readErrors,
    404: { ...errorSchema, description: 'no such trace (or none of its spans readable)' },
    413: { ...errorSchema, description: `the trace has more than ${MAX_FLAME_SPANS} spans` },
    422: { ...errorSchema, description: "the engine's time or memory limit was reached" },
  },
} as const;

export function registerFlameRoutes(app: FastifyInstance, deps: FlameRouteDeps): void {
  app.get<{ Querystring: Record<string, unknown> }>('/api/flame', { schema: flameSchema }, async (req) => {
    const q = req.query;
    const service = parseText('service', q.service);
    const operation = parseText('operation', q.operation);
    const traces = parseCount('traces', q.traces, DEFAULT_TRACES, MAX_TRACES);
    const maxNodes = parseCount('maxNodes', q.maxNodes, DEFAULT_MAX_NODES, MAX_NODES, 2);
    const { startNs, endNs } = parseWindow(q, DEFAULT_LOOKBACK_NS);
    if (endNs - startNs > MAX_WINDOW_NS) {
      const culprit = single('start', q.start) === undefined && single('lookback', q.lookback) !== undefined ? 'lookback' : 'start';
      throw new QueryParamError(`${culprit}: the window is at most 7 days (168h) wide`);
    }
    const table = (await deps.readScopes.forRules(req.principal.rules)).traceTables.traces;
    const range = { fromNs: startNs > CHILD_SLACK_BEFORE_NS ? startNs - CHILD_SLACK_BEFORE_NS : 0n, toNs: endNs + CHILD_SLACK_AFTER_NS };
    const picked = await recentTraces(deps.reader, table, { startNs, endNs, service, operation, limit: traces }, range);
    const chosen: string[] = [];
    let budget = MAX_FLAME_SPANS;
    for (const t of picked) {
      if (t.spans > budget) continue;
      budget -= t.spans;
      chosen.push(t.traceId);
    }
    const spans = chosen.length === 0 ? [] : await loadSpans(deps.reader, table, chosen, range);
    return { startTimeUnixNano: startNs.toString(), endTimeUnixNano: endNs.toString(), ...answer(spans, chosen.length, maxNodes), skippedTraceCount: picked.length - chosen.length };
  });

  app.get<{ Params: { traceId: string }; Querystring: Record<string, unknown> }>('/api/traces/:traceId/flame', { schema: traceFlameSchema }, async (req, reply) => {
    const traceId = parseTraceId(req.params.traceId);
    const maxNodes = parseCount('maxNodes', req.query.maxNodes, DEFAULT_MAX_NODES, MAX_NODES, 2);
    const scope = await deps.readScopes.forRules(req.principal.rules);
    // The lookup table only narrows the scan; the spans are read through the caller's scope.
    const bounds = await traceWindow(deps.reader, scope.traceTables.traceIds, traceId);
    const spans = bounds ? await loadSpans(deps.reader, scope.traceTables.traces, [traceId], { fromNs: bounds.startNs, toNs: bounds.endNs }, MAX_FLAME_SPANS + 1) : [];
    if (spans.length === 0) return reply.code(404).send({ error: `trace ${traceId} not found` });
    if (spans.length > MAX_FLAME_SPANS) return reply.code(413).send({ error: `trace ${traceId} has more than ${MAX_FLAME_SPANS} spans; its flame graph is limited to that` });
    return { traceId, ...answer(spans, 1, maxNodes) };
  });
}

function answer(spans: readonly FlameSpan[], traceCount: number, maxNodes: number) {
  const root = mergeSpans(spans);
  return { traceCount, spanCount: spans.length, nodeCount: countNodes(root), nodes: flatten(root, maxNodes).map(toJson) };
}

function toJson(n: FlatFlameNode) {
  return {
    parent: n.parent,
    depth: n.depth,
    service: n.service,
    method: n.method,
    totalNano: String(Math.round(n.totalNs)),
    selfNano: String(Math.round(n.selfNs)),
    calls: n.calls,
    errors: n.errors,
    exampleTraceId: n.exampleTraceId,
    folded: n.folded,
  };
}

/** A whole number from `min` to `max`, digits only, named in the message. */
function parseCount(name: string, value: unknown, fallback: number, max: number, min = 1): number {
  const text = single(name, value);
  if (text === undefined) return fallback;
  const n = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) throw new QueryParamError(`${name}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(text.slice(0, 64))}`);
  return n;
}

interface TracePick {
  startNs: bigint;
  endNs: bigint;
  service?: string;
  operation?: string;
  limit: number;
}

/** Where spans are read: the window widened for children (hotspots.ts CHILD_SLACK_*). */
interface Range {
  fromNs: bigint;
  toNs: bigint;
}

const IN_RANGE = 'Timestamp >= fromUnixTimestamp64Nano({from:Int64}) AND Timestamp <= fromUnixTimestamp64Nano({to:Int64})';

/** The `limit` most recent traces holding a matching span, newest first, with their readable span counts in `range`. */
export async function recentTraces(client: ClickHouseClient, table: string, pick: TracePick, range: Range): Promise<Array<{ traceId: string; spans: number }>> {
  const params: Record<string, unknown> = { start: pick.startNs.toString(), end: pick.endNs.toString(), from: range.fromNs.toString(), to: range.toNs.toString(), limit: pick.limit };
  const match = ['Timestamp >= fromUnixTimestamp64Nano({start:Int64}) AND Timestamp <= fromUnixTimestamp64Nano({end:Int64})'];
  if (pick.service !== undefined) {
    params.service = pick.service;
    match.push('ServiceName = {service:String}');
  }
  if (pick.operation !== undefined) {
    params.operation = pick.operation;
    match.push('SpanName = {operation:String}');
  }
  const sql = `SELECT TraceId, count() AS spans, max(Timestamp) AS last
FROM ${table}
WHERE ${IN_RANGE} AND TraceId IN (
  SELECT TraceId FROM ${table} WHERE ${match.join(' AND ')}
  GROUP BY TraceId ORDER BY max(Timestamp) DESC, TraceId LIMIT {limit:UInt32}
)
GROUP BY TraceId
ORDER BY last DESC, TraceId`;
  const rows = await read<[string, number, string]>(client, sql, params);
  return rows.map(([traceId, spans]) => ({ traceId, spans }));
}

/** The narrow rows of these traces' readable spans in `range`, at most `limit`. */
export async function loadSpans(client: ClickHouseClient, table: string, traceIds: readonly string[], range: Range, limit = MAX_FLAME_SPANS): Promise<FlameSpan[]> {
  // Starts relative to the range's start: at most 7 days + slack, exact in a double.
  const sql = `SELECT TraceId, SpanId, ParentSpanId, ServiceName, ${METHOD} AS method, StatusCode = 'Error',
  toInt64(toUnixTimestamp64Nano(Timestamp) - {from:Int64}), toInt64(Duration)
FROM ${table}
WHERE ${IN_RANGE} AND TraceId IN {ids:Array(String)}
LIMIT {limit:UInt32}`;
  const rows = await read<[string, string, string, string, string, number, number, number]>(client, sql, {
    from: range.fromNs.toString(),
    to: range.toNs.toString(),
    ids: traceIds,
    limit,
  });
  return rows.map(([traceId, spanId, parentSpanId, service, method, failed, startNs, durationNs]) => ({ traceId, spanId, parentSpanId, service, method, failed: failed === 1, startNs, durationNs }));
}

async function read<T>(client: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<T[]> {
  try {
    return await (await client.query({ query, query_params: params, format: 'JSONCompactEachRow', clickhouse_settings: FLAME_SETTINGS })).json<T>();
  } catch (err) {
    const type = (err as { type?: unknown }).type;
    if (type === 'TIMEOUT_EXCEEDED') throw new FlameTooBroadError('time');
    if (type === 'MEMORY_LIMIT_EXCEEDED') throw new FlameTooBroadError('memory');
    throw err;
  }
}
