import type { ClickHouseClient } from '@clickhouse/client';
import { alterStorage, storageName, storeCluster } from './cluster-ddl.js';

/**
 * The span table's strings are written with their sizes inline (`single_stream`), not in a size
 * stream of their own (`with_size_stream`, newer ClickHouse's default, which lets `empty(s)` and
 * `length(s)` read only the sizes). Measured by `npm run bench:storage` on the load generator's
 * spans (1 M, one part per day): 34.3 → 22.7 bytes of column data per span (−34 %), insert + merge
 * 23.8 → 17.0 s, the same query latencies — the size streams of the attribute maps' values
 * compressed about 13:1 where the values themselves compress 20–100:1. Names, types and codecs are
 * the OpenTelemetry exporter's; only the part format changes.
 *
 * A table setting: set at every start when the engine knows it and the table does not show it yet
 * (an engine without it has only the inline format); parts already written keep their format until
 * a merge rewrites them. In cluster mode: the local table's (cluster-ddl.ts).
 */
export const STRING_SERIALIZATION = { setting: 'string_serialization_version', value: 'single_stream' } as const;

export async function setStringSerialization(client: ClickHouseClient, database: string, table: string): Promise<void> {
  const { setting, value } = STRING_SERIALIZATION;
  const cluster = storeCluster(client);
  const known = await client.query({ query: 'SELECT count() AS n FROM system.merge_tree_settings WHERE name = {s:String}', query_params: { s: setting }, format: 'JSONEachRow' });
  if (Number((await known.json<{ n: string | number }>())[0]?.n ?? 0) === 0) return;
  const tables = await client.query({
    query: 'SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = {t:String}',
    query_params: { db: database, t: storageName(table, cluster) },
    format: 'JSONEachRow',
  });
  const [row] = await tables.json<{ engine_full: string }>();
  if (!row || row.engine_full.includes(`${setting} = '${value}'`)) return;
  await client.command({ query: alterStorage(`\`${database}\`.\`${table}\``, cluster, `MODIFY SETTING ${setting} = '${value}'`) });
}
