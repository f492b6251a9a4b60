import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  buildTree,
  compareShapes,
  compareTraces,
  completeness,
  correlationIdsOf,
  criticalPathOf,
  insightsOf,
  mainTop,
  shapeOf,
  typicalShape,
  type Completeness,
  type DropEvidence,
  type MissingPath,
  type PathDiff,
  type TraceComparison,
} from '../analysis/index.js';
import { unrestricted } from '../auth/principal.js';
import '../auth/request-principal.js';
import { DROPS_TABLE } from '../pipeline/drop-ledger/table.js';
import { CORRELATION_ATTRIBUTE } from '../processors/stitch/stitcher.js';
import { parseLimit, parseTraceId, parseWindow, QueryParamError, single } from './params.js';
import { ReadScopeError, type ReadScopes, type ScopedReads } from './read-scope.js';
import type { SpanView } from './span-view.js';
import { adjustClockSkew, readsOf } from './stitch-routes.js';
import type { TraceStore } from './trace-store.js';

/**
 * The analysis module's REST face (collector/src/analysis): critical path, insights with
 * completeness, and trace comparison. Traces are read like `/api/traces/:traceId`, through
 * the caller's read scope, so a token limited to some services analyses only their spans;
 * clock skew is adjusted (stored offsets) before timing is judged.
 */

export interface AnalysisRouteDeps {
  reader: ClickHouseClient;
  database: string;
  store: TraceStore;
  readScopes: ReadScopes;
}

/**
 * Traces with more spans are refused (413). The analyses run in memory on the process's event
 * loop, which the receivers share: measured on the 2-core dev machine, tree + critical path +
 * insights + completeness take about 120 ms for 10,000 spans (230 ms for 20,000), and answers
 * stay within a few MB. Bigger traces need the work moved to a worker thread first. The trace
 * is counted (TraceStore.locate, TraceId and Timestamp only) before it is loaded.
 */
export const MAX_ANALYSIS_SPANS = 10_000;
/** Correlated traces read to join a lost header back, at most (each within MAX_ANALYSIS_SPANS). */
const MAX_CORRELATED_TRACES = 5;
const MAX_CORRELATION_IDS = 4;
/** The drop ledger counts spans when they arrive, after the trace: its rows up to 5 min after the trace's end are evidence. */
const DROP_WINDOW_AFTER_NS = 300_000_000_000n;
/** Spans a typical-shape comparison reads over all its traces. */
const TYPICAL_SPAN_BUDGET = MAX_ANALYSIS_SPANS;
export const DEFAULT_TYPICAL_LOOKBACK_NS = 24n * 3_600_000_000_000n;
const NS_PER_MINUTE = 60_000_000_000n;
const READ_SETTINGS = { output_format_json_quote_64bit_integers: 1 } as const;

/** A trace beyond MAX_ANALYSIS_SPANS: answered with 413. */
export class TraceTooLargeError extends Error {
  override name = 'TraceTooLargeError';
  readonly statusCode = 413;
  constructor(traceId: string, spans: number) {
    super(`trace ${traceId} has ${spans} spans; analysis is limited to ${MAX_ANALYSIS_SPANS} spans per trace`);
  }
}

// JSON schemas: they validate the input, serialise the output, and feed the OpenAPI document.
const nano = { type: 'string', pattern: '^-?\\d+$', description: 'nanoseconds, as a decimal string' } as const;
const traceIdParams = { type: 'object', required: ['traceId'], properties: { traceId: { type: 'string', maxLength: 64 } } } as const;
const error = { type: 'object', properties: { error: { type: 'string' } } } as const;
const errors = { 400: error, 401: error, 403: error, 404: error, 413: error } as const;
const spanRef = { spanId: { type: 'string' }, serviceName: { type: 'string' }, name: { type: 'string' } } as const;

const criticalPathSchema = {
  summary: 'Critical path and self time of a trace',
  params: traceIdParams,
  querystring: { type: 'object', properties: { limit: { type: 'string', description: `self times returned, most first (default 100, at most ${MAX_ANALYSIS_SPANS})` } } },
  response: {
    200: {
      type: 'object',
      properties: {
        traceId: { type: 'string' },
        rootSpanId: { type: 'string' },
        durationNano: nano,
        spanCount: { type: 'integer' },
        segments: {
          type: 'array',
          items: { type: 'object', properties: { ...spanRef, startTimeUnixNano: nano, endTimeUnixNano: nano, durationNano: nano } },
        },
        selfTimes: {
          type: 'array',
          items: { type: 'object', properties: { ...spanRef, durationNano: nano, selfNano: nano, criticalNano: nano } },
        },
        asyncSpanIds: { type: 'array', items: { type: 'string' } },
      },
    },
    ...errors,
  },
} as const;

