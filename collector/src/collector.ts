import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import {
  createClickHouseExporter,
  openClickHouse,
  tableName,
  TRACE_ID_SUFFIX,
  type ClickHouseClients,
  type ClickHouseConfig,
} from '../../exporters/clickhouse/index.js';
import type { Exporter } from '../../exporters/exporter.js';
import { createExporter } from '../../exporters/registry.js';
import type { Config } from './config/schema.js';
import { setUpOidcAndSessions } from './auth/browser-session-factory.js';
import { CollectorAuth } from './auth/collector-auth.js';
import { splitEndpoint } from './server/listen.js';
import { buildProcessors } from './processors/index.js';
import type { Processor } from './processors/processor.js';
import { PersistentQueue, queueDirectory, type QueueConfig } from './pipeline/persistent-queue/index.js';
import { ExportFanout } from './pipeline/fanout.js';
import { createQueryApi, startQueryApi } from './query/api.js';
import { TraceStore } from './query/trace-store.js';
import { ReadScopes } from './query/read-scope.js';
import { UserSql, sqlLayersFromEnv } from './query/sql/user-sql.js';
import { InFlightBudget } from './receivers/in-flight-budget.js';
import { Ingest } from './receivers/ingest.js';
import { IngestQuotas } from './receivers/quota.js';
import { OtlpGrpcReceiver } from './receivers/otlp-grpc/receiver.js';
import { OtlpHttpReceiver } from './receivers/otlp-http/receiver.js';
import { CollectorMetrics } from './telemetry.js';

const MIB = 1024 * 1024;

export interface CollectorAddresses {
  grpc?: string;
  http?: string;
  api: string;
}

/**
 * The collector wired from its config: receivers → processors → exporter queues → storage,
 * and the query API beside them. `start` brings it up in dependency order; `shutdown`
 * stops intake first and returns only once everything accepted has been stored.
 */
