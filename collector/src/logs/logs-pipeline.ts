import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ClickHouseClients } from '../../../exporters/clickhouse/connection.js';
import { ClickHouseLogsExporter } from '../../../exporters/clickhouse/logs-exporter.js';
import { encodeLogRows } from '../../../exporters/clickhouse/logs-rowbinary.js';
import type { Exporter } from '../../../exporters/exporter.js';
import type { OtlpExporterConfig } from '../../../exporters/otlp/config.js';
import { OtlpLogsExporter } from '../../../exporters/otlp/logs-exporter.js';
import { encodeLogsRequest } from '../../../exporters/otlp/logs-encoder.js';
import type { Config } from '../config/schema.js';
import type { DropRecorder } from '../pipeline/drops.js';
import type { PersistentQueue, QueueConfig } from '../pipeline/persistent-queue/index.js';
import type { IngestQuotas } from '../receivers/quota.js';
import { OWNER_QUEUE, ownerOtlpConfig } from '../roles/owner-spans.js';
import type { RolePlan } from '../roles/roles.js';
import { LogIngest } from './log-ingest.js';
import { LogMetrics } from './log-metrics.js';
import { LogQueueDrops, LogQueues, logQueueDirectory, type LogTarget } from './log-queues.js';
import { LogRedaction } from './log-redaction.js';
import { signalsOf } from './signals.js';

export { forwardsSpans } from './signals.js';

/** What the collector hands over to wire logs (collector.ts). */
export interface LogsWiring {
  config: Config;
  plan: RolePlan;
  clickhouse: ClickHouseClients;
  /** A durable queue of the pipeline's kind (the collector's: same metrics, encryption, logger) in `dir`. */
  openQueue(exporter: Exporter, queue: QueueConfig, dir: string, drops: DropRecorder): PersistentQueue;
  drops: DropRecorder;
  quotas?: IngestQuotas;
  registry: Registry;
  logger: Logger;
}


/**
 * Where this collector's log records go, as its role places spans (roles/roles.ts): into
 * `otel_logs` where spans are stored (`all`; `process` on a ClickHouse server; `query` owning the
 * embedded store), to the owner where a `process` collector sends its spans (`storage.owner`), and
 * to every otlp exporter with `logs` in its `signals`. Each behind its own durable queue under
 * `<data_dir>/queues/logs/`. A collector with none of these answers logs requests with HTTP 501 /
 * gRPC UNIMPLEMENTED and a message saying how to configure it.
 */
export function buildLogIngest(w: LogsWiring): LogIngest {
  const { config, plan } = w;
  const metrics = new LogMetrics(w.registry);
  const drops = new LogQueueDrops(w.drops);
  const dataDir = config.storage.data_dir;
  const targets: LogTarget[] = [];
  for (const settings of config.exporters) {
    if (!signalsOf(settings).includes('logs')) continue;
    const exporter = new OtlpLogsExporter(`logs/${settings.name}`, settings.name, settings.config as OtlpExporterConfig, { logger: w.logger.child({ component: `exporter.${settings.name}.logs` }), registry: w.registry });
    targets.push({ queue: w.openQueue(exporter, settings.queue, logQueueDirectory(dataDir, settings.name), drops), encode: encodeLogsRequest });
  }
  const owner = config.storage.owner;
  if (!plan.writesSpans && owner && plan.role === 'process') {
    const exporter = new OtlpLogsExporter('logs/owner', 'storage.owner', ownerOtlpConfig(owner), { logger: w.logger.child({ component: 'exporter.owner.logs' }) });
    targets.push({ queue: w.openQueue(exporter, OWNER_QUEUE, logQueueDirectory(dataDir, 'owner'), drops), encode: encodeLogsRequest });
  }
  // Storage last, as for spans: a request is on every forwarding queue before it is stored.
  if (plan.writesSpans) {
    const exporter = new ClickHouseLogsExporter(w.clickhouse, { database: config.storage.clickhouse.database });
    targets.push({ queue: w.openQueue(exporter, config.pipeline.queue, logQueueDirectory(dataDir, 'clickhouse'), drops), encode: encodeLogRows });
  }
  const redact = config.processors.redact;
  const redaction = plan.processors.includes('redact') && redact.enabled ? new LogRedaction(redact, w.drops, metrics) : undefined;
  return new LogIngest(metrics, {
    queues: targets.length > 0 ? new LogQueues(targets) : undefined,
    unavailable:
      `this ${plan.role} collector neither stores logs nor forwards them` +
      (plan.role === 'ingest' ? ': give an otlp exporter `signals: [traces, logs]` (a collector that stores, or any OTLP logs backend)' : ': give an otlp exporter `signals: [traces, logs]`'),
    quotas: w.quotas,
    drops: w.drops,
    redaction,
    maxRowBytes: config.receivers.otlp.max_in_flight_mib * 1024 * 1024,
  });
}
