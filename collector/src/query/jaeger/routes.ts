/**
 * Jaeger's query HTTP API under `/jaeger/api/…`, in Jaeger's JSON (`{data, total, limit, offset,
 * errors}`), so that Grafana's Jaeger data source and Jaeger-UI-style clients can point at
 * `http://host:8686/jaeger`. See README.md beside this file for the endpoints and where the
 * answers differ from Jaeger's own.
 *
 * Same authentication as every route (registered after the auth hook) and the same read
 * rules: every read goes through the principal's tables (read-scope.ts), so a token limited
 * to one service sees that service only, in services, operations, traces and dependencies.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import '../../auth/request-principal.js';
import { STITCH_TABLES } from '../../processors/stitch/tables.js';
import { QueryParamError, parseTraceId } from '../params.js';
import { authErrors, queryText, traceIdParams } from '../route-schemas.js';
import type { ReadScopes } from '../read-scope.js';
import { readsOf } from '../stitch-routes.js';
import type { TraceStore } from '../trace-store.js';
import { skewOffsets } from './clock-skew.js';
import { jaegerSpanKind, toJaegerTrace, type JaegerTrace } from './model.js';
import { parseDependencies, parseOperations, parseRaw, parseSearch, SPAN_KINDS } from './params.js';
import { JaegerReads } from './reads.js';
import type { SpanRow } from '../span-view.js';

export const JAEGER_PREFIX = '/jaeger/api';
/** Spans per response, all traces together: a bound on memory, not a page size. */
export const MAX_RESPONSE_SPANS = 100_000;
const MAX_DEPENDENCIES = 10_000;
const NS_PER_SECOND = 1_000_000_000n;
const MAX_UINT32 = 0xffff_ffffn;

export interface JaegerRouteDeps {
  reader: ClickHouseClient;
  /** Where the collector's tables are: the stitch processor's clock-skew offsets are read there. */
  database: string;
  store: TraceStore;
  readScopes: ReadScopes;
}

interface JaegerError {
  /** Absent for a trace not found in a search by IDs, as Jaeger writes it. */
  code?: number;
  msg: string;
  traceID?: string;
}

/** Jaeger's envelope (`structuredResponse`). */
interface JaegerResponse<T> {
  data: T;
  total: number;
  limit: number;
  offset: number;
  errors: JaegerError[] | null;
}

function respond<T>(data: T, total = 0, errors: JaegerError[] | null = null): JaegerResponse<T> {
  return { data, total, limit: 0, offset: 0, errors };
}

