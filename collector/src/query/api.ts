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
import { registerDashboard } from '../server/dashboard.js';
import type { CollectorMetrics } from '../telemetry.js';
import { QueryParamError } from './params.js';
import { schemaErrorMessage } from './route-schemas.js';
import { registerHealthRoutes, registerTraceRoutes } from './trace-routes.js';
import { registerOwnerRowsRoute } from '../roles/owner-rows.js';
import { registerStitchRoutes } from './stitch-routes.js';
import { registerDropRoutes } from './drops-routes.js';
import { registerAnalysisRoutes } from './analysis-routes.js';
import { registerSkeletonRoutes } from './skeleton-routes.js';
import { registerSearchRoutes } from './search-routes.js';
import { registerAssertRoutes } from './assert-routes.js';
import { registerHotspotRoutes } from './hotspots-routes.js';
import { registerCodeRoutes } from './code-routes.js';
import { registerFlameRoutes } from './flame-routes.js';
import { registerLogRoutes } from './logs/logs-routes.js';
import { registerSqlSchemaRoutes } from './sql-schema-routes.js';
import { registerOpenApi } from './openapi-routes.js';
import { registerExportRoutes } from './export-routes.js';
import { registerJaegerRoutes } from './jaeger/routes.js';
import { registerMcpRoutes } from '../mcp/http.js';
import { registerStatusRoutes, type StatusRouteDeps } from './status-routes.js';
import { registerTailRoutes } from './tail/tail-routes.js';
import { registerRedRoutes } from '../metrics/red/red-routes.js';
import { registerAnomalyRoutes } from './anomalies-routes.js';
import { registerAlertRoutes } from '../alerts/routes.js';
import { registerBackupRoutes } from '../backup/backup-routes.js';
import type { BackupService } from '../backup/backup-service.js';
import type { RedTotals } from '../metrics/red/prometheus.js';
import type { TailHub } from './tail/tail-hub.js';
import type { TraceStore } from './trace-store.js';
import type { ReadScopes } from './read-scope.js';
import { UserSqlError, type UserSql } from './sql/user-sql.js';

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
  /** The span table, unqualified (`POST /api/export` exports it); `otel_traces` when absent. */
  tracesTable?: string;
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
  /** False for the ingest and process roles: health, metrics, status and tokens only (roles/roles.ts). */
  servesQueries?: boolean;
  /** The embedded-store owner's intake of side rows from process collectors (roles/owner-rows.ts). */
  ownerRows?: { writer: ClickHouseClient; database: string };
  /** What `/api/status` reports besides metrics and readiness; the route is absent without it. */
  status?: Omit<StatusRouteDeps, 'metrics' | 'isReady'>;
  /** Live tail clients (`/api/tail`, query/tail/); the route is absent without it. */
  tail?: TailHub;
  /** RED counters since start (`/api/metrics/red/prometheus`, metrics/red/); the RED routes are absent without them. */
  red?: RedTotals;
  /** Online backups (`POST /api/admin/backup`, backup/); the route is absent without it. */
  backup?: BackupService;
}

