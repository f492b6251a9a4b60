import type { ClickHouseClient } from '@clickhouse/client';
import { alterStorage, createTableStatements, onCluster, SHARD_BY_TRACE, shardBy, storageName, storeCluster } from '../../../../exporters/clickhouse/cluster-ddl.js';
import { setDedupWindow } from '../../../../exporters/clickhouse/schema.js';

/**
 * The stitch processor's side tables, beside `otel_traces` in the same database. Each has its
 * own retention (TTL), applied by {@link migrateStitchTables} at every start.
 *
 * `flowtrace_service_graph` — one row per (minute, caller, callee, operation) after merges.
 *   AggregatingMergeTree with SimpleAggregateFunction columns, so partial rows written by
 *   every flush (and by several collectors) merge into one; reads still `GROUP BY`.
 *   Durations are a log-scale histogram (see histogram.ts) as `Map(bucket, count)` summed by
 *   `sumMap`, plus sum/min/max; p50/p90/p99 are computed from it at read time.
 *
 * `flowtrace_correlations` — one row per (correlation ID, trace ID) after merges: the
 *   services, first start and last end of that trace's spans carrying the ID. Keyed by both
 *   IDs rather than one row per correlation ID holding an array of traces, so a hot or
 *   constant correlation ID (a misconfigured proxy) makes many small rows, never one
 *   unbounded array. Pieces of one request that were never linked (released too far apart)
 *   are joined here: every trace ID of one correlation ID.
 *
 * `flowtrace_clock_skew` — one row per span whose times need shifting to fit its client
 *   parent in another service (Jaeger's adjustment); descendants in the same service inherit
 *   the offset at read time (clock-skew.ts). ReplacingMergeTree: a retried write leaves one row.
 */
export const STITCH_TABLES = {
  serviceGraph: 'flowtrace_service_graph',
  correlations: 'flowtrace_correlations',
  clockSkew: 'flowtrace_clock_skew',
} as const;

export type StitchTable = (typeof STITCH_TABLES)[keyof typeof STITCH_TABLES];

export interface StitchRetention {
  serviceGraphDays: number;
  correlationsDays: number;
  clockSkewDays: number;
}

/** Fully qualified, quoted name (the database is a validated identifier). */
export function stitchTable(database: string, table: StitchTable): string {
  return `\`${database}\`.\`${table}\``;
}

interface TableSpec {
  name: StitchTable;
  ddl(qualified: string, ttl: string): string;
  /** The TTL clause's expression, as ClickHouse prints it back in `engine_full`. */
  ttl(days: number): string;
  days(retention: StitchRetention): number;
  /** Cluster mode's sharding key (cluster-ddl.ts): the trace ID where there is one, else the key partial rows merge on. */
  shardingKey: string;
}

