import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import '../auth/request-principal.js';
import { propagateOffsets } from '../processors/stitch/clock-skew.js';
import { histogramQuantile } from '../processors/stitch/histogram.js';
import { CORRELATION_ATTRIBUTE } from '../processors/stitch/stitcher.js';
import { STITCH_TABLES, stitchTable } from '../processors/stitch/tables.js';
import { QueryParamError, parseLimit, parseText, parseWindow } from './params.js';
import type { ReadScopes, ScopedReads } from './read-scope.js';
import { errorSchema, nanoString, queryText, readErrors, traceSummarySchema } from './route-schemas.js';
import type { SpanView } from './span-view.js';
import type { TraceStore, TraceSummary } from './trace-store.js';

export interface StitchRouteDeps {
  reader: ClickHouseClient;
  database: string;
  store: TraceStore;
  /** Read rules: a restricted principal reads the side tables through its filtered views. */
  readScopes: ReadScopes;
}

/** Every 64-bit integer as a JSON string, so no digit is lost on the way to JavaScript. */
const READ_SETTINGS = { output_format_json_quote_64bit_integers: 1 } as const;
const DEFAULT_GRAPH_LOOKBACK_NS = 3_600_000_000_000n;
const MAX_CORRELATION_ID_LENGTH = 512;
const NS_PER_SECOND = 1_000_000_000n;
const MAX_UINT32 = 0xffff_ffffn;

const windowQuery = {
  start: queryText('window start: microseconds since the epoch or ISO-8601'),
  end: queryText('window end (default now): microseconds since the epoch or ISO-8601'),
  lookback: queryText('window length before end when start is absent, e.g. 15m (default 1h)'),
} as const;

const correlationSchema = {
  summary: 'Every trace that carries one correlation ID (stitched across lost headers and queues)',
  params: {
    type: 'object',
    required: ['correlationId'],
    properties: { correlationId: { type: 'string', description: `the ID's value (at most ${MAX_CORRELATION_ID_LENGTH} characters)` } },
  },
  querystring: { type: 'object', properties: { limit: queryText('traces returned, earliest first (default 100, at most 1000)') } },
  response: {
    200: {
      type: 'object',
      properties: {
        correlationId: { type: 'string' },
        firstSeenUnixNano: nanoString,
        lastSeenUnixNano: nanoString,
        services: { type: 'array', items: { type: 'string' } },
        traces: { type: 'array', items: traceSummarySchema },
        missingTraceIds: { type: 'array', items: { type: 'string' }, description: 'recorded under the ID, but no longer (or not yet) in the span table' },
      },
    },
    ...readErrors,
    404: { ...errorSchema, description: 'no trace carries this correlation ID' },
  },
} as const;

const calleeMs = { type: 'number', description: "of the callee span's duration, in milliseconds" } as const;
const serviceGraphSchema = {
  summary: 'Service graph: caller → callee edges with call counts, errors and latency',
  querystring: {
    type: 'object',
    properties: { service: queryText('only edges from or to this service'), ...windowQuery, limit: queryText('edges returned (default 1000, at most 10000)') },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        startUnixNano: nanoString,
        endUnixNano: nanoString,
        edges: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              caller: { type: 'string' },
              callee: { type: 'string' },
              operation: { type: 'string', description: "the callee span's name" },
              calls: { type: 'integer' },
              errors: { type: 'integer' },
              avgMs: calleeMs,
              p50Ms: calleeMs,
              p90Ms: calleeMs,
              p99Ms: calleeMs,
            },
          },
        },
      },
    },
    ...readErrors,
  },
} as const;

/**
 * The stitch processor's read side: every trace of one correlation ID, and the service graph
 * over a time window. Before the processor ever ran (no side tables) they answer "not found"
 * and "no edges" rather than failing.
 */
export function registerStitchRoutes(app: FastifyInstance, deps: StitchRouteDeps): void {
  app.get<{ Params: { correlationId: string }; Querystring: Record<string, unknown> }>(
    '/api/correlations/:correlationId',
    { schema: correlationSchema },
    async (req, reply) => {
      const correlationId = parseCorrelationId(req.params.correlationId);
      const limit = parseLimit(req.query.limit, 100, 1000);
      const found = await correlationTraces(deps.reader, await readsOf(deps, req), correlationId, limit);
      if (!found) return reply.code(404).send({ error: `correlation ID ${JSON.stringify(correlationId)} not found` });
      return found;
    },
  );

  app.get<{ Querystring: Record<string, unknown> }>('/api/service-graph', { schema: serviceGraphSchema }, async (req) => {
    const q = req.query;
    const { startNs, endNs } = parseWindow(q, DEFAULT_GRAPH_LOOKBACK_NS);
    const service = parseText('service', q.service) || undefined;
    const edges = await serviceGraph(deps.reader, await readsOf(deps, req), { startNs, endNs, service, limit: parseLimit(q.limit, 1000, 10_000) });
    return { startUnixNano: startNs.toString(), endUnixNano: endNs.toString(), edges };
  });
}

