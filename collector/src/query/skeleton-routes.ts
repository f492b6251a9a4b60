import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyInstance } from 'fastify';
import { SPAN_KIND_NAMES, STATUS_CODE_NAMES } from '../../../exporters/clickhouse/rowbinary.js';
import { TRACE_ID_SUFFIX } from '../../../exporters/clickhouse/schema.js';
import { unrestricted } from '../auth/principal.js';
import '../auth/request-principal.js';
import { propagateOffsets } from '../processors/stitch/clock-skew.js';
import { STITCH_TABLES, stitchTable } from '../processors/stitch/tables.js';
import { CORRELATION_ATTRIBUTE } from '../processors/stitch/stitcher.js';
import { activeHotColumns } from '../storage/hot-attributes/hot-columns.js';
import { LOOKUP_END, LOOKUP_START } from './lookup-bounds.js';
import { QueryParamError, parseTraceId, single } from './params.js';
import type { ReadScopes } from './read-scope.js';
import { errorSchema, readErrors, spanViewSchema, traceIdParams } from './route-schemas.js';
import { SPAN_COLUMNS, spanView, type SpanRow, type SpanView } from './span-view.js';
import { readsOf } from './stitch-routes.js';
import type { TraceStore } from './trace-store.js';

/**
 * A trace in two steps, for the dashboard's waterfall on traces of 100,000+ spans:
 *
 * - `GET /api/traces/:traceId/skeleton` — every span as compact columns (IDs, parent index,
 *   times, service and name indexes, kind, status, a method flag): what a tree and a time axis
 *   need, nothing more. Read with a narrow SELECT (no attribute, event or link column is sent).
 * - `GET /api/traces/:traceId/spans/:spanId` — one span in full, when the user opens it.
 *
 * Both read through the caller's read scope: spans of services the caller may not read are
 * never returned; the skeleton says how many there were.
 *
 * ## Skeleton encoding (SkeletonResponse)
 * Arrays are parallel, one entry per span, in start order (ties by span ID):
 * - `parent[i]`: index of the parent span; `-1` for a root (no parent ID); `-2 - k` for an orphan
 *   whose parent ID `missingParentIds[k]` is not among the returned spans (never sent, or hidden).
 *   A span ID stored twice: later copies are kept as spans, children attach to the first.
 * - `start[i]`, `duration[i]`: integers in units of `unitNs` nanoseconds; `start` is relative to
 *   `startTimeUnixNano` (the earliest returned span's start, a decimal string: the one absolute
 *   time). `unitNs` is 1 unless a value would pass 2^53 (a trace wider than ~104 days, bad
 *   clocks): then the smallest power of 1000 that fits, starts floored and durations rounded up.
 * - `service[i]` / `name[i]`: indexes into `services` / `names`; `kind[i]` into `kinds`
 *   (OTLP order), `status[i]` into `statuses` (Unset, Ok, Error).
 * - `flags[i]`: bit 0 (1) = a method span (`code.function.name` or `code.function` present);
 *   bit 1 (2) = its end was sent before its start (duration 0).
 */

export interface SkeletonRouteDeps {
  reader: ClickHouseClient;
  database: string;
  store: TraceStore;
  readScopes: ReadScopes;
  /** The span table, unqualified; `otel_traces` when absent. */
  tracesTable?: string;
}

/**
 * Spans per skeleton, at most (413 beyond, counted before any span is read). Measured on the
 * 2-core dev machine (bench/trace-skeleton.ts): 10,000 spans answer in 50–60 ms with 517 KB of
 * JSON, 100,000 spans in 0.44–0.69 s with 5.3 MB (the full trace route: 4.3–4.5 s, 78 MB). At the
 * cap an answer is ~11 MB, built in memory on the event loop the receivers share: that bound,
 * not the browser (bench/dashboard-model.ts), sets the cap.
 */
export const MAX_SKELETON_SPANS = 200_000;

export const FLAG_METHOD = 1;
export const FLAG_END_BEFORE_START = 2;

