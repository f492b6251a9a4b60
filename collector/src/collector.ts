import { join } from 'node:path';
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
import { buildProcessors, chainHoldsSpans } from './processors/index.js';
import type { Processor } from './processors/processor.js';
import { PersistentQueue, queueDirectory, type QueueConfig } from './pipeline/persistent-queue/index.js';
import { ExportFanout } from './pipeline/fanout.js';
import { Journal } from './pipeline/journal/journal.js';
import { JournalGate } from './pipeline/journal/journal-gate.js';
import { JournalingDrops } from './pipeline/journal/journal-drops.js';
import { ProcessorJournal } from './pipeline/journal/processor-journal.js';
import { STAGES, type StageName } from './pipeline/journal/records.js';
import { QueueFullError, type Stage } from './pipeline/stage.js';
import { DropLedger } from './pipeline/drop-ledger/ledger.js';
import { dropLedgerStorage, type DropStorage } from './pipeline/drop-ledger/index.js';
import { SenderClocks } from './receivers/sender-clocks.js';
import { createQueryApi, startQueryApi } from './query/api.js';
import { TraceStore } from './query/trace-store.js';
import { TailHub } from './query/tail/tail-hub.js';
import { tailHubOptions } from './query/tail/config.js';
import { tailTap } from './query/tail/tail-tap.js';
import { clickHouseRedSink, RedMetrics, withRedTap } from './metrics/red/red.js';
import { ReadScopes } from './query/read-scope.js';
import { Alerting } from './alerts/alerts.js';
import { UserSql, sqlLayersFromEnv } from './query/sql/user-sql.js';
import { InFlightBudget } from './receivers/in-flight-budget.js';
import { Ingest } from './receivers/ingest.js';
import { IngestQuotas } from './receivers/quota.js';
import { OtlpGrpcReceiver } from './receivers/otlp-grpc/receiver.js';
import { OtlpHttpReceiver } from './receivers/otlp-http/receiver.js';
import type { LogIngest } from './logs/log-ingest.js';
import { buildLogIngest, forwardsSpans } from './logs/logs-pipeline.js';
import { KafkaReceiver } from './receivers/kafka/receiver.js';
import { CollectorMetrics } from './telemetry.js';
import { retentionPolicy } from './storage/retention/config.js';
import { DiskBudget } from './storage/disk-budget/disk-budget.js';
import { GB } from './storage/disk-budget/config.js';
import { LOGS_TABLE } from '../../exporters/clickhouse/logs-schema.js';
import { BackupService } from './backup/backup-service.js';
import { backupDirOf } from './backup/backup-name.js';
import { rolePlan, type RolePlan } from './roles/roles.js';
import { ownerRowInserter, type RowInserter } from './roles/owner-rows.js';
import { OWNER_QUEUE, ownerSpanExporter } from './roles/owner-spans.js';
import { SpanDedupe } from './pipeline/dedupe/dedupe.js';
import { atRestKeyring } from './storage/encryption/setup.js';
import type { Keyring } from './storage/encryption/keyring.js';
import { RedTotals } from './metrics/red/prometheus.js';
import { migrateRedTable, redTable } from './metrics/red/table.js';
import { migrateStitchTables } from './processors/stitch/tables.js';

