import type { ClickHouseClient } from '@clickhouse/client';
import { migrateAttributeCatalog } from '../../collector/src/query/search/catalog-table.js';
import { DEFAULT_HOT_ATTRIBUTES, HotColumns, migrateHotColumns, setActiveHotColumns } from '../../collector/src/storage/hot-attributes/hot-columns.js';
import type { RetentionPolicy } from '../../collector/src/storage/retention/policy.js';
import { alterColumns, alterStorage, createTableStatements, onCluster, refuseSingleNodeTables, SHARD_BY_TRACE, storageName, storageTable, storeCluster } from './cluster-ddl.js';
import type { ClickHouseConfig } from './config.js';
import { migrateLogs } from './logs-schema.js';
import { lookupTableTtl, reconcileRetention, spanTableTtl, ttlOnlyDropParts } from './retention-ttl.js';
import { setStringSerialization } from './string-serialization.js';

/**
 * `otel_traces` exactly as the OpenTelemetry Collector ClickHouse exporter creates it
 * (names, types, codecs, indexes, partitioning, ordering), so existing SQL and Grafana's
 * ClickHouse data source work unchanged. FlowTrace's own columns are added beside it by
 * `ADD COLUMN IF NOT EXISTS`, which also upgrades a table that exporter created.
 *
 * `index_granularity_bytes = 256 KiB` (ClickHouse's default is 10 MiB) makes granules of wide
 * span rows a few hundred rows instead of 8,192, and compressed blocks of 8–64 KiB
 * (`TRACE_COMPRESS_BLOCKS`; the defaults are 64 KiB–1 MiB): a trace's spans sit in ~15 granules
 * (one per service and span name it touches), and reading it by ID decompresses every column of
 * each. Measured on 10 M spans (`npm run bench:query`, trace by ID through the API): default
 * granules p50 51 ms / p99 99 ms and 1 MiB granules 41 / 93 (both on a loaded machine); 1 MiB + small blocks
 * 25 / 53; 256 KiB + small blocks 22.5 / 43 — for ≈ 6 % more disk and ≈ 10 % slower 24 h
 * attribute searches. The granule size is fixed when a table is created (ClickHouse refuses to
 * alter it): existing tables keep theirs. The block sizes migrate() also sets on existing tables;
 * parts written from then on (inserts and merges) use them.
 */
function tracesTableDdl(table: string, retention: RetentionPolicy): string {
  return `CREATE TABLE IF NOT EXISTS ${table} (
    Timestamp DateTime64(9) CODEC(Delta, ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    TraceState String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Duration UInt64 CODEC(ZSTD(1)),
    StatusCode LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage String CODEC(ZSTD(1)),
    Events Nested (
      Timestamp DateTime64(9),
      Name LowCardinality(String),
      Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    Links Nested (
      TraceId String,
      SpanId String,
      TraceState String,
      Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1
  ) ENGINE = MergeTree()
  PARTITION BY toDate(Timestamp)
  ORDER BY (ServiceName, SpanName, toDateTime(Timestamp))
  TTL ${spanTableTtl(retention)}
  SETTINGS index_granularity = 8192, index_granularity_bytes = 262144, ttl_only_drop_parts = ${ttlOnlyDropParts(retention)}, ${settingsText(TRACE_COMPRESS_BLOCKS)}`;
}

/** Compressed block bounds of the span table (see tracesTableDdl). */
export const TRACE_COMPRESS_BLOCKS: Readonly<Record<string, number>> = { min_compress_block_size: 8192, max_compress_block_size: 65536 };

const settingsText = (settings: Readonly<Record<string, number>>) => Object.entries(settings).map(([name, value]) => `${name} = ${value}`).join(', ');

/**
 * OTLP fields the standard schema has no column for, so that a span read back is the
 * span that was sent. `AttributeKinds` holds the OTLP value kind of every non-string
 * attribute, keyed `span:<key>`, `resource:<key>`, `scope:<key>`, `event.<i>:<key>`,
 * `link.<i>:<key>`; it is empty for spans whose attributes are all strings.
 * `EndBeforeStart` is how many nanoseconds before its start a span's end was sent (its
 * `Duration` is then 0, as the OpenTelemetry exporter stores it); 0 for every other span.
 */
