import type { ClickHouseClient } from '@clickhouse/client';
import type { RetentionPolicy } from '../../collector/src/storage/retention/policy.js';
import { alterColumns, alterStorage, createTableStatements, refuseSingleNodeTables, storeCluster } from './cluster-ddl.js';
import type { ClickHouseConfig } from './config.js';
import { logTableTtl, logTtlOnlyDropParts, reconcileTableTtl } from './retention-ttl.js';
import { setDedupWindow } from './schema.js';
import { setStringSerialization } from './string-serialization.js';

/** The log table's name, as the OpenTelemetry Collector ClickHouse exporter names it. */
export const LOGS_TABLE = 'otel_logs';

/** The correlation-ID attribute the FlowTrace agents put on spans and log records. */
export const CORRELATION_ID_ATTRIBUTE = 'flowtrace.correlation_id';

/**
 * Logs go to the shard of their trace (the same hash as the spans, SHARD_BY_TRACE), so a trace's
 * spans and logs meet on one shard; logs without a trace spread by time. Deterministic, so a batch
 * retried after a crash lands where it landed before and its deduplication token holds.
 */
export const SHARD_LOGS = "if(TraceId = '', cityHash64(Timestamp), cityHash64(TraceId))";

/**
 * `otel_logs` exactly as the OpenTelemetry Collector ClickHouse exporter creates it
 * (exporter/clickhouseexporter/internal/sqltemplates/logs_table.sql: names, types, codecs, skip
 * indexes, partitioning, ordering, TTL on TimestampTime), so existing SQL and Grafana's ClickHouse
 * data source read it unchanged. `EventName` is the newer exporter's column (also added to a table an
 * older exporter made, FLOWTRACE_LOG_COLUMNS). `ttl_only_drop_parts` is the exporter's 1 unless retention rules
 * apply to logs (retention-ttl.ts says why).
 */
function logsTableDdl(table: string, retention: RetentionPolicy): string {
  return `CREATE TABLE IF NOT EXISTS ${table} (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TimestampTime DateTime DEFAULT toDateTime(Timestamp),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    TraceFlags UInt8,
    SeverityText LowCardinality(String) CODEC(ZSTD(1)),
    SeverityNumber UInt8,
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    Body String CODEC(ZSTD(1)),
    ResourceSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion LowCardinality(String) CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    LogAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    EventName String CODEC(ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_value mapValues(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_body Body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8,
    INDEX idx_body_ngrambf Body TYPE ngrambf_v1(4, 32768, 3, 0) GRANULARITY 1
  ) ENGINE = MergeTree()
  PARTITION BY toDate(TimestampTime)
  PRIMARY KEY (ServiceName, TimestampTime)
  ORDER BY (ServiceName, TimestampTime, Timestamp)
  TTL ${logTableTtl(retention)}
  SETTINGS index_granularity = 8192, ttl_only_drop_parts = ${logTtlOnlyDropParts(retention)}`;
}

/**
 * OTLP fields the standard schema has no column for, so a log record read back is the record that
 * was sent; added by `ADD COLUMN IF NOT EXISTS` (which also upgrades a table the OpenTelemetry
 * exporter made), as otel_traces gets FLOWTRACE_COLUMNS.
 * - `ObservedTimestamp`: OTLP's observed_time_unix_nano (the exporter keeps only one time).
 * - `Flags`: all 32 bits of the record's flags (`TraceFlags` holds the low 8, as the exporter does).
 * - `AttributeKinds`: the OTLP value kind of every non-string value, keyed `log:<key>`,
 *   `resource:<key>`, `scope:<key>`, and `body` for a body that is not a string (its JSON is in
 *   `Body`); empty when every value is a string.
 * - `…DroppedAttributesCount`: the counts OTLP carries.
 * - `CorrelationId`: materialized from LogAttributes['flowtrace.correlation_id'] with a bloom
 *   filter, so a request's logs are found by its correlation ID like its spans.
 */
export const FLOWTRACE_LOG_COLUMNS: ReadonlyArray<[name: string, type: string]> = [
  ['EventName', 'String CODEC(ZSTD(1))'],
  ['ObservedTimestamp', 'DateTime64(9) CODEC(Delta(8), ZSTD(1))'],
  ['Flags', 'UInt32 CODEC(ZSTD(1))'],
  ['DroppedAttributesCount', 'UInt32 CODEC(ZSTD(1))'],
  ['ResourceDroppedAttributesCount', 'UInt32 CODEC(ZSTD(1))'],
  ['ScopeDroppedAttributesCount', 'UInt32 CODEC(ZSTD(1))'],
  ['AttributeKinds', 'Map(LowCardinality(String), LowCardinality(String)) CODEC(ZSTD(1))'],
  ['CorrelationId', `String MATERIALIZED LogAttributes['${CORRELATION_ID_ATTRIBUTE}'] CODEC(ZSTD(1))`],
];

/** Skip indexes FlowTrace adds beside the exporter's. */
export const FLOWTRACE_LOG_INDEXES: ReadonlyArray<[name: string, definition: string]> = [
  ['idx_correlation_id', 'CorrelationId TYPE bloom_filter(0.001) GRANULARITY 1'],
  ['idx_span_id', 'SpanId TYPE bloom_filter(0.001) GRANULARITY 1'],
];

export interface LogsSchemaOptions extends Pick<ClickHouseConfig, 'database' | 'retentionDays' | 'retentionRules'> {
  /** The log table's name; LOGS_TABLE when absent. */
  logsTable?: string;
}

/** Fully qualified, quoted name of the log table. */
export function logsTableName(options: Pick<LogsSchemaOptions, 'database' | 'logsTable'>): string {
  return `\`${options.database}\`.\`${options.logsTable ?? LOGS_TABLE}\``;
}

/**
 * Creates or upgrades `otel_logs`. Idempotent, like migrate() in schema.ts (which calls it, so
 * every store has the table): every statement is "if not exists" or compares first, and a changed
 * retention policy alters the TTL at the next start. Cluster mode as for the spans (cluster-ddl.ts).
 */
export async function migrateLogs(client: ClickHouseClient, options: LogsSchemaOptions): Promise<void> {
  const cluster = storeCluster(client);
  const run = (query: string) => client.command({ query });
  const name = options.logsTable ?? LOGS_TABLE;
  if (cluster !== '') await refuseSingleNodeTables(client, options.database, [name]);
  const table = logsTableName(options);
  const retention: RetentionPolicy = { defaultDays: options.retentionDays, rules: options.retentionRules ?? [] };
  for (const query of createTableStatements(logsTableDdl(table, retention), cluster, SHARD_LOGS)) await run(query);
  for (const [column, type] of FLOWTRACE_LOG_COLUMNS) {
    for (const query of alterColumns(table, cluster, `ADD COLUMN IF NOT EXISTS ${column} ${type}`)) await run(query);
  }
  for (const [index, definition] of FLOWTRACE_LOG_INDEXES) await run(alterStorage(table, cluster, `ADD INDEX IF NOT EXISTS ${index} ${definition}`));
  await reconcileTableTtl(client, options.database, name, logTableTtl(retention), logTtlOnlyDropParts(retention));
  // A batch retried after a crash carries the same insert_deduplication_token (schema.ts).
  await setDedupWindow(client, options.database, name);
  await setStringSerialization(client, options.database, name);
}