export function registerJaegerRoutes(app: FastifyInstance, deps: JaegerRouteDeps): void {
  void app.register(
    async (jaeger) => {
      // Errors in Jaeger's envelope, so its clients show the message.
      jaeger.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
        const status = err instanceof QueryParamError ? 400 : err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
        if (status === 500) req.log.error({ err }, 'Jaeger API request failed');
        return reply.code(status).send(respond(null, 0, [{ code: status, msg: status === 500 ? `internal error (request ${req.id}): the collector's log has the details` : err.message }]));
      });

      jaeger.get('/services', { schema: servicesSchema }, async (req) => {
        const services = await (await readsOf(deps, req)).store.services();
        return respond(services, services.length);
      });

      jaeger.get<{ Params: { service: string } }>('/services/:service/operations', { schema: legacyOperationsSchema }, async (req) => {
        const operations = await (await readsOf(deps, req)).store.operations(req.params.service);
        const names = [...new Set(operations.map((o) => o.name))];
        return respond(names, names.length);
      });

      jaeger.get<{ Querystring: Record<string, unknown> }>('/operations', { schema: operationsSchema }, async (req) => {
        const { service, spanKind } = parseOperations(req.query);
        const operations = (await (await readsOf(deps, req)).store.operations(service))
          .map((o) => ({ name: o.name, spanKind: jaegerSpanKind(o.spanKind) }))
          .filter((o) => spanKind === undefined || o.spanKind === spanKind);
        return respond(operations, operations.length);
      });

      jaeger.get<{ Params: { traceId: string }; Querystring: Record<string, unknown> }>('/traces/:traceId', { schema: traceSchema }, async (req, reply) => {
        const traceId = parseTraceId(req.params.traceId);
        const raw = parseRaw(req.query.raw);
        const [found] = await (await jaegerReads(deps, req)).traces([traceId], MAX_RESPONSE_SPANS);
        if (!found) return reply.code(404).send(respond(null, 0, [{ code: 404, msg: 'trace not found' }]));
        const [trace] = await jaegerTraces(deps, [found], raw);
        return respond([withTruncation(trace!, found.rows.length)]);
      });

      jaeger.get<{ Querystring: Record<string, unknown> }>('/traces', { schema: searchSchema }, async (req) => {
        const search = parseSearch(req.query);
        const reads = await jaegerReads(deps, req);
        if (search.traceIds.length > 0) {
          const found = await reads.traces(search.traceIds, MAX_RESPONSE_SPANS);
          const have = new Set(found.map((t) => t.traceId));
          const missing = search.traceIds.filter((id) => !have.has(id)).map((id) => ({ msg: 'trace not found', traceID: id }));
          return respond(await jaegerTraces(deps, found, search.raw), 0, missing.length > 0 ? missing : null);
        }
        const ids = await reads.search(search);
        const found = await reads.traces(ids, MAX_RESPONSE_SPANS);
        return respond(await jaegerTraces(deps, found, search.raw));
      });

      jaeger.get<{ Querystring: Record<string, unknown> }>('/dependencies', { schema: dependenciesSchema }, async (req) => {
        const q = parseDependencies(req.query);
        const links = await dependencies(deps.reader, (await readsOf(deps, req)).table(STITCH_TABLES.serviceGraph), q);
        return respond(links);
      });
    },
    { prefix: JAEGER_PREFIX },
  );
}

/**
 * Stored rows as Jaeger traces: unless `raw`, with the clock-skew offsets the stitch processor
 * measured applied (and Jaeger's adjuster warnings), as Jaeger's query service adjusts them.
 */
async function jaegerTraces(deps: JaegerRouteDeps, found: ReadonlyArray<{ rows: SpanRow[] }>, raw: boolean): Promise<JaegerTrace[]> {
  const offsets = raw ? undefined : await skewOffsets(deps.reader, deps.database, found.flatMap((t) => t.rows));
  return found.map((t) => toJaegerTrace(t.rows, { raw, offsets }));
}

/** The reads of the request's principal over its own (filtered when restricted) span tables. */
async function jaegerReads(deps: JaegerRouteDeps, req: FastifyRequest): Promise<JaegerReads> {
  const scope = await deps.readScopes.forRules(req.principal.rules);
  return new JaegerReads(deps.reader, scope.traceTables);
}

function withTruncation(trace: JaegerTrace, rows: number): JaegerTrace {
  return rows >= MAX_RESPONSE_SPANS ? { ...trace, warnings: [`only the first ${MAX_RESPONSE_SPANS} spans are shown`] } : trace;
}

export interface DependencyLink {
  parent: string;
  child: string;
  callCount: number;
}

/**
 * Calls between services from the stitch processor's service graph (client or producer span in
 * one service, server or consumer span in another), summed over the minutes the window touches.
 * Before the processor ever ran (no table) there are none.
 */