export interface SkeletonResponse {
  traceId: string;
  /** The earliest returned span's start (clock-skew adjusted when asked), ns since the epoch. */
  startTimeUnixNano: string;
  /** Nanoseconds per unit of `start` and `duration` (1 unless the trace is absurdly wide). */
  unitNs: number;
  /** True when clock-skew offsets were applied (asked and some were stored). */
  adjusted: boolean;
  spanCount: number;
  /** Spans of the trace in services the caller's read rules hide (0 when unrestricted). */
  hiddenSpanCount: number;
  readRestricted: boolean;
  /** `flowtrace.correlation_id` of the trace's spans, '' when none. */
  correlationId: string;
  services: string[];
  names: string[];
  kinds: readonly string[];
  statuses: readonly string[];
  missingParentIds: string[];
  spanId: string[];
  parent: number[];
  start: number[];
  duration: number[];
  service: number[];
  name: number[];
  kind: number[];
  status: number[];
  flags: number[];
}

/** A trace with more spans than MAX_SKELETON_SPANS: 413. */
export class SkeletonTooLargeError extends Error {
  override name = 'SkeletonTooLargeError';
  readonly statusCode = 413;
  constructor(traceId: string, spans: number) {
    super(`trace ${traceId} has ${spans} spans; a skeleton holds at most ${MAX_SKELETON_SPANS} spans`);
  }
}

// Every 64-bit integer arrives as a string (no digit lost); the route converts.
const READ_SETTINGS = { output_format_json_quote_64bit_integers: 1 } as const;

const ints = (description: string) => ({ type: 'array', items: { type: 'integer' }, description }) as const;
const strings = (description: string) => ({ type: 'array', items: { type: 'string' }, description }) as const;

const skeletonSchema = {
  summary: "A trace's skeleton: every readable span as compact columns (for big-trace views)",
  description:
    'Parallel arrays in start order. parent: index, -1 root, -2-k orphan of missingParentIds[k]. start (relative to startTimeUnixNano) and duration in unitNs nanoseconds. flags: 1 method span, 2 end before start.',
  params: traceIdParams,
  querystring: { type: 'object', properties: { adjust: { type: 'string', description: '"clock-skew": apply the clock offsets the stitch processor measured' } } },
  response: {
    200: {
      type: 'object',
      properties: {
        traceId: { type: 'string' },
        startTimeUnixNano: { type: 'string', pattern: '^-?\\d+$', description: 'nanoseconds since the epoch, as a decimal string' },
        unitNs: { type: 'integer', description: 'nanoseconds per unit of start and duration (1 unless a value would pass 2^53)' },
        adjusted: { type: 'boolean' },
        spanCount: { type: 'integer' },
        hiddenSpanCount: { type: 'integer', description: "spans in services your read rules hide" },
        readRestricted: { type: 'boolean' },
        correlationId: { type: 'string' },
        services: strings('service names'),
        names: strings('span names'),
        kinds: strings('span kinds, OTLP order'),
        statuses: strings('status codes: Unset, Ok, Error'),
        missingParentIds: strings('parent span IDs not among the returned spans'),
        spanId: strings('span IDs'),
        parent: ints('parent index; -1 root; -2-k orphan of missingParentIds[k]'),
        start: ints('start relative to startTimeUnixNano, in unitNs'),
        duration: ints('duration, in unitNs'),
        service: ints('index into services'),
        name: ints('index into names'),
        kind: ints('index into kinds'),
        status: ints('index into statuses'),
        flags: ints('1 method span, 2 end sent before start'),
      },
    },
    ...readErrors,
    404: { ...errorSchema, description: 'no such trace (or none of its spans readable)' },
    413: { ...errorSchema, description: `more than ${MAX_SKELETON_SPANS} readable spans` },
  },
} as const;

const spanIdParams = {
  type: 'object',
  required: ['traceId', 'spanId'],
  properties: { ...traceIdParams.properties, spanId: { type: 'string', maxLength: 64, description: '16 hex digits' } },
} as const;