const TABLES: readonly TableSpec[] = [
  {
    name: STITCH_TABLES.serviceGraph,
    ttl: (d) => `Minute + toIntervalDay(${d})`,
    days: (r) => r.serviceGraphDays,
    shardingKey: shardBy('Caller', 'Callee', 'Operation'),
    ddl: (t, ttl) => `CREATE TABLE IF NOT EXISTS ${t} (
      Minute DateTime('UTC') CODEC(Delta, ZSTD(1)),
      Caller LowCardinality(String) CODEC(ZSTD(1)),
      Callee LowCardinality(String) CODEC(ZSTD(1)),
      Operation LowCardinality(String) CODEC(ZSTD(1)),
      Calls SimpleAggregateFunction(sum, UInt64),
      Errors SimpleAggregateFunction(sum, UInt64),
      DurationSumNs SimpleAggregateFunction(sum, UInt64),
      DurationMinNs SimpleAggregateFunction(min, UInt64),
      DurationMaxNs SimpleAggregateFunction(max, UInt64),
      DurationBuckets SimpleAggregateFunction(sumMap, Map(UInt16, UInt64))
    ) ENGINE = AggregatingMergeTree
    PARTITION BY toDate(Minute)
    ORDER BY (Caller, Callee, Operation, Minute)
    TTL ${ttl}
    SETTINGS ttl_only_drop_parts = 1`,
  },
  {
    name: STITCH_TABLES.correlations,
    ttl: (d) => `toDateTime(LastSeen) + toIntervalDay(${d})`,
    days: (r) => r.correlationsDays,
    // (CorrelationId, TraceId) rows merge on one shard either way; a hot correlation ID is spread.
    shardingKey: SHARD_BY_TRACE,
    ddl: (t, ttl) => `CREATE TABLE IF NOT EXISTS ${t} (
      CorrelationId String CODEC(ZSTD(1)),
      TraceId String CODEC(ZSTD(1)),
      Services SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
      FirstSeen SimpleAggregateFunction(min, DateTime64(9, 'UTC')),
      LastSeen SimpleAggregateFunction(max, DateTime64(9, 'UTC')),
      Spans SimpleAggregateFunction(sum, UInt64)
    ) ENGINE = AggregatingMergeTree
    PARTITION BY toDate(FirstSeen)
    ORDER BY (CorrelationId, TraceId)
    TTL ${ttl}
    SETTINGS ttl_only_drop_parts = 1`,
  },
  {
    name: STITCH_TABLES.clockSkew,
    ttl: (d) => `toDateTime(Timestamp) + toIntervalDay(${d})`,
    days: (r) => r.clockSkewDays,
    shardingKey: SHARD_BY_TRACE,
    ddl: (t, ttl) => `CREATE TABLE IF NOT EXISTS ${t} (
      Timestamp DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
      TraceId String CODEC(ZSTD(1)),
      SpanId String CODEC(ZSTD(1)),
      ParentSpanId String CODEC(ZSTD(1)),
      Caller LowCardinality(String) CODEC(ZSTD(1)),
      Callee LowCardinality(String) CODEC(ZSTD(1)),
      OffsetNs Int64 CODEC(ZSTD(1))
    ) ENGINE = ReplacingMergeTree
    PARTITION BY toDate(Timestamp)
    ORDER BY (TraceId, SpanId)
    TTL ${ttl}
    SETTINGS ttl_only_drop_parts = 1`,
  },
];

/**
 * Creates the side tables and brings their TTL to the configured retention. Idempotent: every
 * statement is "if not exists" or compares first, so it runs at every start and a changed
 * retention alters the existing table.
 */
export async function migrateStitchTables(client: ClickHouseClient, database: string, retention: StitchRetention): Promise<void> {
  const cluster = storeCluster(client);
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS \`${database}\`${onCluster(cluster)}` });
  for (const spec of TABLES) {
    const qualified = stitchTable(database, spec.name);
    const ttl = spec.ttl(spec.days(retention));
    for (const query of createTableStatements(spec.ddl(qualified, ttl), cluster, spec.shardingKey)) await client.command({ query });
    await bringTtlTo(client, database, spec.name, ttl);
    // Rows replayed from the journal after a crash carry their first insert's token: a no-op then.
    await setDedupWindow(client, database, spec.name);
  }
}

/**
 * `ALTER … MODIFY TTL` when the table's TTL is not `ttl` already, so a restart with the same
 * retention does no work. In cluster mode: the local table's, on every node (cluster-ddl.ts).
 */
export async function bringTtlTo(client: ClickHouseClient, database: string, table: string, ttl: string): Promise<void> {
  const cluster = storeCluster(client);
  if (!hasTtl(await engineFull(client, database, storageName(table, cluster)), ttl)) {
    await client.command({ query: alterStorage(`\`${database}\`.\`${table}\``, cluster, `MODIFY TTL ${ttl}`) });
  }
}

async function engineFull(client: ClickHouseClient, database: string, table: string): Promise<string> {
  const result = await client.query({
    query: 'SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = {t:String}',
    query_params: { db: database, t: table },
    format: 'JSONEachRow',
  });
  const rows = await result.json<{ engine_full: string }>();
  return rows[0]?.engine_full ?? '';
}

/** Whole-clause match, so `…toIntervalDay(3)` is not taken for `…toIntervalDay(30)`. */
function hasTtl(engineFull: string, ttl: string): boolean {
  const clause = `TTL ${ttl}`;
  const at = engineFull.indexOf(clause);
  if (at < 0) return false;
  const after = engineFull.charAt(at + clause.length);
  return after === '' || after === ' ' || after === ',';
}
