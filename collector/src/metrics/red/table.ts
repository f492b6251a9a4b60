import type { ClickHouseClient } from '@clickhouse/client';
import { createTableStatements, onCluster, shardBy, storageName, storeCluster } from '../../../../exporters/clickhouse/cluster-ddl.js';
import { bringTtlTo } from '../../processors/stitch/tables.js';

/**
 * `flowtrace_red`: one row per (service, operation, span kind, minute) after merges, beside
 * `otel_traces` in the same database, with its own retention (`red.retention_days`).
 * AggregatingMergeTree with SimpleAggregateFunction columns: the partial rows every flush
 * (and every collector) writes for the same minute merge into one, and reads still
 * `GROUP BY`, so any range of minutes sums exactly. Durations are the log-scale histogram
 * `bucket → count` summed by `sumMap` (p50/p90/p99 read back from it), plus sum, min and max.
 */
export const RED_TABLE = 'flowtrace_red';

export function redTable(database: string): string {
  return `\`${database}\`.\`${RED_TABLE}\``;
}

export function redTtl(days: number): string {
  return `Minute + toIntervalDay(${days})`;
}

function ddl(qualified: string, ttl: string): string {
  return `CREATE TABLE IF NOT EXISTS ${qualified} (
    Minute DateTime('UTC') CODEC(Delta, ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    Operation LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    Requests SimpleAggregateFunction(sum, UInt64),
    Errors SimpleAggregateFunction(sum, UInt64),
    DurationSumNs SimpleAggregateFunction(sum, UInt64),
    DurationMinNs SimpleAggregateFunction(min, UInt64),
    DurationMaxNs SimpleAggregateFunction(max, UInt64),
    DurationBuckets SimpleAggregateFunction(sumMap, Map(UInt16, UInt64))
  ) ENGINE = AggregatingMergeTree
  PARTITION BY toDate(Minute)
  ORDER BY (ServiceName, Operation, SpanKind, Minute)
  TTL ${ttl}
  SETTINGS ttl_only_drop_parts = 1`;
}

/**
 * Creates `flowtrace_red` and brings its TTL to `retentionDays`; idempotent, run at every
 * start. It BACKFILLS NOTHING: RED is counted as spans arrive (before sampling, which stored
 * spans no longer reflect), so minutes before the table existed stay empty. Returns true when
 * the table was created by this call, so the caller can say so.
 */
export async function migrateRedTable(client: ClickHouseClient, database: string, retentionDays: number): Promise<boolean> {
  const cluster = storeCluster(client);
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS \`${database}\`${onCluster(cluster)}` });
  const existed = await tableExists(client, database, cluster);
  const ttl = redTtl(retentionDays);
  // Cluster mode (cluster-ddl.ts): one operation's partial rows meet, and merge, on one shard.
  for (const query of createTableStatements(ddl(redTable(database), ttl), cluster, shardBy('ServiceName', 'Operation', 'SpanKind'))) await client.command({ query });
  await bringTtlTo(client, database, RED_TABLE, ttl);
  return !existed;
}

async function tableExists(client: ClickHouseClient, database: string, cluster: string): Promise<boolean> {
  const result = await client.query({
    query: 'SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = {t:String}',
    query_params: { db: database, t: storageName(RED_TABLE, cluster) },
    format: 'JSONEachRow',
  });
  const rows = await result.json<{ n: string | number }>();
  return Number(rows[0]?.n ?? 0) > 0;
}