const spanSchema = {
  summary: 'One span in full: attributes with types, events, exceptions, links, resource, captured arguments and return value',
  params: spanIdParams,
  response: {
    200: {
      type: 'object',
      properties: {
        span: spanViewSchema,
        arguments: {
          type: 'array',
          description: 'flowtrace.args.<i> attributes in index order, as the agent rendered them',
          items: { type: 'object', additionalProperties: true, properties: { index: { type: 'integer' }, key: { type: 'string' }, value: {} } },
        },
        returnValue: { description: 'flowtrace.return, absent when not captured' },
        exceptions: {
          type: 'array',
          description: 'the span\'s "exception" events',
          items: {
            type: 'object',
            properties: { timeUnixNano: { type: 'string' }, type: { type: 'string' }, message: { type: 'string' }, stacktrace: { type: 'string' } },
          },
        },
      },
    },
    ...readErrors,
    404: { ...errorSchema, description: 'no such span (or not readable)' },
  },
} as const;

export function registerSkeletonRoutes(app: FastifyInstance, deps: SkeletonRouteDeps): void {
  const tracesTable = deps.tracesTable ?? 'otel_traces';
  // The trace-ID lookup table only narrows the scan of the span table, never answers (as in
  // read-scope.ts `traceTables`): read unfiltered, since no read rule can be enforced on it.
  const traceIds = `${quote(deps.database)}.${quote(tracesTable + TRACE_ID_SUFFIX)}`;

  app.get<{ Params: { traceId: string }; Querystring: { adjust?: unknown } }>('/api/traces/:traceId/skeleton', { schema: skeletonSchema }, async (req, reply) => {
    const traceId = parseTraceId(req.params.traceId);
    const adjust = single('adjust', req.query.adjust);
    if (adjust !== undefined && adjust !== 'clock-skew') throw new QueryParamError(`adjust: expected "clock-skew", got ${JSON.stringify(adjust)}`);
    const reads = await readsOf(deps, req);
    const restricted = !unrestricted(req.principal.rules);
    const skeleton = await readSkeleton(deps.reader, {
      traceId,
      traces: reads.table(tracesTable),
      traceIds,
      // Counted (never read) to say how many spans the rules hide.
      allTraces: restricted ? `${quote(deps.database)}.${quote(tracesTable)}` : undefined,
      clockSkew: adjust ? stitchTable(deps.database, STITCH_TABLES.clockSkew) : undefined,
    });
    if (!skeleton) return reply.code(404).send({ error: `trace ${traceId} not found` });
    return skeleton;
  });

  app.get<{ Params: { traceId: string; spanId: string } }>('/api/traces/:traceId/spans/:spanId', { schema: spanSchema }, async (req, reply) => {
    const traceId = parseTraceId(req.params.traceId);
    const spanId = parseSpanId(req.params.spanId);
    const reads = await readsOf(deps, req);
    const span = await readSpan(deps.reader, reads.table(tracesTable), traceIds, traceId, spanId);
    if (!span) return reply.code(404).send({ error: `span ${spanId} of trace ${traceId} not found` });
    return spanDetails(span);
  });
}

export function parseSpanId(value: string): string {
  const id = value.toLowerCase();
  if (/^[0-9a-f]{16}$/.test(id)) return id;
  throw new QueryParamError(`span ID: expected 16 hex digits, got ${JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value)}`);
}

export interface SkeletonSource {
  traceId: string;
  /** The span table as the caller reads it (qualified, maybe a filtered view). */
  traces: string;
  /** The trace-ID → time-range lookup table (qualified). */
  traceIds: string;
  /** The unfiltered span table, for a restricted caller: only counted. */
  allTraces?: string;
  /** The clock-skew table, when offsets are to be applied. */
  clockSkew?: string;
}

/**
 * The narrow SELECT's result as columns (JSONColumnsWithMetadata: one JSON document of arrays,
 * parsed in one go instead of one parse per row). 64-bit integers arrive as strings.
 */