export class Collector {
  readonly metrics = new CollectorMetrics();
  private readonly clickhouse: ClickHouseClients;
  private readonly pipeline: ExportFanout;
  /** In pipeline order: the first receives from the receivers. */
  private readonly processors: Processor[];
  private readonly receivers: Array<OtlpGrpcReceiver | OtlpHttpReceiver> = [];
  private readonly grpc?: OtlpGrpcReceiver;
  private readonly http?: OtlpHttpReceiver;
  private readonly api: FastifyInstance;
  /** API tokens, verifiers (OIDC adds its own), ingest authentication and the audit log. */
  readonly auth: CollectorAuth;
  private ready = false;
  addresses: CollectorAddresses = { api: '' };

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
  ) {
    const storage: ClickHouseConfig = {
      url: config.storage.clickhouse.url,
      username: config.storage.clickhouse.username,
      password: config.storage.clickhouse.password,
      guestUsername: config.storage.clickhouse.guest_username,
      guestPassword: config.storage.clickhouse.guest_password,
      database: config.storage.clickhouse.database,
      tracesTable: config.storage.clickhouse.traces_table,
      dataDir: config.storage.data_dir,
      retentionDays: config.storage.retention_days,
      concurrency: config.pipeline.queue.concurrency,
    };
    this.clickhouse = openClickHouse(storage);
    // Storage first, then the forwarding exporters: each behind its own durable queue.
    const queueLogger = logger.child({ component: 'queue' });
    const queueOf = (exporter: Exporter, queue: QueueConfig) =>
      new PersistentQueue(exporter, { dir: queueDirectory(config.storage.data_dir, exporter.name), config: queue, metrics: this.metrics, logger: queueLogger });
    const queues = [queueOf(createClickHouseExporter(this.clickhouse, storage), config.pipeline.queue)];
    for (const settings of config.exporters) {
      const exporter = createExporter(settings, { logger: logger.child({ component: `exporter.${settings.name}` }) });
      queues.push(queueOf(exporter, settings.queue));
    }
    this.pipeline = new ExportFanout(queues);
    this.processors = buildProcessors(config, this.pipeline, {
      logger,
      registry: this.metrics.registry,
      storage: { writer: this.clickhouse.writer, reader: this.clickhouse.reader, database: storage.database },
    });

    this.auth = new CollectorAuth(config.auth, {
      writer: this.clickhouse.writer,
      reader: this.clickhouse.reader,
      database: storage.database,
      apiHost: splitEndpoint(config.api.endpoint).host,
      corsOrigins: config.api.cors.allowed_origins,
      logger,
    });
    // OIDC JWTs (after API tokens) and browser sessions on the same verifier chain.
    const sessions = setUpOidcAndSessions(config.auth, this.auth, { secure: config.api.tls.cert_file !== '', logger });
    const ingest = new Ingest(this.processors[0] ?? this.pipeline, this.metrics, new IngestQuotas(config.receivers.otlp.quotas, this.metrics.registry));
    const { grpc, http } = config.receivers.otlp;
    // One budget for both receivers: memory held for requests is bounded however they arrive.
    const inFlight = new InFlightBudget(config.receivers.otlp.max_in_flight_mib * MIB, this.metrics.registry);
    if (grpc.enabled) {
      this.grpc = new OtlpGrpcReceiver(
        { endpoint: grpc.endpoint, maxMessageBytes: grpc.max_recv_msg_size_mib * MIB, tls: grpc.tls, limits: grpc.limits },
        ingest,
        logger.child({ component: 'otlp-grpc' }),
        { auth: this.auth.ingest, inFlight, onConnectionRefused: () => this.metrics.connectionsRefused.inc({ port: 'otlp-grpc' }) },
      );
      this.receivers.push(this.grpc);
    }
    if (http.enabled) {
      this.http = new OtlpHttpReceiver(
        { endpoint: http.endpoint, maxBodyBytes: http.max_request_body_size_mib * MIB, tls: http.tls, limits: http.limits, corsOrigins: http.cors.allowed_origins },
        ingest,
        logger,
        { auth: this.auth.ingest, inFlight, onConnectionRefused: () => this.metrics.connectionsRefused.inc({ port: 'otlp-http' }) },
      );
      this.receivers.push(this.http);
    }

    const store = new TraceStore(this.clickhouse.reader, { traces: tableName(storage), traceIds: tableName(storage, TRACE_ID_SUFFIX) });
    // Read rules are enforced by reading through per-rule-set views (query/read-scope.ts).
    const readScopes = new ReadScopes(this.clickhouse.writer, { database: storage.database, tracesTable: storage.tracesTable, traceIdSuffix: TRACE_ID_SUFFIX });
    const userSql = new UserSql({
      engine: this.clickhouse,
      scopeFor: (principal) => readScopes.forRules(principal.rules),
      config: config.api.sql,
      layers: sqlLayersFromEnv(),
    });
    this.api = createQueryApi(
      {
        endpoint: config.api.endpoint,
        allowedHosts: config.api.allowed_hosts,
        corsOrigins: config.api.cors.allowed_origins,
        transport: { keyPrefix: 'api', tls: config.api.tls, limits: config.api.limits, onConnectionRefused: () => this.metrics.connectionsRefused.inc({ port: 'api' }) },
      },
      { store, reader: this.clickhouse.reader, database: storage.database, userSql, readScopes, metrics: this.metrics, isReady: () => this.ready, auth: this.auth.api, tokens: this.auth.tokens, sessions }, logger);
  }

  async start(): Promise<void> {
    // The API first, so that /healthz answers (and /readyz says "starting") during migrations.
    this.addresses.api = await startQueryApi(this.api, this.config.api.endpoint);
    // Tokens before the receivers (they verify ingest tokens); refuses to go on when the API needs credentials and has no way in.
    await this.auth.start();
    // Storage first, then processors from the last to the first: each starts after what it feeds.
    await this.pipeline.start();
    for (const p of [...this.processors].reverse()) await p.start();
    for (const r of this.receivers) await r.start();
    this.addresses.grpc = this.grpc?.address;
    this.addresses.http = this.http?.address;
    this.ready = true;
    this.logger.info(
      { ...this.addresses, storage: this.clickhouse.embedded ? `embedded:${this.config.storage.data_dir}` : this.config.storage.clickhouse.url },
      'collector ready',
    );
  }

  async shutdown(): Promise<void> {
    this.ready = false;
    this.logger.info('shutting down: refusing new data, flushing what was accepted');
    await Promise.all(this.receivers.map((r) => r.shutdown()));
    // From the first processor to the last: each hands what it holds to a stage still running.
    for (const p of this.processors) await p.shutdown();
    await this.pipeline.shutdown();
    await this.api.close();
    await this.auth.shutdown();
    await this.clickhouse.close();
    this.logger.info('shutdown complete');
  }
}
