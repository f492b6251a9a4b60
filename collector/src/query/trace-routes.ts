import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyInstance } from 'fastify';
import '../auth/request-principal.js';
import type { CollectorMetrics } from '../telemetry.js';
import { QueryParamError, parseDuration, parseLimit, parseTags, parseText, parseTraceId, parseWindow, single } from './params.js';
import type { ReadScopes } from './read-scope.js';
import { authErrors, documentOnly, errorSchema, openObject, queryText, readErrors, spanViewSchema, traceIdParams, traceSummarySchema } from './route-schemas.js';
import { SqlBusyError, type UserSql } from './sql/user-sql.js';
import { adjustClockSkew, readsOf } from './stitch-routes.js';
import type { TraceStore } from './trace-store.js';

/**
 * The query API's core routes: health and metrics, one trace, trace search, services and
 * operations, and read-only SQL. Reads go through the caller's read scope (`readsOf`); SQL
 * through UserSql, which applies the same rules inside the statement.
 */
export interface TraceRouteDeps {
  store: TraceStore;
  reader: ClickHouseClient;
  database: string;
  userSql: UserSql;
  readScopes: ReadScopes;
  metrics: CollectorMetrics;
  /** True once storage is migrated and the receivers listen. */
  isReady(): boolean;
}

const DEFAULT_LOOKBACK_NS = 24n * 3_600_000_000_000n;
const MAX_TRACES = 1000;

const statusSchema = (value: string) => ({ type: 'object', properties: { status: { type: 'string', enum: [value] } } }) as const;

const windowQuery = {
  start: queryText('window start: microseconds since the epoch or ISO-8601'),
  end: queryText('window end (default now): microseconds since the epoch or ISO-8601'),
  lookback: queryText('window length before end when start is absent, e.g. 15m (default 24h)'),
} as const;

const schemas = {
  healthz: { summary: 'Liveness: the process answers', security: [], response: { 200: statusSchema('ok') } },
  readyz: {
    summary: 'Readiness: storage migrated and receivers listening',
    security: [],
    response: { 200: statusSchema('ready'), 503: { ...statusSchema('starting'), description: 'still starting' } },
  },
  metrics: {
    summary: "The collector's own Prometheus metrics",
    response: {
      200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } },
      ...authErrors,
    },
  },
  trace: {
    summary: 'Every span of one trace (the ones your read rules let you see)',
    params: traceIdParams,
    querystring: { type: 'object', properties: { adjust: queryText('"clock-skew": apply the clock offsets the stitch processor measured (stored times are never changed)') } },
    response: {
      200: { type: 'object', properties: { traceId: { type: 'string' }, spans: { type: 'array', items: spanViewSchema } } },
      ...readErrors,
      404: { ...errorSchema, description: 'no such trace (or none of its spans readable)' },
    },
  },
  traces: {
    summary: 'Search traces by service, operation, tags and duration in a time window, newest first',
    querystring: {
      type: 'object',
      properties: {
        service: queryText('a span of this service'),
        operation: queryText('a span of this name'),
        tags: queryText('span or resource attributes: JSON {"k":"v"} or logfmt k=v k2="v 2" (at most 50)'),
        minDuration: queryText('a span at least this long, e.g. 250ms'),
        maxDuration: queryText('a span at most this long, e.g. 2s'),
        errorsOnly: queryText('true or 1: the matching span has status Error (default false)'),
        ...windowQuery,
        limit: queryText(`traces returned (default 20, at most ${MAX_TRACES})`),
      },
    },
    response: { 200: { type: 'object', properties: { traces: { type: 'array', items: traceSummarySchema } } }, ...readErrors },
  },
  services: {
    summary: 'Services that sent spans',
    response: { 200: { type: 'object', properties: { services: { type: 'array', items: { type: 'string' } } } }, ...readErrors },
  },
  operations: {
    summary: 'Span names (with their span kind) of one service',
    params: { type: 'object', required: ['service'], properties: { service: { type: 'string', description: 'service name' } } },
    response: {
      200: {
        type: 'object',
        properties: {
          operations: {
            type: 'array',
            items: { type: 'object', properties: { name: { type: 'string', description: 'span name' }, spanKind: { type: 'string', description: 'Server, Client, Internal, Producer, Consumer or Unspecified' } } },
          },
        },
      },
      ...readErrors,
    },
  },
  sql: {
    summary: 'Run a read-only SQL statement over the span tables (your read rules apply inside it)',
    description: 'Needs the sql scope. One SELECT (or WITH … SELECT); rows, bytes and time are limited (api.sql).',
    body: { type: 'object', required: ['query'], properties: { query: { type: 'string', description: 'one SELECT statement' } } },
    response: {
      200: {
        type: 'object',
        properties: {
          columns: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, type: { type: 'string', description: 'ClickHouse type' } } } },
          rows: { type: 'array', items: openObject('one row: column name → value as ClickHouse gives it in JSON (64-bit integers as strings)') },
          rowCount: { type: 'integer' },
          truncated: { type: 'boolean', description: 'more rows or bytes than the limits: only the first are returned' },
          elapsedMs: { type: 'number' },
        },
      },
      ...readErrors,
      429: { ...errorSchema, description: 'too many SQL statements running; see retry-after' },
    },
  },
} as const;

