import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createServer } from '../server/fastify.js';
import { listenOn } from '../server/listen.js';
import type { CollectorMetrics } from '../telemetry.js';
import { QueryParamError, parseDuration, parseLimit, parseTags, parseTime, parseTraceId } from './params.js';
import { adjustClockSkew, registerStitchRoutes } from './stitch-routes.js';
import type { TraceStore } from './trace-store.js';
import { UserSqlError, type UserSql } from './user-sql.js';

export interface QueryApiConfig {
  endpoint: string;
}

export interface QueryApiDeps {
  store: TraceStore;
  /** Raw reads of the side tables the processors keep (correlations, service graph, clock skew). */
  reader: ClickHouseClient;
  database: string;
  userSql: UserSql;
  metrics: CollectorMetrics;
  /** True once storage is migrated and the receivers listen. */
  isReady(): boolean;
}

const DEFAULT_LOOKBACK_NS = 24n * 3_600_000_000_000n;

/** The query API: traces, search, services, read-only SQL, health and metrics, on its own port. */
export function createQueryApi(config: QueryApiConfig, deps: QueryApiDeps, logger: Logger): FastifyInstance {
  const app = createServer(logger, 'api', { bodyLimit: 1024 * 1024 });

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    if (err instanceof QueryParamError || err instanceof UserSqlError) return reply.code(400).send({ error: err.message });
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ err }, 'query API request failed');
    return reply.code(status).send({ error: status === 500 ? `internal error: ${err.message}` : err.message });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route ${req.method} ${req.url}` }));

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => (deps.isReady() ? { status: 'ready' } : reply.code(503).send({ status: 'starting' })));
  app.get('/metrics', async (_req, reply) => reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()));

  app.get<{ Params: { traceId: string }; Querystring: { adjust?: string } }>('/api/traces/:traceId', async (req, reply) => {
    const traceId = parseTraceId(req.params.traceId);
    const adjust = req.query.adjust;
    if (adjust !== undefined && adjust !== 'clock-skew') throw new QueryParamError(`adjust: expected "clock-skew", got ${JSON.stringify(adjust)}`);
    const spans = await deps.store.getTrace(traceId);
    if (!spans) return reply.code(404).send({ error: `trace ${traceId} not found` });
    // Stored times are never rewritten: the skew the stitch processor measured is applied on the way out.
    return { traceId, spans: adjust ? await adjustClockSkew(deps.reader, deps.database, spans) : spans };
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/api/traces', async (req) => {
    const q = req.query;
    const endNs = q.end ? parseTime('end', q.end) : BigInt(Date.now()) * 1_000_000n;
    const startNs = q.start ? parseTime('start', q.start) : endNs - (q.lookback ? parseDuration('lookback', q.lookback) : DEFAULT_LOOKBACK_NS);
    if (startNs > endNs) throw new QueryParamError('start: must not be after end');
    const traces = await deps.store.searchTraces({
      service: q.service || undefined,
      operation: q.operation || undefined,
      tags: parseTags(q.tags ?? ''),
      minDurationNs: q.minDuration ? parseDuration('minDuration', q.minDuration) : undefined,
      maxDurationNs: q.maxDuration ? parseDuration('maxDuration', q.maxDuration) : undefined,
      startNs,
      endNs,
      limit: parseLimit(q.limit, 20, 1000),
    });
    return { traces };
  });

  app.get('/api/services', async () => ({ services: await deps.store.services() }));
  app.get<{ Params: { service: string } }>('/api/services/:service/operations', async (req) => ({
    operations: await deps.store.operations(req.params.service),
  }));

  app.post<{ Body: unknown }>('/api/sql', async (req) => {
    const body = req.body as { query?: unknown } | undefined;
    if (!body || typeof body !== 'object' || typeof body.query !== 'string') {
      throw new QueryParamError('body: expected JSON {"query": "SELECT ..."}');
    }
    return deps.userSql.run(body.query);
  });

  registerStitchRoutes(app, { reader: deps.reader, database: deps.database, store: deps.store });

  return app;
}

export async function startQueryApi(app: FastifyInstance, endpoint: string): Promise<string> {
  return listenOn(app, endpoint);
}