const findingProperties = {
  ...spanRef,
  reason: { type: 'string', enum: ['header-lost', 'not-sampled-upstream', 'not-reached', 'dropped', 'not-readable', 'not-instrumented', 'unknown'] },
  explanation: { type: 'string' },
  joinedTraceId: { type: 'string' },
  joinedSpanId: { type: 'string' },
} as const;

const insightsSchema = {
  summary: 'Rule-based insights and completeness of a trace',
  params: traceIdParams,
  response: {
    200: {
      type: 'object',
      properties: {
        traceId: { type: 'string' },
        spanCount: { type: 'integer' },
        readRestricted: { type: 'boolean', description: 'your read rules hide some services: their spans look missing' },
        insights: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              rule: { type: 'string', enum: ['n-plus-one', 'sequential-calls', 'error-origin', 'retries', 'slow-method'] },
              summary: { type: 'string' },
              spanIds: { type: 'array', items: { type: 'string' } },
              spanCount: { type: 'integer' },
              parentSpanId: { type: 'string' },
              impactNano: nano,
              evidence: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
            },
          },
        },
        completeness: {
          type: 'object',
          properties: {
            complete: { type: 'boolean' },
            orphans: {
              type: 'array',
              items: { type: 'object', properties: { ...findingProperties, parentSpanId: { type: 'string' }, remoteParent: { type: 'boolean' } } },
            },
            unansweredClientSpans: { type: 'array', items: { type: 'object', properties: findingProperties } },
            missingRemoteParents: { type: 'array', items: { type: 'object', properties: findingProperties } },
          },
        },
      },
    },
    ...errors,
  },
} as const;

const pathDiffProperties = {
  path: { type: 'string' },
  depth: { type: 'integer' },
  countA: { type: 'number' },
  countB: { type: 'number' },
  totalNanoA: nano,
  totalNanoB: nano,
  deltaNano: nano,
} as const;
const side = { type: 'object', properties: { traceId: { type: 'string' }, spanCount: { type: 'integer' }, durationNano: nano, traces: { type: 'integer' } } } as const;

const compareSchema = {
  summary: 'Compare two traces, or a trace with the typical shape of its operation',
  querystring: {
    type: 'object',
    properties: {
      a: { type: 'string', description: 'trace ID' },
      b: { type: 'string', description: 'trace ID, or "typical": the median shape of recent traces of a\'s root operation' },
      n: { type: 'string', description: 'with b=typical: how many recent traces (default 10, at most 20)' },
      lookback: { type: 'string', description: 'with b=typical: how far back to look (default 24h)' },
      limit: { type: 'string', description: 'paths per list (default 200, at most 10000)' },
    },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        a: side,
        b: side,
        onlyInA: { type: 'array', items: { type: 'object', properties: { ...pathDiffProperties, pathsBelow: { type: 'integer' } } } },
        onlyInB: { type: 'array', items: { type: 'object', properties: { ...pathDiffProperties, pathsBelow: { type: 'integer' } } } },
        changed: { type: 'array', items: { type: 'object', properties: pathDiffProperties } },
        unchangedPaths: { type: 'integer' },
        truncated: { type: 'boolean', description: 'a list was cut at limit' },
      },
    },
    ...errors,
  },
} as const;

