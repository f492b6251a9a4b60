import { ConfigError } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { forwardsSpans } from '../logs/signals.js';
import type { Role } from './role-names.js';

/**
 * The parts of one binary a collector runs (`flowtrace serve --role`), after the single binary
 * with targets of Tempo and Loki:
 *
 * - `all`: today's collector, everything in one process.
 * - `ingest`: receives OTLP, redacts, and publishes to its exporters (Kafka, or the load
 *   balancer); stores no spans and holds no traces, so any replica can take any request.
 * - `process`: consumes (Kafka, or OTLP from a load balancer), holds whole traces (filter,
 *   stitch, tail sampling) and stores, in ClickHouse or — with the embedded store — through the
 *   collector that owns it (`storage.owner`).
 * - `query`: the API, dashboard and MCP over the shared storage. With the embedded store (one
 *   process per data directory) it is also that store's owner: it takes the spans and side rows
 *   the `process` replicas send it, deduplicated, and runs nothing else on them.
 *
 * OTLP logs follow the spans (logs/logs-pipeline.ts): stored where `writesSpans`, sent to the owner
 * by a `process` collector with `storage.owner`, forwarded by otlp exporters with `logs` in
 * `signals`; a collector with none of these (e.g. `ingest` without such an exporter) answers logs
 * requests with HTTP 501 / gRPC UNIMPLEMENTED naming what to configure.
 */
export { ROLES, type Role } from './role-names.js';

/** What a role runs; the collector wires only these. */
export interface RolePlan {
  role: Role;
  /** OTLP/gRPC and OTLP/HTTP receivers (as configured under `receivers.otlp`). */
  otlpReceivers: boolean;
  /** The Kafka receiver, when `receivers.kafka.enabled`. */
  kafkaReceiver: boolean;
  /** The processors of `pipeline.processors` this role runs, in order. */
  processors: Config['pipeline']['processors'];
  /** Spans go to ClickHouse from this process (else only to the exporters, or the owner). */
  writesSpans: boolean;
  /** RED counted here, from the spans passing the tap (one role counts, or traffic counts twice). */
  countsRed: boolean;
  /** Forwarded spans are checked against those seen recently (the owner's intake: replays arrive twice). */
  deduplicates: boolean;
  /** The query routes, dashboard and MCP; other roles serve health, metrics, status and tokens. */
  servesQueries: boolean;
  /** `POST /api/internal/rows/:table`: side rows from `process` replicas (embedded-store owner). */
  takesSideRows: boolean;
  /** Alert rules and the disk budget run here: once per deployment, over the shared storage. */
  maintains: boolean;
}

/** The plan for the configured role; throws {@link ConfigError} for a combination that cannot work. */
export function rolePlan(config: Config): RolePlan {
  const embedded = config.storage.clickhouse.url === '';
  const owner = config.storage.owner !== undefined;
  const configured = config.pipeline.processors;
  // Exporters that get spans (an otlp exporter with `signals: [logs]` gets only log records).
  const forwards = config.exporters.some(forwardsSpans);
  switch (config.role) {
    case 'all':
      if (owner) throw new ConfigError('storage.owner', 'only a `process` collector sends its spans to an owner; role all stores its own');
      return { role: 'all', otlpReceivers: true, kafkaReceiver: true, processors: configured, writesSpans: true, countsRed: true, deduplicates: false, servesQueries: true, takesSideRows: false, maintains: true };
    case 'ingest':
      if (owner) throw new ConfigError('storage.owner', 'an ingest collector stores nothing: it publishes to its exporters');
      if (!forwards) throw new ConfigError('role', 'an ingest collector publishes what it receives: configure exporters.kafka or exporters.loadbalancing (or another exporter)');
      if (config.receivers.kafka.enabled) throw new ConfigError('receivers.kafka.enabled', 'an ingest collector publishes to Kafka; the `process` role consumes from it');
      // Redaction only: whatever holds traces needs all of a trace's spans, which only `process` sees.
      return { role: 'ingest', otlpReceivers: true, kafkaReceiver: false, processors: configured.filter((p) => p === 'redact'), writesSpans: false, countsRed: false, deduplicates: false, servesQueries: false, takesSideRows: false, maintains: false };
    case 'process':
      // The embedded store is one process's: what a process replica stored there no `query` collector could read.
      if (embedded && !owner) {
        throw new ConfigError('role', 'a process collector on the embedded store stores through its owner: set storage.owner (the `query` collector) or storage.clickhouse.url (a ClickHouse server all roles share)');
      }
      return { role: 'process', otlpReceivers: true, kafkaReceiver: true, processors: configured, writesSpans: !owner, countsRed: true, deduplicates: false, servesQueries: false, takesSideRows: false, maintains: false };
    case 'query':
      if (owner) throw new ConfigError('storage.owner', 'a query collector reads the store itself');
      if (config.receivers.kafka.enabled) throw new ConfigError('receivers.kafka.enabled', 'the `process` role consumes from Kafka, not `query`');
      // With the embedded store this process owns it: the process replicas' spans arrive over OTLP.
      return { role: 'query', otlpReceivers: embedded, kafkaReceiver: false, processors: [], writesSpans: true, countsRed: false, deduplicates: embedded, servesQueries: true, takesSideRows: embedded, maintains: true };
  }
}