export interface SkeletonColumns {
  id: string[];
  parentId: string[];
  /** Start relative to the lookup table's start of the trace, ns. */
  rel: string[];
  dur: string[];
  svc: string[];
  nm: string[];
  kd: string[];
  st: string[];
  method: number[];
  ebs: number[];
}

/** The skeleton of one trace, or undefined when none of its spans is readable. */
export async function readSkeleton(client: ClickHouseClient, source: SkeletonSource): Promise<SkeletonResponse | undefined> {
  const query = async <T>(sql: string, params: Record<string, unknown>) =>
    (await client.query({ query: sql, query_params: params, format: 'JSONEachRow', clickhouse_settings: READ_SETTINGS })).json<T>();
  const { traceId } = source;
  // The lookup table narrows every scan of the span table to the trace's own time range.
  const [bounds] = await query<{ start: string; end: string; base: string; n: string }>(
    `SELECT toString(${LOOKUP_START}) AS start, toString(${LOOKUP_END}) AS end, toString(toUnixTimestamp64Nano(${LOOKUP_START})) AS base, count() AS n
     FROM ${source.traceIds} WHERE TraceId = {id:String}`,
    { id: traceId },
  );
  if (!bounds || bounds.n === '0') return undefined;
  const inTrace = 'TraceId = {id:String} AND Timestamp >= {start:DateTime64(9)} AND Timestamp <= {end:DateTime64(9)}';
  const params = { id: traceId, start: bounds.start, end: bounds.end, base: bounds.base };
  const count = async (table: string) => Number((await query<{ n: string }>(`SELECT count() AS n FROM ${table} WHERE ${inTrace}`, params))[0]?.n ?? 0);
  // Counted first (TraceId and Timestamp only), so an oversized trace is refused before it is read.
  const [visible, total, correlation] = await Promise.all([
    count(source.traces),
    source.allTraces ? count(source.allTraces) : undefined,
    query<{ c: string }>(
      `SELECT ${activeHotColumns().column(CORRELATION_ATTRIBUTE) ?? 'SpanAttributes[{key:String}]'} AS c FROM ${source.traces} WHERE ${inTrace} AND c != '' LIMIT 1`,
      { ...params, key: CORRELATION_ATTRIBUTE },
    ),
  ]);
  if (visible === 0) return undefined;
  if (visible > MAX_SKELETON_SPANS) throw new SkeletonTooLargeError(traceId, visible);
  const result = await client.query({
    query: `SELECT SpanId AS id, ParentSpanId AS parentId, toString(toUnixTimestamp64Nano(Timestamp) - {base:Int64}) AS rel, toString(Duration) AS dur,
              ServiceName AS svc, SpanName AS nm, toString(SpanKind) AS kd, toString(StatusCode) AS st,
              mapContains(SpanAttributes, 'code.function.name') OR mapContains(SpanAttributes, 'code.function') AS method, EndBeforeStart AS ebs
            FROM ${source.traces} WHERE ${inTrace}
            ORDER BY Timestamp, SpanId
            LIMIT ${MAX_SKELETON_SPANS}`,
    query_params: params,
    format: 'JSONColumnsWithMetadata',
    clickhouse_settings: READ_SETTINGS,
  });
  // The client types this format's document as rows; it is `{ meta, data: { column: values[] } }`.
  const columns = ((await result.json()) as unknown as { data?: SkeletonColumns }).data;
  if (!columns || !Array.isArray(columns.id) || columns.id.length === 0) return undefined;
  const offsets = source.clockSkew ? await skewOffsets(client, source.clockSkew, traceId, columns) : undefined;
  return encode(traceId, BigInt(bounds.base), columns, offsets, total === undefined ? 0 : Math.max(0, total - visible), source.allTraces !== undefined, correlation[0]?.c ?? '');
}

