import type { ClickHouseClient } from '@clickhouse/client';
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createServer, type PortTransport } from '../server/fastify.js';
import { registerApiAuth, type ApiAuthOptions } from '../auth/api-auth.js';
import { registerHostCheck } from '../auth/host-check.js';
import { registerTokenRoutes } from '../auth/token-routes.js';
import { registerBrowserSessionRoutes } from '../auth/browser-session-routes.js';
import type { BrowserSessions } from '../auth/browser-session.js';
import type { TokenStore } from '../auth/token-store.js';
import { listenOn, splitEndpoint } from '../server/listen.js';
import type { CollectorMetrics } from '../telemetry.js';
import { QueryParamError, parseDuration, parseLimit, parseTags, parseText, parseTraceId, parseWindow, single } from './params.js';
import { adjustClockSkew, readsOf, registerStitchRoutes } from './stitch-routes.js';
import { registerDropRoutes } from './drops-routes.js';
import { registerStatusRoutes, type StatusRouteDeps } from './status-routes.js';
import type { TraceStore } from './trace-store.js';
import type { ReadScopes } from './read-scope.js';
import { SqlBusyError, UserSqlError, type UserSql } from './sql/user-sql.js';

export interface QueryApiConfig {
  endpoint: string;
  /** `api.allowed_hosts`: Host header values accepted besides loopback, IP addresses and the bound host. */
  allowedHosts: readonly string[];
  /** `api.cors.allowed_origins`; empty turns CORS off. */
  corsOrigins: readonly string[];
  /** TLS and connection limits (`api.tls`, `api.limits`); plain HTTP with Node's defaults when absent. */
  transport?: PortTransport;
}

export interface QueryApiDeps {
  store: TraceStore;
  /** Raw reads of the side tables the processors keep (correlations, service graph, clock skew). */
  reader: ClickHouseClient;
  database: string;
  userSql: UserSql;
  /** Read rules applied inside the SQL the data routes run (read-scope.ts). */
  readScopes: ReadScopes;
  metrics: CollectorMetrics;
  /** True once storage is migrated and the receivers listen. */
  isReady(): boolean;
  /** Who may call what (auth/api-auth.ts), and the audit log. */
  auth: ApiAuthOptions;
  tokens: TokenStore;
  /** Browser login, session status and logout (auth/browser-session-routes.ts). */
  sessions?: BrowserSessions;
  /** What `/api/status` reports besides metrics and readiness; the route is absent without it. */
  status?: Omit<StatusRouteDeps, 'metrics' | 'isReady'>;
}

const DEFAULT_LOOKBACK_NS = 24n * 3_600_000_000_000n;

/** The query API: traces, search, services, read-only SQL, health and metrics, on its own port. */
export function createQueryApi(config: QueryApiConfig, deps: QueryApiDeps, logger: Logger): FastifyInstance {
  const app = createServer(logger, 'api', { bodyLimit: 1024 * 1024 }, config.transport);

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    if (err instanceof QueryParamError || err instanceof UserSqlError) return reply.code(400).send({ error: err.message });
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ err }, 'query API request failed');
    return reply.code(status).send({ error: status === 500 ? `internal error: ${err.message}` : err.message });
  });
  // Order matters: Host check, then CORS (which answers preflights before auth), then auth.
  registerHostCheck(app, { boundHost: splitEndpoint(config.endpoint).host, allowedHosts: config.allowedHosts });
  if (config.corsOrigins.length > 0) {
    void app.register(cors, { origin: [...config.corsOrigins], credentials: true, methods: ['GET', 'HEAD', 'POST', 'DELETE'], maxAge: 600 });
  }
  registerApiAuth(app, deps.auth);

  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route ${req.method} ${req.url}` }));

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => (deps.isReady() ? { status: 'ready' } : reply.code(503).send({ status: 'starting' })));
  app.get('/metrics', async (_req, reply) => reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()));

  app.get<{ Params: { traceId: string }; Querystring: { adjust?: unknown } }>('/api/traces/:traceId', async (req, reply) => {
    const traceId = parseTraceId(req.params.traceId);
    const adjust = single('adjust', req.query.adjust);
    if (adjust !== undefined && adjust !== 'clock-skew') throw new QueryParamError(`adjust: expected "clock-skew", got ${JSON.stringify(adjust)}`);
    const { store } = await readsOf(deps, req);
    const spans = await store.getTrace(traceId);
    if (!spans) return reply.code(404).send({ error: `trace ${traceId} not found` });
    // Stored times are never rewritten: the skew the stitch processor measured is applied on the way out.
    return { traceId, spans: adjust ? await adjustClockSkew(deps.reader, deps.database, spans) : spans };
  });

  app.get<{ Querystring: Record<string, unknown> }>('/api/traces', async (req) => {
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
      startNs,
      endNs,
      limit: parseLimit(q.limit, 20, 1000),
    });
    return { traces };
  });

  app.get('/api/services', async (req) => ({ services: await (await readsOf(deps, req)).store.services() }));
  app.get<{ Params: { service: string } }>('/api/services/:service/operations', async (req) => ({
    operations: await (await readsOf(deps, req)).store.operations(req.params.service),
  }));

  app.post<{ Body: unknown }>('/api/sql', async (req, reply) => {
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

  registerStitchRoutes(app, { reader: deps.reader, database: deps.database, store: deps.store, readScopes: deps.readScopes });
  registerDropRoutes(app, { reader: deps.reader, store: deps.store, readScopes: deps.readScopes });
  if (deps.status) registerStatusRoutes(app, { ...deps.status, metrics: deps.metrics, isReady: deps.isReady });
  registerTokenRoutes(app, deps.tokens);
  if (deps.sessions) registerBrowserSessionRoutes(app, deps.sessions);

  return app;
}

export async function startQueryApi(app: FastifyInstance, endpoint: string): Promise<string> {
  return listenOn(app, endpoint);
}