async function dependencies(
  reader: ClickHouseClient,
  table: string,
  q: { startNs: bigint; endNs: bigint; service?: string },
): Promise<DependencyLink[]> {
  const where = ["Minute >= toDateTime({from:UInt32}, 'UTC')", "Minute <= toDateTime({to:UInt32}, 'UTC')"];
  const params: Record<string, unknown> = {
    from: clampSeconds((q.startNs / NS_PER_SECOND / 60n) * 60n),
    to: clampSeconds(q.endNs / NS_PER_SECOND),
    limit: MAX_DEPENDENCIES,
  };
  if (q.service) {
    where.push('(Caller = {service:String} OR Callee = {service:String})');
    params.service = q.service;
  }
  try {
    const result = await reader.query({
      query: `SELECT Caller AS parent, Callee AS child, toString(sum(Calls)) AS callCount FROM ${table}
              WHERE ${where.join(' AND ')} GROUP BY Caller, Callee ORDER BY Caller, Callee LIMIT {limit:UInt32}`,
      query_params: params,
      format: 'JSONEachRow',
    });
    return (await result.json<{ parent: string; child: string; callCount: string }>()).map((r) => ({ ...r, callCount: Number(r.callCount) }));
  } catch (err) {
    const type = (err as { type?: unknown }).type;
    if (type === 'UNKNOWN_TABLE' || type === 'UNKNOWN_DATABASE') return [];
    throw err;
  }
}

function clampSeconds(seconds: bigint): number {
  return Number(seconds < 0n ? 0n : seconds > MAX_UINT32 ? MAX_UINT32 : seconds);
}

// ── schemas: request and response of every route, for validation and the OpenAPI document ──

const rawParam = queryText("true (Go's strconv.ParseBool: 1, t, true…) answers stored times: no clock-skew adjustment, no adjuster warnings");
const repeatable = (description: string) => ({ anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, maxItems: 1000 }], description }) as const;
const nullable = <T extends object>(schema: T) => ({ anyOf: [schema, { type: 'null' }] }) as const;

/** Jaeger's typed tag: `value` is a string, number or boolean as `type` says (int64 beyond 2^53 as a decimal string). */
const keyValueSchema = {
  type: 'object',
  required: ['key', 'type', 'value'],
  properties: { key: { type: 'string' }, type: { type: 'string', enum: ['string', 'bool', 'int64', 'float64', 'binary'] }, value: {} },
} as const;
const warningsSchema = nullable({ type: 'array', items: { type: 'string' } });

const jaegerSpanSchema = {
  type: 'object',
  required: ['traceID', 'spanID', 'operationName', 'references', 'startTime', 'duration', 'tags', 'logs', 'processID', 'warnings'],
  properties: {
    traceID: { type: 'string' },
    spanID: { type: 'string' },
    operationName: { type: 'string' },
    references: {
      type: 'array',
      items: { type: 'object', required: ['refType', 'traceID', 'spanID'], properties: { refType: { type: 'string', enum: ['CHILD_OF', 'FOLLOWS_FROM'] }, traceID: { type: 'string' }, spanID: { type: 'string' } } },
    },
    startTime: { type: 'integer', description: 'microseconds since the epoch (clock-skew adjusted unless raw=true)' },
    duration: { type: 'integer', description: 'microseconds' },
    tags: { type: 'array', items: keyValueSchema },
    logs: { type: 'array', items: { type: 'object', required: ['timestamp', 'fields'], properties: { timestamp: { type: 'integer' }, fields: { type: 'array', items: keyValueSchema } } } },
    processID: { type: 'string' },
    warnings: warningsSchema,
  },
} as const;

export const jaegerTraceSchema = {
  type: 'object',
  required: ['traceID', 'spans', 'processes', 'warnings'],
  properties: {
    traceID: { type: 'string' },
    spans: { type: 'array', items: jaegerSpanSchema },
    processes: {
      type: 'object',
      description: 'process ID (p1, p2…) → process',
      additionalProperties: { type: 'object', required: ['serviceName', 'tags'], properties: { serviceName: { type: 'string' }, tags: { type: 'array', items: keyValueSchema } } },
    },
    warnings: warningsSchema,
  },
} as const;

const jaegerErrorSchema = {
  type: 'object',
  required: ['msg'],
  properties: { code: { type: 'integer' }, msg: { type: 'string' }, traceID: { type: 'string', description: 'the trace a search by IDs did not find' } },
} as const;

