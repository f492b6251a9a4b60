/**
 * The attribute-key catalog's table and the two materialized views that fill it at insert time
 * (catalog.ts reads it). Apart from catalog.ts so that the span table's migration
 * (exporters/clickhouse/schema.ts) can run it without importing the query side.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { alterStorage, createTableStatements, dropTableStatements, dropViewStatement, onCluster, shardBy, storageName, storageTable, storeCluster } from '../../../../exporters/clickhouse/cluster-ddl.js';

export const CATALOG_TABLE = 'flowtrace_attribute_catalog';
/** Most frequent values kept per key, service and day. */
export const CATALOG_TOP_VALUES = 10;
/** Characters of a value the catalog keeps: bounds the state size; longer values are cut. */
export const CATALOG_VALUE_CHARS = 128;

export interface CatalogSource {
  /** Where the span table is; the catalog goes beside it. */
  database: string;
  tracesTable: string;
  retentionDays: number;
}

/**
 * Creates the table and its two views when `enabled` (idempotent, as every migration at
 * start-up; a changed retention alters the TTL), drops them otherwise. On a cluster
 * (cluster-ddl.ts) each shard's views read its local span table into its local catalog; the
 * Distributed catalog is sharded by the key its rows merge on (reads merge across shards anyway).
 */
export async function migrateAttributeCatalog(client: ClickHouseClient, source: CatalogSource, enabled = true): Promise<void> {
  const cluster = storeCluster(client);
  const table = qualified(source.database, CATALOG_TABLE);
  const views = (['span', 'resource'] as const).map((scope) => [scope, qualified(source.database, `${CATALOG_TABLE}_${scope}_mv`)] as const);
  if (!enabled) {
    for (const [, view] of views) await client.command({ query: dropViewStatement(view, cluster) });
    for (const query of dropTableStatements(table, cluster)) await client.command({ query });
    return;
  }
  const days = Math.trunc(source.retentionDays);
  const ttl = `TTL Day + toIntervalDay(${days})`;
  for (const query of createTableStatements(`CREATE TABLE IF NOT EXISTS ${table} (
      Day Date,
      ServiceName LowCardinality(String),
      Scope LowCardinality(String),
      Key LowCardinality(String),
      Spans SimpleAggregateFunction(sum, UInt64),
      TopValues AggregateFunction(approx_top_k(${CATALOG_TOP_VALUES}), String)
    ) ENGINE = AggregatingMergeTree
    ORDER BY (ServiceName, Scope, Key, Day)
    ${ttl}`, cluster, shardBy('ServiceName', 'Scope', 'Key'))) {
    await client.command({ query });
  }
  const engine = await client.query({
    query: 'SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = {t:String}',
    query_params: { db: source.database, t: storageName(CATALOG_TABLE, cluster) },
    format: 'JSONEachRow',
  });
  const [row] = await engine.json<{ engine_full: string }>();
  if (row && !row.engine_full.includes(`toIntervalDay(${days})`)) await client.command({ query: alterStorage(table, cluster, `MODIFY ${ttl}`) });
  const spans = storageTable(qualified(source.database, source.tracesTable), cluster);
  for (const [scope, view] of views) {
    const column = scope === 'span' ? 'SpanAttributes' : 'ResourceAttributes';
    await client.command({
      query: `CREATE MATERIALIZED VIEW IF NOT EXISTS ${view}${onCluster(cluster)} TO ${storageTable(table, cluster)} AS
        SELECT toDate(Timestamp) AS Day, ServiceName, '${scope}' AS Scope, key AS Key, count() AS Spans,
          approx_top_kState(${CATALOG_TOP_VALUES})(substringUTF8(value, 1, ${CATALOG_VALUE_CHARS})) AS TopValues
        FROM ${spans}
        ARRAY JOIN mapKeys(${column}) AS key, mapValues(${column}) AS value
        GROUP BY Day, ServiceName, Key`,
    });
  }
}

export function qualified(database: string, name: string): string {
  return `${quote(database)}.${quote(name)}`;
}

function quote(identifier: string): string {
  return `\`${identifier.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}