/** Stored clock-skew offsets, propagated to same-service descendants (among the rows read). */
async function skewOffsets(client: ClickHouseClient, table: string, traceId: string, c: SkeletonColumns): Promise<Map<string, bigint> | undefined> {
  let stored: Array<{ spanId: string; offsetNs: string }>;
  try {
    const result = await client.query({
      query: `SELECT SpanId AS spanId, toString(any(OffsetNs)) AS offsetNs FROM ${table} WHERE TraceId = {id:String} GROUP BY SpanId`,
      query_params: { id: traceId },
      format: 'JSONEachRow',
    });
    stored = await result.json();
  } catch (err) {
    // Before the stitch processor ever ran there is no table, and nothing to apply.
    const type = (err as { type?: unknown }).type;
    if (type === 'UNKNOWN_TABLE' || type === 'UNKNOWN_DATABASE') return undefined;
    throw err;
  }
  if (stored.length === 0) return undefined;
  const nodes = c.id.map((spanId, i) => ({ spanId, parentSpanId: c.parentId[i]!, service: c.svc[i]! }));
  const offsets = propagateOffsets(nodes, new Map(stored.map((s) => [s.spanId, BigInt(s.offsetNs)])));
  return offsets.size > 0 ? offsets : undefined;
}

function encode(
  traceId: string,
  baseNs: bigint,
  c: SkeletonColumns,
  offsets: ReadonlyMap<string, bigint> | undefined,
  hiddenSpanCount: number,
  readRestricted: boolean,
  correlationId: string,
): SkeletonResponse {
  const n = c.id.length;
  const services = new Interner();
  const names = new Interner();
  const kindIndex = new Map<string, number>(SPAN_KIND_NAMES.map((k, i) => [k, i]));
  const statusIndex = new Map<string, number>(STATUS_CODE_NAMES.map((s, i) => [s, i]));
  const indexOf = new Map<string, number>();
  for (let i = 0; i < n; i++) if (!indexOf.has(c.id[i]!)) indexOf.set(c.id[i]!, i);

  // Times relative to the lookup table's start, as exact integers first: numbers when every one is
  // a safe integer (always, in practice), BigInt otherwise.
  const relStart = new Array<number>(n);
  const duration = new Array<number>(n);
  let exact = true;
  for (let i = 0; i < n; i++) {
    const offset = offsets?.get(c.id[i]!);
    const s = offset === undefined ? Number(c.rel[i]) : Number(BigInt(c.rel[i]!) + offset);
    relStart[i] = s;
    duration[i] = Number(c.dur[i]);
    if (!Number.isSafeInteger(s) || !Number.isSafeInteger(duration[i])) exact = false;
  }
  let startNs: bigint;
  let start: number[];
  let unitNs = 1;
  if (exact) {
    let min = Infinity;
    for (let i = 0; i < n; i++) if (relStart[i]! < min) min = relStart[i]!;
    startNs = baseNs + BigInt(min);
    start = relStart.map((s) => s - min);
    exact = start.every((s) => Number.isSafeInteger(s));
  } else {
    start = [];
    startNs = 0n;
  }
  if (!exact) {
    // Bad clocks: values past 2^53 ns. Exact BigInt arithmetic, then the coarsest unit needed.
    const abs = c.rel.map((rel, i) => BigInt(rel) + (offsets?.get(c.id[i]!) ?? 0n));
    const min = abs.reduce((a, b) => (b < a ? b : a));
    const durations = c.dur.map((d) => BigInt(d));
    const max = [...abs.map((a) => a - min), ...durations].reduce((a, b) => (b > a ? b : a));
    let unit = 1n;
    while (max / unit > BigInt(Number.MAX_SAFE_INTEGER)) unit *= 1000n;
    unitNs = Number(unit);
    startNs = baseNs + min;
    start = abs.map((a) => Number((a - min) / unit));
    for (let i = 0; i < n; i++) duration[i] = Number((durations[i]! + unit - 1n) / unit);
  }

  const missing = new Interner();
  const out: SkeletonResponse = {
    traceId,
    startTimeUnixNano: startNs.toString(),
    unitNs,
    adjusted: offsets !== undefined,
    spanCount: n,
    hiddenSpanCount,
    readRestricted,
    correlationId,
    services: services.values,
    names: names.values,
    kinds: SPAN_KIND_NAMES,
    statuses: STATUS_CODE_NAMES,
    missingParentIds: missing.values,
    spanId: new Array<string>(n),
    parent: new Array<number>(n),
    start,
    duration,
    service: new Array<number>(n),
    name: new Array<number>(n),
    kind: new Array<number>(n),
    status: new Array<number>(n),
    flags: new Array<number>(n),
  };
  for (let i = 0; i < n; i++) {
    const spanId = c.id[i]!;
    const parentId = c.parentId[i]!;
    out.spanId[i] = spanId;
    const p = parentId === '' ? -1 : indexOf.get(parentId);
    out.parent[i] = p === undefined || p === i ? -2 - missing.of(parentId) : p;
    out.service[i] = services.of(c.svc[i]!);
    out.name[i] = names.of(c.nm[i]!);
    out.kind[i] = kindIndex.get(c.kd[i]!) ?? 0;
    out.status[i] = statusIndex.get(c.st[i]!) ?? 0;
    out.flags[i] = (Number(c.method[i]) ? FLAG_METHOD : 0) | (Number(c.ebs[i]) ? FLAG_END_BEFORE_START : 0);
  }
  return out;
}