/** Jaeger's envelope around `data`. */
const envelope = (data: object, description: string) =>
  ({
    type: 'object',
    required: ['data', 'total', 'limit', 'offset', 'errors'],
    description,
    properties: { data, total: { type: 'integer' }, limit: { type: 'integer' }, offset: { type: 'integer' }, errors: nullable({ type: 'array', items: jaegerErrorSchema }) },
  }) as const;

const errorEnvelope = envelope({ type: 'null' }, "Jaeger's error envelope: data null, errors [{code, msg}]");
/** 401 and a missing scope come from the API's authentication, before the route: FlowTrace's `{error}`. */
const errorResponses = {
  400: errorEnvelope,
  401: authErrors[401],
  403: { anyOf: [errorEnvelope, authErrors[403]], description: "the token lacks the read scope ({error}), or its read rules cannot be enforced on a table (Jaeger's envelope)" },
} as const;
const names = { type: 'array', items: { type: 'string' } } as const;

const servicesSchema = {
  summary: "Jaeger API: service names (the caller's readable services)",
  tags: ['jaeger'],
  response: { 200: envelope(names, 'service names'), ...errorResponses },
} as const;

const legacyOperationsSchema = {
  summary: 'Jaeger API: operation names of a service',
  tags: ['jaeger'],
  params: { type: 'object', required: ['service'], properties: { service: { type: 'string' } } },
  response: { 200: envelope(names, 'operation names'), ...errorResponses },
} as const;

const operationsSchema = {
  summary: 'Jaeger API: operations of a service with their span kind',
  tags: ['jaeger'],
  querystring: {
    type: 'object',
    properties: { service: queryText('the service (required)'), spanKind: queryText(`only this kind: ${SPAN_KINDS.join(', ')}`) },
  },
  response: {
    200: envelope({ type: 'array', items: { type: 'object', required: ['name', 'spanKind'], properties: { name: { type: 'string' }, spanKind: { type: 'string', description: "'' for unspecified" } } } }, 'operations'),
    ...errorResponses,
  },
} as const;

const traceSchema = {
  summary: 'Jaeger API: one trace, clock-skew adjusted unless raw=true',
  tags: ['jaeger'],
  params: traceIdParams,
  querystring: { type: 'object', properties: { raw: rawParam } },
  response: { 200: envelope({ type: 'array', items: jaegerTraceSchema, maxItems: 1 }, 'the trace'), 404: errorEnvelope, ...errorResponses },
} as const;

const searchSchema = {
  summary: 'Jaeger API: traces with a span matching every condition, newest first',
  tags: ['jaeger'],
  querystring: {
    type: 'object',
    properties: {
      service: queryText('the service (required unless traceID is given)'),
      operation: queryText('span name'),
      tags: queryText('JSON map {"k":"v"} or logfmt k=v k2="v 2"; each must hold on the same span'),
      tag: repeatable('k:v, repeatable'),
      minDuration: queryText('e.g. 100ms, 1.2s'),
      maxDuration: queryText('e.g. 1h30m'),
      start: queryText('microseconds since the epoch'),
      end: queryText('microseconds since the epoch (default now)'),
      lookback: queryText('a duration before end (default 48h); custom is ignored'),
      limit: queryText('traces, 1 to 1000 (default 100)'),
      traceID: repeatable('these traces instead of a search, repeatable'),
      raw: rawParam,
    },
  },
  response: { 200: envelope({ type: 'array', items: jaegerTraceSchema }, 'traces; errors lists trace IDs not found'), ...errorResponses },
} as const;

const dependenciesSchema = {
  summary: 'Jaeger API: calls between services from the service graph',
  tags: ['jaeger'],
  querystring: {
    type: 'object',
    properties: { endTs: queryText('milliseconds since the epoch (default now)'), lookback: queryText('milliseconds (default 1 day)'), service: queryText('only links from or to this service') },
  },
  response: {
    200: envelope(
      { type: 'array', items: { type: 'object', required: ['parent', 'child', 'callCount'], properties: { parent: { type: 'string' }, child: { type: 'string' }, callCount: { type: 'integer' } } } },
      'dependency links',
    ),
    ...errorResponses,
  },
} as const;
