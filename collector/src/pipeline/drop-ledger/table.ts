import type { ClickHouseClient } from '@clickhouse/client';
import { createTableStatements, onCluster, shardBy, storeCluster } from '../../../../exporters/clickhouse/cluster-ddl.js';
import { bringTtlTo } from '../../processors/stitch/tables.js';
import type { DropRow } from './tally.js';
import type { RowInserter } from '../../roles/owner-rows.js';

/**
 * `flowtrace_drops`: the drop ledger in ClickHouse, beside `otel_traces`. One row per minute ×
 * stage × reason × service after merges (SummingMergeTree adds up the partial rows every flush
 * writes; reads still `GROUP BY`, since merges happen when they happen). Its own retention
 * (`storage.drops_retention_days`), applied at every start.
 */
export const DROPS_TABLE = 'flowtrace_drops';

export function dropsTable(database: string): string {
  return `\`${database}\`.\`${DROPS_TABLE}\``;
}

function ttlOf(days: number): string {
  return `Minute + toIntervalDay(${days})`;
}

/** Creates the table and brings its TTL to `retentionDays`; idempotent, runs at every start. */
export async function migrateDropsTable(client: ClickHouseClient, database: string, retentionDays: number): Promise<void> {
  const ttl = ttlOf(retentionDays);
  const cluster = storeCluster(client);
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS \`${database}\`${onCluster(cluster)}` });
  const create = `CREATE TABLE IF NOT EXISTS ${dropsTable(database)} (
      Minute DateTime('UTC') CODEC(Delta, ZSTD(1)),
      Stage LowCardinality(String),
      Reason LowCardinality(String),
      Service LowCardinality(String),
      DroppedSpans UInt64,
      AlteredValues UInt64
    ) ENGINE = SummingMergeTree((DroppedSpans, AlteredValues))
    PARTITION BY toDate(Minute)
    ORDER BY (Minute, Service, Stage, Reason)
    TTL ${ttl}
    SETTINGS ttl_only_drop_parts = 1`;
  // Cluster mode (cluster-ddl.ts): one series' partial rows meet, and are summed, on one shard.
  for (const query of createTableStatements(create, cluster, shardBy('Service', 'Stage', 'Reason'))) await client.command({ query });
  await bringTtlTo(client, database, DROPS_TABLE, ttl);
}

/** Where the ledger's rows go: ClickHouse in production, a fake in unit tests. */
export interface DropRowSink {
  insert(rows: readonly DropRow[]): Promise<void>;
}

export function clickHouseDropSink(client: RowInserter, database: string): DropRowSink {
  return {
    async insert(rows) {
      await client.insert({
        table: dropsTable(database),
        format: 'JSONEachRow',
        values: rows.map((r) => ({
          Minute: r.minute,
          Stage: r.stage,
          Reason: r.reason,
          Service: r.service,
          DroppedSpans: r.droppedSpans,
          AlteredValues: r.alteredValues,
        })),
      });
    },
  };
}