export function registerAnalysisRoutes(app: FastifyInstance, deps: AnalysisRouteDeps): void {
  app.get<{ Params: { traceId: string }; Querystring: Record<string, unknown> }>('/api/traces/:traceId/critical-path', { schema: criticalPathSchema }, async (req, reply) => {
    const traceId = parseTraceId(req.params.traceId);
    const limit = parseLimit(req.query.limit, 100, MAX_ANALYSIS_SPANS);
    const spans = await loadTrace(deps, await readsOf(deps, req), traceId, reply, true);
    if (!spans) return reply;
    const path = criticalPathOf(buildTree(spans))!;
    return {
      traceId,
      rootSpanId: path.rootSpanId,
      durationNano: path.durationNs.toString(),
      spanCount: spans.length,
      segments: path.segments.map((s) => ({
        spanId: s.spanId,
        serviceName: s.serviceName,
        name: s.name,
        startTimeUnixNano: s.startNs.toString(),
        endTimeUnixNano: s.endNs.toString(),
        durationNano: s.durationNs.toString(),
      })),
      selfTimes: path.selfTimes.slice(0, limit).map((s) => ({
        spanId: s.spanId,
        serviceName: s.serviceName,
        name: s.name,
        durationNano: s.durationNs.toString(),
        selfNano: s.selfNs.toString(),
        criticalNano: s.criticalNs.toString(),
      })),
      asyncSpanIds: path.asyncSpanIds,
    };
  });

  app.get<{ Params: { traceId: string } }>('/api/traces/:traceId/insights', { schema: insightsSchema }, async (req, reply) => {
    const traceId = parseTraceId(req.params.traceId);
    const reads = await readsOf(deps, req);
    const spans = await loadTrace(deps, reads, traceId, reply, true);
    if (!spans) return reply;
    const readRestricted = !unrestricted(req.principal.rules);
    const complete = await completenessWithEvidence(deps.reader, reads, spans, readRestricted);
    return {
      traceId,
      spanCount: spans.length,
      readRestricted,
      insights: insightsOf(buildTree(spans)).map(({ impactNs, ...rest }) => ({ ...rest, impactNano: impactNs.toString() })),
      completeness: complete,
    };
  });

  app.get<{ Querystring: Record<string, unknown> }>('/api/compare', { schema: compareSchema }, async (req, reply) => {
    const q = req.query;
    const a = parseTraceId(required('a', q.a));
    const bText = required('b', q.b);
    const limit = parseLimit(q.limit, 200, 10_000);
    const reads = await readsOf(deps, req);
    const spansA = await loadTrace(deps, reads, a, reply, false, 'a');
    if (!spansA) return reply;
    if (bText === 'typical') {
      const n = parseCount('n', q.n, 10, MAX_TYPICAL_TRACES);
      const { startNs, endNs } = parseWindow(q, DEFAULT_TYPICAL_LOOKBACK_NS);
      const typical = await compareWithTypical(reads, spansA, n, startNs, endNs);
      if (!typical) return reply.code(404).send({ error: `no other trace of trace ${a}'s root operation in the window to compare with` });
      return comparisonAnswer(typical.result, { traceId: a, spans: spansA }, { traceId: 'typical', traces: typical.traces, spanCount: typical.result.b.spanCount }, limit);
    }
    const b = parseTraceId(bText);
    const spansB = await loadTrace(deps, reads, b, reply, false, 'b');
    if (!spansB) return reply;
    return comparisonAnswer(compareTraces(spansA, spansB), { traceId: a, spans: spansA }, { traceId: b, spans: spansB }, limit);
  });
}

/** The trace through the route's read scope (readAnalysisTrace); undefined after answering 404. */
async function loadTrace(deps: AnalysisRouteDeps, reads: ScopedReads, traceId: string, reply: FastifyReply, adjust: boolean, label?: string): Promise<SpanView[] | undefined> {
  const spans = await readAnalysisTrace(deps, reads, traceId, adjust);
  if (!spans) await reply.code(404).send({ error: `${label ? `${label}: ` : ''}trace ${traceId} not found` });
  return spans;
}

/*
 * The loading and evidence gathering below is shared by every face of the analysis (these
 * routes and the MCP tools in collector/src/mcp/tools), so each reads the same spans the same way.
 */

/**
 * One trace for analysis through the caller's read scope `reads` (a token limited to some
 * services gets only their spans), clock-skew adjusted when `adjust` (timing is judged: critical
 * path, insights); undefined when not found. Throws TraceTooLargeError beyond MAX_ANALYSIS_SPANS.
 */
export async function readAnalysisTrace(deps: Pick<AnalysisRouteDeps, 'reader' | 'database'>, reads: ScopedReads, traceId: string, adjust: boolean): Promise<SpanView[] | undefined> {
  // Counted before it is loaded: an oversized trace is refused without reading its spans.
  const location = await reads.store.locate(traceId);
  if (!location) return undefined;
  if (location.spans > MAX_ANALYSIS_SPANS) throw new TraceTooLargeError(traceId, location.spans);
  const spans = await reads.store.getTrace(traceId, location);
  if (!spans) return undefined;
  // Spans still arriving may have grown it since the count.
  if (spans.length > MAX_ANALYSIS_SPANS) throw new TraceTooLargeError(traceId, spans.length);
  return adjust ? adjustClockSkew(deps.reader, deps.database, spans) : spans;
}