/** The reads of the request's principal: filtered views when its read rules restrict anything. */
export function readsOf(deps: Pick<StitchRouteDeps, 'readScopes' | 'store'>, req: FastifyRequest): Promise<ScopedReads> {
  return deps.readScopes.readsFor(req.principal.rules, deps.store);
}

export interface CorrelationTraces {
  correlationId: string;
  firstSeenUnixNano: string;
  lastSeenUnixNano: string;
  services: string[];
  /** Stored traces carrying the ID, earliest first. */
  traces: TraceSummary[];
  /** Traces recorded under the ID whose spans are no longer (or not yet) in the span table. */
  missingTraceIds: string[];
}

interface CorrelationRow {
  traceId: string;
  firstSeen: string;
  lastSeen: string;
  services: string[];
}

export async function correlationTraces(reader: ClickHouseClient, reads: ScopedReads, correlationId: string, limit: number): Promise<CorrelationTraces | undefined> {
  const table = reads.table(STITCH_TABLES.correlations);
  const recorded = await tolerateMissingTable(
    rows<CorrelationRow>(
      reader,
      `SELECT TraceId AS traceId,
         toString(toUnixTimestamp64Nano(min(FirstSeen))) AS firstSeen,
         toString(toUnixTimestamp64Nano(max(LastSeen))) AS lastSeen,
         arraySort(groupUniqArrayArray(Services)) AS services
       FROM ${table}
       WHERE CorrelationId = {id:String}
       GROUP BY TraceId ORDER BY min(FirstSeen), TraceId LIMIT {limit:UInt32}`,
      { id: correlationId, limit },
    ),
    [],
  );
  if (recorded.length === 0) return undefined;
  const firstNs = recorded.reduce((min, r) => (BigInt(r.firstSeen) < min ? BigInt(r.firstSeen) : min), BigInt(recorded[0]!.firstSeen));
  const lastNs = recorded.reduce((max, r) => (BigInt(r.lastSeen) > max ? BigInt(r.lastSeen) : max), BigInt(recorded[0]!.lastSeen));
  // The span table is searched by the ID itself over the recorded window, which also finds
  // traces stored before stitching ran or whose side-table row was lost.
  const stored = await reads.store.searchTraces({ tags: [[CORRELATION_ATTRIBUTE, correlationId]], startNs: firstNs, endNs: lastNs, limit });
  stored.sort((a, b) => compareDecimal(a.startTimeUnixNano, b.startTimeUnixNano) || a.traceId.localeCompare(b.traceId));
  const storedIds = new Set(stored.map((t) => t.traceId));
  return {
    correlationId,
    firstSeenUnixNano: firstNs.toString(),
    lastSeenUnixNano: lastNs.toString(),
    services: [...new Set(recorded.flatMap((r) => r.services).concat(stored.flatMap((t) => t.services)))].sort(),
    traces: stored,
    missingTraceIds: recorded.map((r) => r.traceId).filter((id) => !storedIds.has(id)),
  };
}

export interface ServiceGraphEdge {
  caller: string;
  callee: string;
  /** The callee span's name. */
  operation: string;
  calls: number;
  errors: number;
  /** Of the callee span's duration, in milliseconds. */
  avgMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
}

interface EdgeRow {
  caller: string;
  callee: string;
  operation: string;
  calls: string;
  errors: string;
  sumNs: string;
  minNs: string;
  maxNs: string;
  buckets: Record<string, string>;
}

export interface GraphQuery {
  startNs: bigint;
  endNs: bigint;
  service?: string;
  limit: number;
}

/** Edges aggregated over the minutes the window touches, busiest first. */
export async function serviceGraph(reader: ClickHouseClient, reads: ScopedReads, q: GraphQuery): Promise<ServiceGraphEdge[]> {
  const table = reads.table(STITCH_TABLES.serviceGraph);
  const where = ['Minute >= toDateTime({from:UInt32}, \'UTC\')', 'Minute <= toDateTime({to:UInt32}, \'UTC\')'];
  const params: Record<string, unknown> = {
    // From the start of the minute holding `start`: rows are per minute.
    from: clampSeconds((q.startNs / NS_PER_SECOND / 60n) * 60n),
    to: clampSeconds(q.endNs / NS_PER_SECOND),
    limit: q.limit,
  };
  if (q.service) {
    where.push('(Caller = {service:String} OR Callee = {service:String})');
    params.service = q.service;
  }
  const found = await tolerateMissingTable(
    rows<EdgeRow>(
      reader,
      `SELECT Caller AS caller, Callee AS callee, Operation AS operation,
         sum(Calls) AS calls, sum(Errors) AS errors, sum(DurationSumNs) AS sumNs,
         min(DurationMinNs) AS minNs, max(DurationMaxNs) AS maxNs, sumMap(DurationBuckets) AS buckets
       FROM ${table}
       WHERE ${where.join(' AND ')}
       GROUP BY Caller, Callee, Operation
       ORDER BY calls DESC, caller, callee, operation
       LIMIT {limit:UInt32}`,
      params,
    ),
    [],
  );
  return found.map(edgeOf);
}