/** A string table: each distinct value once, referred to by index. */
class Interner {
  readonly values: string[] = [];
  private readonly index = new Map<string, number>();
  of(value: string): number {
    let i = this.index.get(value);
    if (i === undefined) {
      i = this.values.length;
      this.values.push(value);
      this.index.set(value, i);
    }
    return i;
  }
}

async function readSpan(client: ClickHouseClient, traces: string, traceIds: string, traceId: string, spanId: string): Promise<SpanView | undefined> {
  const rows = async <T>(sql: string, params: Record<string, unknown>) =>
    (await client.query({ query: sql, query_params: params, format: 'JSONEachRow', clickhouse_settings: READ_SETTINGS })).json<T>();
  const [bounds] = await rows<{ start: string; end: string; n: string }>(
    `SELECT toString(${LOOKUP_START}) AS start, toString(${LOOKUP_END}) AS end, count() AS n FROM ${traceIds} WHERE TraceId = {id:String}`,
    { id: traceId },
  );
  if (!bounds || bounds.n === '0') return undefined;
  const [row] = await rows<SpanRow>(
    `SELECT ${SPAN_COLUMNS} FROM ${traces}
     WHERE TraceId = {id:String} AND SpanId = {span:String} AND Timestamp >= {start:DateTime64(9)} AND Timestamp <= {end:DateTime64(9)}
     ORDER BY Timestamp LIMIT 1`,
    { id: traceId, span: spanId, start: bounds.start, end: bounds.end },
  );
  return row ? spanView(row) : undefined;
}

export interface SpanDetails {
  span: SpanView;
  arguments: Array<{ index: number; key: string; value: unknown }>;
  returnValue?: unknown;
  exceptions: Array<{ timeUnixNano: string; type: string; message: string; stacktrace: string }>;
}

const ARG_KEY = /^flowtrace\.args\.(\d+)$/;

/** The span plus what the agent contract puts in attributes and events, picked out for display. */
export function spanDetails(span: SpanView): SpanDetails {
  const args: SpanDetails['arguments'] = [];
  for (const [key, value] of Object.entries(span.attributes)) {
    const m = ARG_KEY.exec(key);
    if (m) args.push({ index: Number(m[1]), key, value });
  }
  args.sort((a, b) => a.index - b.index);
  const text = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v));
  const exceptions = span.events
    .filter((e) => e.name === 'exception')
    .map((e) => ({
      timeUnixNano: e.timeUnixNano,
      type: text(e.attributes['exception.type']),
      message: text(e.attributes['exception.message']),
      stacktrace: text(e.attributes['exception.stacktrace']),
    }));
  const details: SpanDetails = { span, arguments: args, exceptions };
  if (Object.hasOwn(span.attributes, 'flowtrace.return')) details.returnValue = span.attributes['flowtrace.return'];
  return details;
}

function quote(identifier: string): string {
  return `\`${identifier.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}