/**
 * The trace's completeness with its evidence: traces sharing its correlation IDs and the drop
 * ledger, both read through `reads`, and only when there is something to explain.
 */
export async function completenessWithEvidence(reader: ClickHouseClient, reads: ScopedReads, spans: readonly SpanView[], readRestricted: boolean): Promise<Completeness> {
  const first = completeness(spans, { readRestricted });
  if (first.complete) return first;
  const [correlatedSpans, drops] = await Promise.all([correlatedTraces(reads, spans), dropsAround(reader, reads, spans)]);
  return completeness(spans, { readRestricted, correlatedSpans, drops });
}

/** Most recent traces a typical shape is built from. */
export const MAX_TYPICAL_TRACES = 20;

/**
 * Trace `spansA` against the typical (median) shape of up to `n` recent traces of its root
 * operation in [startNs, endNs], read through `reads`; undefined when there is none.
 */
export async function compareWithTypical(reads: ScopedReads, spansA: readonly SpanView[], n: number, startNs: bigint, endNs: bigint): Promise<{ result: TraceComparison; traces: number } | undefined> {
  const recent = await recentTracesLike(reads, spansA, n, startNs, endNs);
  if (recent.length === 0) return undefined;
  const typical = typicalShape(recent.map(shapeOf));
  const result = compareShapes(shapeOf(spansA), typical, sizeOf(spansA), { spanCount: median(recent.map((t) => t.length)), durationNs: 0n });
  return { result, traces: recent.length };
}

/** Spans of other traces sharing a correlation ID with this one, within the trace's time (± 1 min), bounded. */
async function correlatedTraces(reads: ScopedReads, spans: readonly SpanView[]): Promise<SpanView[]> {
  const ids = [...correlationIdsOf(spans)].slice(0, MAX_CORRELATION_IDS);
  if (ids.length === 0) return [];
  const { startNs, endNs } = extent(spans);
  const found = new Map<string, number>();
  for (const id of ids) {
    const traces = await reads.store.searchTraces({ tags: [[CORRELATION_ATTRIBUTE, id]], startNs: startNs - NS_PER_MINUTE, endNs: endNs + NS_PER_MINUTE, limit: MAX_CORRELATED_TRACES + 1 });
    for (const t of traces) if (t.traceId !== spans[0]!.traceId && t.spanCount <= MAX_ANALYSIS_SPANS) found.set(t.traceId, t.spanCount);
  }
  const out: SpanView[] = [];
  for (const traceId of [...found.keys()].slice(0, MAX_CORRELATED_TRACES)) out.push(...((await reads.store.getTrace(traceId)) ?? []));
  return out;
}

/**
 * The drop ledger's counts for the trace's services (and the unknown service '') from the
 * trace's first minute to DROP_WINDOW_AFTER_NS after its end. None when the table is missing
 * or the caller's read rules cannot be enforced on it (environment rules).
 */
async function dropsAround(reader: ClickHouseClient, reads: ScopedReads, spans: readonly SpanView[]): Promise<DropEvidence[]> {
  let table: string;
  try {
    table = reads.table(DROPS_TABLE);
  } catch (err) {
    if (err instanceof ReadScopeError) return [];
    throw err;
  }
  const { startNs, endNs } = extent(spans);
  const seconds = (ns: bigint) => Number(ns / 1_000_000_000n);
  try {
    const result = await reader.query({
      query: `SELECT Service AS service, Stage AS stage, Reason AS reason, sum(DroppedSpans) AS droppedSpans
              FROM ${table}
              WHERE Minute >= toDateTime({from:UInt32}, 'UTC') AND Minute <= toDateTime({to:UInt32}, 'UTC')
                AND Service IN {services:Array(String)} AND DroppedSpans > 0
              GROUP BY Service, Stage, Reason`,
      query_params: { from: seconds((startNs / NS_PER_MINUTE) * NS_PER_MINUTE), to: seconds(endNs + DROP_WINDOW_AFTER_NS), services: ['', ...new Set(spans.map((s) => s.serviceName))] },
      format: 'JSONEachRow',
      clickhouse_settings: READ_SETTINGS,
    });
    return (await result.json<Record<keyof DropEvidence, string>>()).map((r) => ({ service: r.service, stage: r.stage, reason: r.reason, droppedSpans: Number(r.droppedSpans) }));
  } catch (err) {
    const type = (err as { type?: unknown }).type;
    if (type === 'UNKNOWN_TABLE' || type === 'UNKNOWN_DATABASE') return [];
    throw err;
  }
}