const MIB = 1024 * 1024;
/** How long the receivers wait for a crash's replay before opening anyway (it goes on behind). */
const REPLAY_BEFORE_INTAKE_MS = 30_000;

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
  /** Every span not stored and every value changed, by stage, reason and service. */
  readonly drops = new DropLedger(this.metrics.registry);
  /** Live tail clients (`/api/tail`), fed by a tap right after redaction; bounded by `api.tail`. */
  readonly tail: TailHub;
  /** RED metrics, counted at the tail's tap (before sampling) and flushed to `flowtrace_red`; absent when `red.enabled` is false. */
  private readonly red: RedMetrics | undefined;
  /** Alert rules evaluated in the background (alerts/); the history table is migrated either way. */
  private readonly alerting: Alerting;
  /** The ledger's table, `flowtrace_drops`, written in the background. */
  private readonly dropStorage: DropStorage;
  /** `storage.max_disk_gb`: measures the tables' size and drops the oldest days when over it. */
  private readonly diskBudget: DiskBudget;
  /** Clock skew of recent senders, for `/api/status`. */
  private readonly senders = new SenderClocks();
  private readonly clickhouse: ClickHouseClients;
  private readonly pipeline: ExportFanout;
  /** The write-ahead journal in front of the processors, when one of them holds spans; opened at start. */
  private journal: Journal | undefined;
  private readonly journalOn: boolean;
  private readonly journalLeftOver: boolean;
  private replaying: Promise<void> | undefined;
  private stopping = false;
  /** What the receivers hand requests to: the journal's gate, else the first processor, else the queues. */
  private readonly entry: Stage;
  /** In pipeline order: the first receives from the receivers. */
  private readonly processors: Processor[];
  private readonly receivers: Array<OtlpGrpcReceiver | OtlpHttpReceiver> = [];
  private readonly grpc?: OtlpGrpcReceiver;
  private readonly http?: OtlpHttpReceiver;
  /** OTLP logs: where the receivers hand them (logs/). */
  private readonly logs: LogIngest;
  /** The `process` tier's input (receivers.kafka), when enabled. */
  private readonly kafka?: KafkaReceiver;
  private readonly api: FastifyInstance;
  /** API tokens, verifiers (OIDC adds its own), ingest authentication and the audit log. */
  readonly auth: CollectorAuth;
  private ready = false;
  addresses: CollectorAddresses = { api: '' };
  /** What this process runs (`role`, roles/roles.ts). */
  readonly plan: RolePlan;
  /** The config as this role runs it: its processors, RED counted or not. */
  private readonly config: Config;
  /** `storage.encryption`'s keys; undefined when encryption at rest is off. */
  private readonly keyring: Keyring | undefined;

  constructor(
    given: Config,
    private readonly logger: Logger,
  ) {
    this.plan = rolePlan(given);
    const plan = this.plan;
    const config: Config = {
      ...given,
      pipeline: { ...given.pipeline, processors: plan.processors },
      red: { ...given.red, enabled: given.red.enabled && plan.countsRed },
    };
    this.config = config;
    // Keys first: a key problem is a config error before anything is opened.
    this.keyring = atRestKeyring(config);
    // One policy for the store's TTL and the receivers' age check (storage/retention/).
    const retention = retentionPolicy(config.storage.retention_days, config.storage.retention_rules);
    const backupDir = backupDirOf(config.storage);
    const storage: ClickHouseConfig = {
      url: config.storage.clickhouse.url,
      username: config.storage.clickhouse.username,
      password: config.storage.clickhouse.password,
      guestUsername: config.storage.clickhouse.guest_username,
      guestPassword: config.storage.clickhouse.guest_password,
      database: config.storage.clickhouse.database,
      tracesTable: config.storage.clickhouse.traces_table,
      cluster: config.storage.clickhouse.cluster,
      dataDir: config.storage.data_dir,
      retentionDays: config.storage.retention_days,
      retentionRules: retention.rules,
      attributeCatalog: config.storage.attribute_catalog,
      hotAttributes: config.storage.hot_attributes,
      concurrency: config.pipeline.queue.concurrency,
      embedded: config.storage.embedded,
      backupDir,
      encryption: this.keyring && { keyring: this.keyring, spoolDir: config.storage.encryption.spool_dir },
    };
    this.clickhouse = openClickHouse(storage);
    this.tail = new TailHub({ ...tailHubOptions(config.api.tail), metrics: this.metrics.tail });
    // Storage first, then the forwarding exporters: each behind its own durable queue.
    const queueLogger = logger.child({ component: 'queue' });
    const queueOf = (exporter: Exporter, queue: QueueConfig) =>
      new PersistentQueue(exporter, { dir: queueDirectory(config.storage.data_dir, exporter.name), config: queue, metrics: this.metrics, logger: queueLogger, drops: this.drops, keyring: this.keyring });
    // Storage's queue first: ClickHouse, or — a process collector on the embedded store — its owner.
    const owner = config.storage.owner;
    const queues: PersistentQueue[] = [];
    if (plan.writesSpans) queues.push(queueOf(createClickHouseExporter(this.clickhouse, storage), config.pipeline.queue));
    else if (owner) queues.push(queueOf(ownerSpanExporter(owner, logger.child({ component: 'exporter.owner' })), OWNER_QUEUE));
    // Side rows (stitch, RED, drops) go where the spans go.
    const sideRows: RowInserter = owner ? ownerRowInserter(owner) : this.clickhouse.writer;
    for (const settings of config.exporters) {
      // An otlp exporter with `signals: [logs]` only has a log queue (logs/logs-pipeline.ts), no span queue.
      if (!forwardsSpans(settings)) continue;
      const exporter = createExporter(settings, { logger: logger.child({ component: `exporter.${settings.name}` }), openQueue: queueOf, registry: this.metrics.registry });
      queues.push(queueOf(exporter, settings.queue));
    }
    // A journal the last run left unfinished is replayed even when the config no longer asks for one.
    this.journalLeftOver = Journal.hasRecords(join(config.storage.data_dir, 'journal'));
    this.journalOn = (config.pipeline.journal.enabled && chainHoldsSpans(config)) || this.journalLeftOver;
    const journal = (): Journal => {
      if (!this.journal) throw new Error('the journal is not open yet');
      return this.journal;
    };
    // With the journal, a span dropped for good is also done for it.
    const drops = this.journalOn ? new JournalingDrops(this.drops, journal) : this.drops;
    this.pipeline = new ExportFanout(queues, { drops, logger: logger.child({ component: 'fanout' }) });
    const types = config.pipeline.processors;
    const journalFor = this.journalOn ? (index: number) => new ProcessorJournal(journal, types[index], types[index + 1] ?? 'queues') : undefined;
    const redSink = owner
      ? { migrate: async () => false, insert: (rows: readonly object[]) => sideRows.insert({ table: redTable(storage.database), values: [...rows], format: 'JSONEachRow' }).then(() => undefined) }
      : clickHouseRedSink(this.clickhouse.writer, storage.database, config.red.retention_days);
    this.red = config.red.enabled ? new RedMetrics(config.red, redSink, logger.child({ component: 'red' }), this.metrics.registry) : undefined;
    const tap = withRedTap(tailTap(this.tail, types), this.red);
    this.processors = buildProcessors(config, this.pipeline, {
      logger,
      registry: this.metrics.registry,
      storage: { writer: this.clickhouse.writer, reader: this.clickhouse.reader, database: storage.database, sideRows },
      drops,
    }, journalFor, tap);
    const chain = tap.at === 0 ? tap.wrap(this.processors[0] ?? this.pipeline) : (this.processors[0] ?? this.pipeline);
    // The embedded-store owner takes the process collectors' output: a replay arrives twice.
    const first = plan.deduplicates
      ? new SpanDedupe(chain, { windowMs: config.pipeline.dedupe.window_seconds * 1000, maxSpans: config.pipeline.dedupe.max_spans, drops: this.drops, registry: this.metrics.registry })
      : chain;
    this.entry = this.journalOn ? new JournalGate(journal, first, types[0] ?? 'queues') : first;

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
    // One request may take at most the whole in-flight budget as storage rows (row-size.ts).
    const maxRowBytes = config.receivers.otlp.max_in_flight_mib * MIB;
    const quotas = new IngestQuotas(config.receivers.otlp.quotas, this.metrics.registry);
    const ingest = new Ingest(this.entry, this.metrics, quotas, { drops: this.drops, clocks: this.senders, maxRowBytes });
    // Logs beside the spans: the same receivers, quotas, redaction rules and drop ledger, their own durable queues.
    this.logs = buildLogIngest({
      config,
      plan,
      clickhouse: this.clickhouse,
      openQueue: (exporter, queue, dir, drops) => new PersistentQueue(exporter, { dir, config: queue, metrics: this.metrics, logger: queueLogger, drops, keyring: this.keyring }),
      drops: this.drops,
      quotas,
      registry: this.metrics.registry,
      logger,
    });
    this.diskBudget = new DiskBudget({
      client: this.clickhouse.writer,
      database: storage.database,
      spanTable: storage.tracesTable,
      logsTable: LOGS_TABLE,
      maxBytes: config.storage.max_disk_gb > 0 ? Math.floor(config.storage.max_disk_gb * GB) : undefined,
      intervalMs: config.storage.disk_check_interval_seconds * 1000,
      drops: this.drops,
      registry: this.metrics.registry,
      logger: logger.child({ component: 'disk-budget' }),
    });
    this.dropStorage = dropLedgerStorage(this.drops, this.clickhouse.writer, { database: storage.database, retentionDays: config.storage.drops_retention_days, logger, rows: sideRows });
    const { grpc, http } = config.receivers.otlp;
    // One budget for both receivers: memory held for requests is bounded however they arrive.
    const inFlight = new InFlightBudget(config.receivers.otlp.max_in_flight_mib * MIB, this.metrics.registry);
    if (plan.otlpReceivers && grpc.enabled) {
      this.grpc = new OtlpGrpcReceiver(
        { endpoint: grpc.endpoint, maxMessageBytes: grpc.max_recv_msg_size_mib * MIB, tls: grpc.tls, limits: grpc.limits },
        ingest,
        logger.child({ component: 'otlp-grpc' }),
        { auth: this.auth.ingest, inFlight, logs: this.logs, decode: { retentionDays: storage.retentionDays, retention, maxAttributeValueBytes: config.storage.max_attribute_value_bytes }, onConnectionRefused: () => this.metrics.connectionsRefused.inc({ port: 'otlp-grpc' }) },
      );
      this.receivers.push(this.grpc);
    }
    if (plan.otlpReceivers && http.enabled) {
      this.http = new OtlpHttpReceiver(
        { endpoint: http.endpoint, maxBodyBytes: http.max_request_body_size_mib * MIB, tls: http.tls, limits: http.limits, corsOrigins: http.cors.allowed_origins },
        ingest,
        logger,
        { auth: this.auth.ingest, inFlight, logs: this.logs, decode: { retentionDays: storage.retentionDays, retention, maxAttributeValueBytes: config.storage.max_attribute_value_bytes }, onConnectionRefused: () => this.metrics.connectionsRefused.inc({ port: 'otlp-http' }) },
      );
      this.receivers.push(this.http);
    }

    if (plan.kafkaReceiver && config.receivers.kafka.enabled) {
      this.kafka = new KafkaReceiver(config.receivers.kafka, ingest, logger.child({ component: 'kafka-receiver' }), { registry: this.metrics.registry, drops: this.drops });
    }

    const store = new TraceStore(this.clickhouse.reader, { traces: tableName(storage), traceIds: tableName(storage, TRACE_ID_SUFFIX) });
    // Read rules are enforced by reading through per-rule-set views (query/read-scope.ts).
    const readScopes = new ReadScopes(this.clickhouse.writer, { database: storage.database, tracesTable: storage.tracesTable, traceIdSuffix: TRACE_ID_SUFFIX });
    this.alerting = new Alerting(config.alerts, { writer: this.clickhouse.writer, reader: this.clickhouse.reader, database: storage.database, readScopes, logger: logger.child({ component: 'alerts' }), metrics: this.metrics });
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
      { store, reader: this.clickhouse.reader, database: storage.database, userSql, tracesTable: storage.tracesTable, readScopes, metrics: this.metrics, isReady: () => this.ready && (this.journal?.healthy ?? true) && (this.kafka?.ready ?? true), auth: this.auth.api, tokens: this.auth.tokens, sessions, tail: this.tail,
        // A query collector reads the RED rows the process collectors write; its own counters stay at zero.
        red: this.red?.totals ?? (given.red.enabled && plan.servesQueries ? new RedTotals() : undefined),
        servesQueries: plan.servesQueries,
        ownerRows: plan.takesSideRows ? { writer: this.clickhouse.writer, database: storage.database } : undefined,
        backup: new BackupService(this.clickhouse, { database: storage.database, backupDir }),
        status: { role: plan.role, dataDir: config.storage.data_dir, retentionDays: config.storage.retention_days, retentionRules: retention.rules, maxDiskGb: config.storage.max_disk_gb > 0 ? config.storage.max_disk_gb : null, dropsRetentionDays: config.storage.drops_retention_days, senders: this.senders } }, logger);
  }

  async start(): Promise<void> {
    // The API first, so that /healthz answers (and /readyz says "starting") during migrations.
    this.addresses.api = await startQueryApi(this.api, this.config.api.endpoint);
    // Tokens before the receivers (they verify ingest tokens); refuses to go on when the API needs credentials and has no way in.
    await this.auth.start();
    // Storage first, then processors from the last to the first: each starts after what it feeds.
    await this.pipeline.start();
    // After storage's migration (otel_logs is made with otel_traces): the log queues and their exporters.
    await this.logs.start();
    if (this.journalOn) await this.openJournal();
    await this.dropStorage.start();
    if (this.plan.takesSideRows) await this.migrateOwnerTables();
    // After storage's migration (pipeline.start): measures at once, then every interval; once per deployment.
    if (this.plan.maintains) this.diskBudget.start();
    await this.red?.start();
    for (const p of [...this.processors].reverse()) await p.start();
    // Before the receivers: what a crash left undone goes first — for a while; a replay held up
    // by a full queue (a backend down) goes on in the background rather than keep intake shut.
    if (this.journal) {
      const replay = this.journal.replay((stage, spans) => this.feed(stage, spans));
      this.replaying = replay.catch((err: unknown) => this.logger.error({ err: String(err) }, 'journal: replay stopped; the rest is replayed at the next start'));
      let timer: NodeJS.Timeout | undefined;
      const waited = await Promise.race([
        this.replaying.then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), REPLAY_BEFORE_INTAKE_MS))),
      ]);
      clearTimeout(timer);
      if (!waited) this.logger.warn('journal: the replay is slow (a full queue?); opening the receivers while it goes on');
    }
    for (const r of this.receivers) await r.start();
    // Joins its consumer group in the background (retrying while the brokers are away); /readyz says when.
    await this.kafka?.start();
    if (this.plan.maintains) await this.alerting.start();
    this.addresses.grpc = this.grpc?.address;
    this.addresses.http = this.http?.address;
    this.ready = true;
    this.logger.info(
      { ...this.addresses, storage: this.clickhouse.embedded ? `embedded:${this.config.storage.data_dir}` : this.config.storage.clickhouse.url },
      'collector ready',
    );
  }

  /**
   * The embedded-store owner keeps the tables the process collectors' side rows go to, whether
   * or not it runs stitch or counts RED itself.
   */
  private async migrateOwnerTables(): Promise<void> {
    const { writer } = this.clickhouse;
    const database = this.config.storage.clickhouse.database;
    const stitch = this.config.processors.stitch;
    await migrateStitchTables(writer, database, {
      serviceGraphDays: stitch.service_graph.retention_days,
      correlationsDays: stitch.correlation.retention_days,
      clockSkewDays: stitch.clock_skew.retention_days,
    });
    await migrateRedTable(writer, database, this.config.red.retention_days);
  }

  /** Opens the journal and works out what the last run left undone, from storage's queue's tags. */
  private async openJournal(): Promise<void> {
    const { journal } = this.config.pipeline;
    this.journal = await Journal.open({
      dir: join(this.config.storage.data_dir, 'journal'),
      segmentBytes: journal.segment_bytes,
      logger: this.logger.child({ component: 'journal' }),
      registry: this.metrics.registry,
      keyring: this.keyring,
    });
    if (this.journalLeftOver && !(journal.enabled && chainHoldsSpans(this.config))) {
      this.logger.warn('the last run left work in the write-ahead journal: it runs for this start to replay it, though the config does not ask for it');
    }
    await this.journal.recover(this.pipeline.storageQueue.recoveredLastTag);
    this.pipeline.useJournal(this.journal);
  }

  /** Replay: hands spans to the stage they were entering, waiting while it is full or failing. */
  private async feed(stage: StageName, spans: Parameters<Stage['consume']>[0]): Promise<void> {
    const target = this.replayTarget(stage);
    for (;;) {
      if (this.stopping) throw new Error('stopping');
      try {
        await target.consume(spans);
        return;
      } catch (err) {
        if (!(err instanceof QueueFullError)) this.logger.warn({ err: String(err) }, 'journal: replay refused; trying again');
        await new Promise((resolve) => setTimeout(resolve, err instanceof QueueFullError ? 200 : 1_000));
      }
    }
  }

  /**
   * The processor of that type; when the chain no longer has it (the config changed since the
   * crash), the first later one in the default order, else the queues.
   */
  private replayTarget(stage: StageName): Stage {
    const types = this.config.pipeline.processors;
    const at = types.indexOf(stage as (typeof types)[number]);
    if (at >= 0) return this.processors[at];
    const rank = STAGES.indexOf(stage);
    const later = types.findIndex((t) => STAGES.indexOf(t) > rank);
    return later >= 0 ? this.processors[later] : this.pipeline;
  }

  async shutdown(): Promise<void> {
    this.ready = false;
    this.stopping = true;
    this.logger.info('shutting down: refusing new data, flushing what was accepted');
    await Promise.all(this.receivers.map((r) => r.shutdown()));
    await this.logs.shutdown();
    // Stops consuming and commits what was accepted; the rest stays in Kafka for the group.
    await this.kafka?.shutdown();
    await this.alerting.shutdown();
    await this.replaying; // a replay still going on stops at its next refusal; the journal keeps the rest
    // From the first processor to the last: each hands what it holds to a stage still running.
    for (const p of this.processors) await p.shutdown();
    await this.pipeline.shutdown();
    await this.red?.shutdown();
    await this.journal?.close();
    await this.diskBudget.shutdown(); // it records drops: before the ledger's last flush
    await this.dropStorage.shutdown();
    await this.api.close();
    await this.auth.shutdown();
    await this.clickhouse.close();
    this.logger.info('shutdown complete');
  }
}