export const FLOWTRACE_COLUMNS: ReadonlyArray<[name: string, type: string]> = [
  ['SpanFlags', 'UInt32 CODEC(ZSTD(1))'],
  ['DroppedAttributesCount', 'UInt32 CODEC(ZSTD(1))'],
  ['DroppedEventsCount', 'UInt32 CODEC(ZSTD(1))'],
  ['DroppedLinksCount', 'UInt32 CODEC(ZSTD(1))'],
  ['ResourceSchemaUrl', 'LowCardinality(String) CODEC(ZSTD(1))'],
  ['ResourceDroppedAttributesCount', 'UInt32 CODEC(ZSTD(1))'],
  ['ScopeAttributes', 'Map(LowCardinality(String), String) CODEC(ZSTD(1))'],
  ['ScopeSchemaUrl', 'LowCardinality(String) CODEC(ZSTD(1))'],
  ['ScopeDroppedAttributesCount', 'UInt32 CODEC(ZSTD(1))'],
  ['EventsDroppedAttributesCount', 'Array(UInt32) CODEC(ZSTD(1))'],
  ['LinksFlags', 'Array(UInt32) CODEC(ZSTD(1))'],
  ['LinksDroppedAttributesCount', 'Array(UInt32) CODEC(ZSTD(1))'],
  ['AttributeKinds', 'Map(LowCardinality(String), LowCardinality(String)) CODEC(ZSTD(1))'],
  ['EndBeforeStart', 'UInt64 CODEC(ZSTD(1))'],
];

/** The trace-ID lookup table and its materialized view, as the OpenTelemetry exporter has them. */
function traceIdTableDdl(table: string, retention: RetentionPolicy): string {
  return `CREATE TABLE IF NOT EXISTS ${table} (
    TraceId String CODEC(ZSTD(1)),
    Start DateTime64(9) CODEC(Delta, ZSTD(1)),
    End DateTime64(9) CODEC(Delta, ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.01) GRANULARITY 1
  ) ENGINE = MergeTree()
  ORDER BY (TraceId, toUnixTimestamp(Start))
  TTL ${lookupTableTtl(retention)}
  SETTINGS index_granularity = 8192`;
}

/** In cluster mode the view is on every node, reading the local span table into the local lookup table. */
function traceIdViewDdl(view: string, lookupTable: string, tracesTable: string, cluster = ''): string {
  return `CREATE MATERIALIZED VIEW IF NOT EXISTS ${view}${onCluster(cluster)}
  TO ${lookupTable}
  AS SELECT TraceId, min(Timestamp) AS Start, max(Timestamp) AS End
  FROM ${tracesTable}
  WHERE TraceId != ''
  GROUP BY TraceId`;
}

/** The trace-ID lookup table is named after the traces table, as the OpenTelemetry exporter names it. */
export const TRACE_ID_SUFFIX = '_trace_id_ts';

/** Fully qualified, quoted table name. */
export function tableName(config: Pick<ClickHouseConfig, 'database' | 'tracesTable'>, suffix = ''): string {
  return `\`${config.database}\`.\`${config.tracesTable}${suffix}\``;
}

/**
 * Brings the schema to what this version expects. Idempotent: every statement is
 * "if not exists" or compares first, so it runs at every start; changing the retention
 * and restarting alters the TTL of the existing tables. On a cluster (the client's
 * `storage.clickhouse.cluster`, cluster-ddl.ts) every statement runs ON CLUSTER on local tables
 * under Distributed ones sharded by trace ID.
 */
