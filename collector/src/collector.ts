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
import { buildProcessors } from './processors/index.js';
import type { Processor } from './processors/processor.js';
import { PersistentQueue, queueDirectory, type QueueConfig } from './pipeline/persistent-queue/index.js';
import { ExportFanout } from './pipeline/fanout.js';
import { createQueryApi, startQueryApi } from './query/api.js';
import { TraceStore } from './query/trace-store.js';
import { UserSql } from './query/user-sql.js';
import { Ingest } from './receivers/ingest.js';
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

    const ingest = new Ingest(this.processors[0] ?? this.pipeline, this.metrics);
    const { grpc, http } = config.receivers.otlp;
    if (grpc.enabled) {
      this.grpc = new OtlpGrpcReceiver({ endpoint: grpc.endpoint, maxMessageBytes: grpc.max_recv_msg_size_mib * MIB }, ingest, logger.child({ component: 'otlp-grpc' }));
      this.receivers.push(this.grpc);
    }
    if (http.enabled) {
      this.http = new OtlpHttpReceiver({ endpoint: http.endpoint, maxBodyBytes: http.max_request_body_size_mib * MIB }, ingest, logger);
      this.receivers.push(this.http);
    }

    const store = new TraceStore(this.clickhouse.reader, { traces: tableName(storage), traceIds: tableName(storage, TRACE_ID_SUFFIX) });
    const userSql = new UserSql(this.clickhouse.newSession, {
      maxRows: config.api.sql.max_rows,
      maxExecutionSeconds: config.api.sql.max_execution_seconds,
    });
    this.api = createQueryApi({ endpoint: config.api.endpoint }, { store, reader: this.clickhouse.reader, database: storage.database, userSql, metrics: this.metrics, isReady: () => this.ready }, logger);
  }

  async start(): Promise<void> {
    // The API first, so that /healthz answers (and /readyz says "starting") during migrations.
    this.addresses.api = await startQueryApi(this.api, this.config.api.endpoint);
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
    await this.clickhouse.close();
    this.logger.info('shutdown complete');
  }
}