/** Up to `n` recent traces (other than this one) whose root is the same service and operation, within TYPICAL_SPAN_BUDGET spans. */
async function recentTracesLike(reads: ScopedReads, spans: readonly SpanView[], n: number, startNs: bigint, endNs: bigint): Promise<SpanView[][]> {
  const root = mainTop(buildTree(spans))!;
  const summaries = await reads.store.searchTraces({ service: root.span.serviceName, operation: root.span.name, tags: [], startNs, endNs, limit: n * 2 + 1 });
  const out: SpanView[][] = [];
  let budget = TYPICAL_SPAN_BUDGET;
  for (const summary of summaries) {
    if (out.length === n) break;
    // The search matches any span of that name: keep traces whose root it is.
    if (summary.traceId === root.span.traceId || summary.rootServiceName !== root.span.serviceName || summary.rootSpanName !== root.span.name) continue;
    if (summary.spanCount > budget) continue;
    const trace = await reads.store.getTrace(summary.traceId);
    if (!trace) continue;
    budget -= trace.length;
    out.push(trace);
  }
  return out;
}

function comparisonAnswer(
  result: TraceComparison,
  a: { traceId: string; spans: readonly SpanView[] },
  b: { traceId: string; spans: readonly SpanView[] } | { traceId: string; traces: number; spanCount: number },
  limit: number,
) {
  const diffOut = (d: PathDiff) => ({ path: d.path, depth: d.depth, countA: d.countA, countB: d.countB, totalNanoA: d.totalNsA.toString(), totalNanoB: d.totalNsB.toString(), deltaNano: d.deltaNs.toString() });
  const missingOut = (d: MissingPath) => ({ ...diffOut(d), pathsBelow: d.pathsBelow });
  const truncated = result.onlyInA.length > limit || result.onlyInB.length > limit || result.changed.length > limit;
  return {
    a: { traceId: a.traceId, spanCount: result.a.spanCount, durationNano: result.a.durationNs.toString() },
    b: 'spans' in b ? { traceId: b.traceId, spanCount: result.b.spanCount, durationNano: result.b.durationNs.toString() } : { traceId: b.traceId, traces: b.traces, spanCount: b.spanCount },
    onlyInA: result.onlyInA.slice(0, limit).map(missingOut),
    onlyInB: result.onlyInB.slice(0, limit).map(missingOut),
    changed: result.changed.slice(0, limit).map(diffOut),
    unchangedPaths: result.unchangedPaths,
    truncated,
  };
}

function sizeOf(spans: readonly SpanView[]): TraceComparison['a'] {
  const { startNs, endNs } = extent(spans);
  return { spanCount: spans.length, durationNs: endNs - startNs };
}

function extent(spans: readonly SpanView[]): { startNs: bigint; endNs: bigint } {
  let startNs = BigInt(spans[0]!.startTimeUnixNano);
  let endNs = startNs;
  for (const s of spans) {
    const start = BigInt(s.startTimeUnixNano);
    const end = start + BigInt(s.durationNano);
    if (start < startNs) startNs = start;
    if (end > endNs) endNs = end;
  }
  return { startNs, endNs };
}

function required(name: string, value: unknown): string {
  const text = single(name, value);
  if (text === undefined) throw new QueryParamError(`${name}: required`);
  return text;
}

/** A whole number from 1 to `max` for parameter `name`, digits only. */
function parseCount(name: string, value: unknown, fallback: number, max: number): number {
  const text = single(name, value);
  if (text === undefined) return fallback;
  const n = /^\d{1,6}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= max)) throw new QueryParamError(`${name}: expected a whole number from 1 to ${max}, got ${JSON.stringify(text.slice(0, 64))}`);
  return n;
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[sorted.length >> 1] ?? 0;
}