function edgeOf(row: EdgeRow): ServiceGraphEdge {
  const calls = Number(row.calls);
  const histogram = {
    buckets: new Map(Object.entries(row.buckets).map(([bucket, n]) => [Number(bucket), Number(n)])),
    minNs: Number(row.minNs),
    maxNs: Number(row.maxNs),
  };
  return {
    caller: row.caller,
    callee: row.callee,
    operation: row.operation,
    calls,
    errors: Number(row.errors),
    avgMs: calls === 0 ? 0 : ms(Number(row.sumNs) / calls),
    p50Ms: ms(histogramQuantile(histogram, 0.5)),
    p90Ms: ms(histogramQuantile(histogram, 0.9)),
    p99Ms: ms(histogramQuantile(histogram, 0.99)),
  };
}

/**
 * The spans with start, end and event times shifted by their stored clock-skew offsets (see
 * processors/stitch/clock-skew.ts); spans without one come back as they were. Only the
 * answer changes: what is stored is never rewritten.
 */
export async function adjustClockSkew(reader: ClickHouseClient, database: string, spans: SpanView[]): Promise<SpanView[]> {
  if (spans.length === 0) return spans;
  const traceIds = [...new Set(spans.map((s) => s.traceId))];
  const stored = await tolerateMissingTable(
    rows<{ traceId: string; spanId: string; offsetNs: string }>(
      reader,
      `SELECT TraceId AS traceId, SpanId AS spanId, toString(any(OffsetNs)) AS offsetNs
       FROM ${stitchTable(database, STITCH_TABLES.clockSkew)}
       WHERE TraceId IN {ids:Array(String)}
       GROUP BY TraceId, SpanId`,
      { ids: traceIds },
    ),
    [],
  );
  if (stored.length === 0) return spans;
  const offsets = new Map<string, bigint>();
  for (const traceId of traceIds) {
    const own = new Map(stored.filter((r) => r.traceId === traceId).map((r) => [r.spanId, BigInt(r.offsetNs)]));
    if (own.size === 0) continue;
    const nodes = spans.filter((s) => s.traceId === traceId).map((s) => ({ spanId: s.spanId, parentSpanId: s.parentSpanId, service: s.serviceName }));
    for (const [spanId, offsetNs] of propagateOffsets(nodes, own)) offsets.set(`${traceId}/${spanId}`, offsetNs);
  }
  return spans.map((s) => {
    const offsetNs = offsets.get(`${s.traceId}/${s.spanId}`);
    return offsetNs === undefined ? s : shifted(s, offsetNs);
  });
}

function shifted(span: SpanView, offsetNs: bigint): SpanView {
  const by = (t: string) => (BigInt(t) + offsetNs).toString();
  return {
    ...span,
    startTimeUnixNano: by(span.startTimeUnixNano),
    endTimeUnixNano: by(span.endTimeUnixNano),
    events: span.events.map((e) => ({ ...e, timeUnixNano: by(e.timeUnixNano) })),
  };
}

export function parseCorrelationId(text: string): string {
  if (text === '' || text.length > MAX_CORRELATION_ID_LENGTH) {
    throw new QueryParamError(`correlation ID: expected 1 to ${MAX_CORRELATION_ID_LENGTH} characters, got ${text.length}`);
  }
  return text;
}

async function rows<T>(client: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<T[]> {
  const result = await client.query({ query, query_params: params, format: 'JSONEachRow', clickhouse_settings: READ_SETTINGS });
  return result.json<T>();
}

/** The side tables exist once the stitch processor started; before that, there is nothing to read. */
export async function tolerateMissingTable<T>(query: Promise<T>, fallback: T): Promise<T> {
  try {
    return await query;
  } catch (err) {
    const type = (err as { type?: unknown }).type;
    if (type === 'UNKNOWN_TABLE' || type === 'UNKNOWN_DATABASE') return fallback;
    throw err;
  }
}

function clampSeconds(seconds: bigint): number {
  return Number(seconds < 0n ? 0n : seconds > MAX_UINT32 ? MAX_UINT32 : seconds);
}

function ms(ns: number): number {
  return Math.round(ns / 1_000) / 1_000;
}

function compareDecimal(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