export async function migrate(client: ClickHouseClient, config: ClickHouseConfig): Promise<void> {
  const cluster = storeCluster(client);
  const run = (query: string) => client.command({ query });
  await run(`CREATE DATABASE IF NOT EXISTS \`${config.database}\`${onCluster(cluster)}`);
  if (cluster !== '') await refuseSingleNodeTables(client, config.database, [config.tracesTable, config.tracesTable + TRACE_ID_SUFFIX]);
  const traces = tableName(config);
  // The default (`retention_days`) and the rules (`retention_rules`): see retention-ttl.ts.
  const retention: RetentionPolicy = { defaultDays: config.retentionDays, rules: config.retentionRules ?? [] };
  for (const query of createTableStatements(tracesTableDdl(traces, retention), cluster, SHARD_BY_TRACE)) await run(query);
  for (const [name, type] of FLOWTRACE_COLUMNS) {
    for (const query of alterColumns(traces, cluster, `ADD COLUMN IF NOT EXISTS ${name} ${type}`)) await run(query);
  }
  // Hot attributes in their own columns with skip indexes (storage/hot-attributes/); the readers
  // of this process use them from here on.
  const hotKeys = config.hotAttributes ?? DEFAULT_HOT_ATTRIBUTES;
  await migrateHotColumns(client, traces, hotKeys, cluster);
  setActiveHotColumns(new HotColumns(hotKeys));
  const lookup = tableName(config, TRACE_ID_SUFFIX);
  // Sharded by trace ID like the spans: each shard's view fills the lookup rows of its own spans.
  for (const query of createTableStatements(traceIdTableDdl(lookup, retention), cluster, SHARD_BY_TRACE)) await run(query);
  await run(traceIdViewDdl(tableName(config, `${TRACE_ID_SUFFIX}_mv`), storageTable(lookup, cluster), storageTable(traces, cluster), cluster));
  await reconcileRetention(client, config.database, config.tracesTable, config.tracesTable + TRACE_ID_SUFFIX, retention);
  // A batch retried after a crash carries the same insert_deduplication_token: remembering the
  // last blocks' tokens makes a repeated insert a no-op (replicated tables always do this).
  await setDedupWindow(client, config.database, config.tracesTable);
  await setDedupWindow(client, config.database, config.tracesTable + TRACE_ID_SUFFIX);
  await setTableSettings(client, config.database, config.tracesTable, TRACE_COMPRESS_BLOCKS);
  for (const table of [config.tracesTable, config.tracesTable + TRACE_ID_SUFFIX]) await setTableSettings(client, config.database, table, PREWARM_MARKS, { ifEngineKnows: true });
  // Strings with their sizes inline: a third fewer bytes per span (string-serialization.ts).
  await setStringSerialization(client, config.database, config.tracesTable);
  // Autocomplete's attribute-key catalog, kept by views on the span table (created, or dropped when off).
  await migrateAttributeCatalog(client, config, config.attributeCatalog ?? true);
  // Logs beside the spans, under the same retention (logs-schema.ts): every store has otel_logs.
  await migrateLogs(client, config);
}

/**
 * Marks (where each granule of each column starts) put in the mark cache when a part is written
 * and when the engine starts, not on a part's first read (ClickHouse ≥ 24.12; skipped on an engine
 * without it). A first read of a column in a large part loads that column's whole marks file:
 * measured by `npm run bench:storage` at 100 M spans, trace by ID took 250–740 ms for every part
 * and column not read since start, against 40–120 ms once loaded, so its p99 over 50 random traces
 * just after start was 536 ms. All the span table's marks at 100 M spans are ≈ 73 MiB of cache
 * (bounded by `storage.embedded.cache_mib`); the engine's start takes ≈ 1 s longer at that size.
 */
export const PREWARM_MARKS: Readonly<Record<string, number>> = { prewarm_mark_cache: 1 };

/** Blocks whose tokens a plain MergeTree remembers for insert deduplication. */
export const DEDUP_WINDOW = 1000;

export async function setDedupWindow(client: ClickHouseClient, database: string, table: string): Promise<void> {
  await setTableSettings(client, database, table, { non_replicated_deduplication_window: DEDUP_WINDOW }, { skipReplicated: true });
}

/**
 * `ALTER … MODIFY SETTING` for those of `settings` the table does not show yet, so a restart does
 * no work; `skipReplicated` for settings replicated tables neither need nor take; `ifEngineKnows`
 * for settings an older server does not have (it would refuse the ALTER).
 */
async function setTableSettings(
  client: ClickHouseClient,
  database: string,
  table: string,
  settings: Readonly<Record<string, number>>,
  options: { skipReplicated?: boolean; ifEngineKnows?: boolean } = {},
): Promise<void> {
  // In cluster mode the settings belong to the local table (a Distributed table stores nothing).
  const cluster = storeCluster(client);
  if (options.ifEngineKnows) {
    const known = await client.query({ query: 'SELECT name FROM system.merge_tree_settings WHERE name IN {names:Array(String)}', query_params: { names: Object.keys(settings) }, format: 'JSONEachRow' });
    const names = new Set((await known.json<{ name: string }>()).map((r) => r.name));
    settings = Object.fromEntries(Object.entries(settings).filter(([name]) => names.has(name)));
  }
  const result = await client.query({
    query: 'SELECT engine, engine_full FROM system.tables WHERE database = {db:String} AND name = {t:String}',
    query_params: { db: database, t: storageName(table, cluster) },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ engine: string; engine_full: string }>();
  if (!row || (options.skipReplicated && row.engine.startsWith('Replicated'))) return;
  const missing = Object.entries(settings).filter(([name, value]) => !row.engine_full.includes(`${name} = ${value}`));
  if (missing.length === 0) return;
  await client.command({ query: alterStorage(`\`${database}\`.\`${table}\``, cluster, `MODIFY SETTING ${settingsText(Object.fromEntries(missing))}`) });
}