/** Liveness, readiness and the Prometheus metrics: on the API port of every role. */
export function registerHealthRoutes(app: FastifyInstance, deps: Pick<TraceRouteDeps, 'isReady' | 'metrics'>): void {
  app.get('/healthz', { schema: schemas.healthz }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: schemas.readyz }, async (_req, reply) => (deps.isReady() ? { status: 'ready' } : reply.code(503).send({ status: 'starting' })));
  app.get('/metrics', { schema: schemas.metrics }, async (_req, reply) => reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()));
}

export function registerTraceRoutes(app: FastifyInstance, deps: TraceRouteDeps): void {

  app.get<{ Params: { traceId: string }; Querystring: { adjust?: unknown } }>('/api/traces/:traceId', { schema: schemas.trace }, async (req, reply) => {
    const traceId = parseTraceId(req.params.traceId);
    const adjust = single('adjust', req.query.adjust);
    if (adjust !== undefined && adjust !== 'clock-skew') throw new QueryParamError(`adjust: expected "clock-skew", got ${JSON.stringify(adjust)}`);
    const { store } = await readsOf(deps, req);
    const spans = await store.getTrace(traceId);
    if (!spans) return reply.code(404).send({ error: `trace ${traceId} not found` });
    // Stored times are never rewritten: the skew the stitch processor measured is applied on the way out.
    return { traceId, spans: adjust ? await adjustClockSkew(deps.reader, deps.database, spans) : spans };
  });

  app.get<{ Querystring: Record<string, unknown> }>('/api/traces', { schema: schemas.traces }, async (req) => {
    const q = req.query;
    const { startNs, endNs } = parseWindow(q, DEFAULT_LOOKBACK_NS);
    const minDuration = single('minDuration', q.minDuration);
    const maxDuration = single('maxDuration', q.maxDuration);
    const { store } = await readsOf(deps, req);
    const traces = await store.searchTraces({
      service: parseText('service', q.service) || undefined,
      operation: parseText('operation', q.operation) || undefined,
      tags: parseTags(q.tags),
      minDurationNs: minDuration ? parseDuration('minDuration', minDuration) : undefined,
      maxDurationNs: maxDuration ? parseDuration('maxDuration', maxDuration) : undefined,
      errorsOnly: parseErrorsOnly(q.errorsOnly),
      startNs,
      endNs,
      limit: parseLimit(q.limit, 20, MAX_TRACES),
    });
    return { traces };
  });

  app.get('/api/services', { schema: schemas.services }, async (req) => ({ services: await (await readsOf(deps, req)).store.services() }));
  app.get<{ Params: { service: string } }>('/api/services/:service/operations', { schema: schemas.operations }, async (req) => ({
    operations: await (await readsOf(deps, req)).store.operations(req.params.service),
  }));

  // The body is checked here (documentOnly): coercion would turn {"query": 1} into the statement "1".
  app.post<{ Body: unknown }>('/api/sql', { schema: schemas.sql, validatorCompiler: documentOnly }, async (req, reply) => {
    const body = req.body as { query?: unknown } | undefined;
    if (!body || typeof body !== 'object' || typeof body.query !== 'string') {
      throw new QueryParamError('body: expected JSON {"query": "SELECT ..."}');
    }
    const result = await deps.userSql.run(body.query, req.principal).catch((err: unknown) => {
      if (err instanceof SqlBusyError) void reply.header('retry-after', String(err.retryAfterSeconds));
      throw err;
    });
    req.auditRows = result.rowCount;
    return result;
  });
}

/** `errorsOnly`: true/1 or false/0 (absent: false). */
function parseErrorsOnly(value: unknown): boolean {
  const text = single('errorsOnly', value);
  if (text === undefined || text === 'false' || text === '0') return false;
  if (text === 'true' || text === '1') return true;
  throw new QueryParamError(`errorsOnly: expected true or false, got ${JSON.stringify(text.slice(0, 64))}`);
}