/** The query API: traces, search, services, read-only SQL, health and metrics, on its own port. */
export function createQueryApi(config: QueryApiConfig, deps: QueryApiDeps, logger: Logger): FastifyInstance {
  const app = createServer(logger, 'api', { bodyLimit: 1024 * 1024 }, config.transport);

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    if (err instanceof QueryParamError || err instanceof UserSqlError) return reply.code(400).send({ error: err.message });
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ err }, 'query API request failed');
    // The engine's message can quote the statement (and the caller's values in it): the log has it, the answer does not.
    return reply.code(status).send({ error: status === 500 ? `internal error (request ${req.id}): the collector's log has the details` : err.message });
  });
  // Schema refusals (a route's params, querystring or body schema) worded like the routes' own.
  app.setSchemaErrorFormatter((errors, dataVar) => new QueryParamError(schemaErrorMessage(errors, dataVar)));
  // Order matters: Host check, then CORS (which answers preflights before auth), then auth.
  registerHostCheck(app, { boundHost: splitEndpoint(config.endpoint).host, allowedHosts: config.allowedHosts });
  if (config.corsOrigins.length > 0) {
    void app.register(cors, { origin: [...config.corsOrigins], credentials: true, methods: ['GET', 'HEAD', 'POST', 'DELETE'], maxAge: 600 });
  }
  registerApiAuth(app, deps.auth);
  // Answers are one caller's data (by cookie or token): no browser or shared cache keeps them, so
  // a later user of the same browser or proxy never gets them. Routes that may be cached say so
  // themselves (the dashboard's index.html and hashed assets, server/dashboard.ts).
  app.addHook('onSend', async (_req, reply, payload) => {
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });
  // Registered before the routes' plugin (below), so that its onRoute hook sees every route.
  registerOpenApi(app);

  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route ${req.method} ${req.url}` }));
  // A plugin, so that it loads after the OpenAPI plugin. As a child context it inherits what the
  // root set up above: the hooks (Host check, CORS, auth), the error handler, the schema error
  // formatter, the not-found handler and the decorators (test/security covers each).
  void app.register(async (api) => registerQueryRoutes(api, deps));
  return app;
}

function registerQueryRoutes(app: FastifyInstance, deps: QueryApiDeps): void {
  registerHealthRoutes(app, deps);
  if (deps.ownerRows) registerOwnerRowsRoute(app, deps.ownerRows);
  if (deps.servesQueries === false) {
    // An ingest or process collector (roles/): health, metrics, status and its own tokens; the data is read through `query`.
    if (deps.status) registerStatusRoutes(app, { ...deps.status, metrics: deps.metrics, isReady: deps.isReady });
    registerTokenRoutes(app, deps.tokens);
    return;
  }
  registerTraceRoutes(app, deps);
  registerExportRoutes(app, { userSql: deps.userSql, tracesTable: deps.tracesTable ?? 'otel_traces' });
  registerStitchRoutes(app, { reader: deps.reader, database: deps.database, store: deps.store, readScopes: deps.readScopes });
  registerDropRoutes(app, { reader: deps.reader, store: deps.store, readScopes: deps.readScopes });
  registerAnalysisRoutes(app, { reader: deps.reader, database: deps.database, store: deps.store, readScopes: deps.readScopes });
  registerSkeletonRoutes(app, { reader: deps.reader, database: deps.database, store: deps.store, readScopes: deps.readScopes, tracesTable: deps.tracesTable });
  registerSearchRoutes(app, { reader: deps.reader, database: deps.database, readScopes: deps.readScopes });
  registerAssertRoutes(app, { reader: deps.reader, database: deps.database, store: deps.store, readScopes: deps.readScopes });
  registerHotspotRoutes(app, { reader: deps.reader, readScopes: deps.readScopes });
  registerCodeRoutes(app, { reader: deps.reader, readScopes: deps.readScopes });
  registerFlameRoutes(app, { reader: deps.reader, readScopes: deps.readScopes });
  registerLogRoutes(app, { reader: deps.reader, readScopes: deps.readScopes });
  registerSqlSchemaRoutes(app, { reader: deps.reader, database: deps.database, readScopes: deps.readScopes });
  registerJaegerRoutes(app, { reader: deps.reader, database: deps.database, store: deps.store, readScopes: deps.readScopes });
  registerMcpRoutes(app, { reader: deps.reader, database: deps.database, store: deps.store, userSql: deps.userSql, readScopes: deps.readScopes, audit: deps.auth.audit });
  if (deps.tail) registerTailRoutes(app, { hub: deps.tail });
  if (deps.red) registerRedRoutes(app, { reader: deps.reader, database: deps.database, totals: deps.red });
  if (deps.red) registerAnomalyRoutes(app, { reader: deps.reader, database: deps.database, readScopes: deps.readScopes });
  registerAlertRoutes(app, { reader: deps.reader, database: deps.database });
  if (deps.status) registerStatusRoutes(app, { ...deps.status, metrics: deps.metrics, isReady: deps.isReady });
  registerTokenRoutes(app, deps.tokens);
  if (deps.backup) registerBackupRoutes(app, deps.backup);
  if (deps.sessions) registerBrowserSessionRoutes(app, deps.sessions);
  registerDashboard(app);
}

export async function startQueryApi(app: FastifyInstance, endpoint: string): Promise<string> {
  return listenOn(app, endpoint);
}
