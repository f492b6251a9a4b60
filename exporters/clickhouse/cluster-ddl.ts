import type { ClickHouseClient } from '@clickhouse/client';

/**
 * Cluster mode (`storage.clickhouse.cluster`): the statements a single-node migration would run,
 * turned into their cluster form. With the cluster name empty every function here gives back
 * the single-node text unchanged, byte for byte.
 *
 * - A MergeTree-family table `<name>` becomes `<name>_local`, created `ON CLUSTER` with the
 *   `Replicated…` engine of its family and the same columns, codecs, indexes, partitioning,
 *   ordering, TTL and settings, plus a `Distributed` table under the original name that readers
 *   and writers keep using.
 * - The `Replicated…` engines are written in their default-args form (`ReplicatedMergeTree`, the
 *   family's own arguments kept: `ReplicatedReplacingMergeTree(Version)`): the server's
 *   `default_replica_path` (`/clickhouse/tables/{uuid}/{shard}`) and `default_replica_name`
 *   (`{replica}`) apply. With `{uuid}` in the path, a table dropped and created again (the
 *   attribute catalog turned off and on) gets a new Keeper path at once, where a fixed
 *   `/clickhouse/tables/{shard}/{database}/<name>_local` would collide with the dropped table's
 *   replica until the Atomic database really removes it (8 minutes by default); and an operator's
 *   own path layout is respected. ON CLUSTER gives every replica the same UUID.
 * - Views, ALTERs that change storage (TTL, settings, indexes) and DROPs run `ON CLUSTER` on the
 *   local tables; column changes also on the Distributed table, so both show the same columns.
 *
 * A store's layout belongs to its connection: openClickHouse marks every session of a
 * cluster-mode store ({@link setStoreCluster}) and each migration asks its client
 * ({@link storeCluster}), so no component's options had to change to carry the name.
 */

const clusters = new WeakMap<object, string>();

/** Marks `client` as a session of a store on cluster `cluster` ('' or never called: a single node). */
export function setStoreCluster(client: ClickHouseClient, cluster: string): void {
  clusters.set(client, cluster);
}

/** The cluster of the store `client` talks to; '' for a single node. */
export function storeCluster(client: ClickHouseClient): string {
  return clusters.get(client) ?? '';
}

/** What a local table's name ends with. */
export const LOCAL_SUFFIX = '_local';

/** A ClickHouse string literal. */
function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** ` ON CLUSTER 'name'`, or '' for a single node. */
export function onCluster(cluster: string): string {
  return cluster === '' ? '' : ` ON CLUSTER ${sqlString(cluster)}`;
}

/** The name (unquoted) of the table that holds the rows: `<name>_local` in cluster mode. For `system.tables` lookups. */
export function storageName(name: string, cluster: string): string {
  return cluster === '' ? name : name + LOCAL_SUFFIX;
}

/** `` `db`.`name` `` → `` `db`.`name_local` `` (the name is the last backquoted part). */
function localOf(qualified: string): string {
  if (!qualified.endsWith('`')) throw new Error(`expected a backquoted table name, got ${qualified}`);
  return `${qualified.slice(0, -1)}${LOCAL_SUFFIX}\``;
}

/**
 * The table a statement that reads or changes stored rows names: the local table in cluster mode
 * (materialized views read the local span table and write into local targets, so every shard
 * keeps its own), the table itself on a single node.
 */
export function storageTable(qualified: string, cluster: string): string {
  return cluster === '' ? qualified : localOf(qualified);
}

/**
 * `ALTER TABLE … <clause>` for a change of storage (TTL, settings, skip indexes): on a single node
 * the table itself; in cluster mode its local table on every node.
 */
export function alterStorage(qualified: string, cluster: string, clause: string): string {
  return `ALTER TABLE ${storageTable(qualified, cluster)}${onCluster(cluster)} ${clause}`;
}

/** `ALTER TABLE … <clause>` for a column change: the local table and then the Distributed one in cluster mode. */
export function alterColumns(qualified: string, cluster: string, clause: string): string[] {
  if (cluster === '') return [`ALTER TABLE ${qualified} ${clause}`];
  return [alterStorage(qualified, cluster, clause), `ALTER TABLE ${qualified}${onCluster(cluster)} ${clause}`];
}

/** `DROP TABLE IF EXISTS`: in cluster mode the Distributed table, then the local one, on every node. */
export function dropTableStatements(qualified: string, cluster: string): string[] {
  if (cluster === '') return [`DROP TABLE IF EXISTS ${qualified}`];
  return [`DROP TABLE IF EXISTS ${qualified}${onCluster(cluster)}`, `DROP TABLE IF EXISTS ${localOf(qualified)}${onCluster(cluster)}`];
}

/** `DROP VIEW IF EXISTS`, on every node in cluster mode. */
export function dropViewStatement(qualified: string, cluster: string): string {
  return `DROP VIEW IF EXISTS ${qualified}${onCluster(cluster)}`;
}

const CREATE_TABLE = /^(\s*CREATE TABLE IF NOT EXISTS )(`(?:[^`\\]|\\.)*`)\.(`(?:[^`\\]|\\.)*`)(\s*\()/;
const ENGINE = ') ENGINE = ';

/**
 * The statements that create one MergeTree-family table from its single-node
 * `CREATE TABLE IF NOT EXISTS `db`.`name` (…) ENGINE = <Family>MergeTree[(args)] …`:
 * that statement alone on a single node; in cluster mode the local table (Replicated engine,
 * everything else as written) and the Distributed table over it, sharded by `shardingKey`.
 */
export function createTableStatements(ddl: string, cluster: string, shardingKey: string): string[] {
  if (cluster === '') return [ddl];
  const head = CREATE_TABLE.exec(ddl);
  const engineAt = ddl.indexOf(ENGINE);
  if (!head || engineAt < 0) throw new Error('cluster DDL: expected CREATE TABLE IF NOT EXISTS `db`.`name` (…) ENGINE = …');
  const [, create, database, name, open] = head;
  const engineStart = engineAt + ENGINE.length;
  const family = /^(\w*)MergeTree\b/.exec(ddl.slice(engineStart));
  if (!family) throw new Error(`cluster DDL: ${name} is not a MergeTree-family table`);
  const local = `${database}.${name!.slice(0, -1)}${LOCAL_SUFFIX}\``;
  const body = ddl.slice(head[0].length, engineStart);
  const replicated = `${create}${local}${onCluster(cluster)}${open}${body}Replicated${ddl.slice(engineStart)}`;
  const unquote = (quoted: string) => quoted.slice(1, -1).replace(/\\(.)/g, '$1');
  const distributed =
    `CREATE TABLE IF NOT EXISTS ${database}.${name}${onCluster(cluster)} AS ${local}\n` +
    `  ENGINE = Distributed(${sqlString(cluster)}, ${sqlString(unquote(database!))}, ${sqlString(unquote(name!) + LOCAL_SUFFIX)}, ${shardingKey})`;
  return [replicated, distributed];
}

/**
 * Refuses to start cluster mode over tables a single-node FlowTrace made in the same database (a
 * MergeTree table under one of FlowTrace's names, not `…_local`): every CREATE is "if not
 * exists", so they would stay where the Distributed tables should be, and take the writes.
 */
export async function refuseSingleNodeTables(client: ClickHouseClient, database: string, tables: readonly string[]): Promise<void> {
  const result = await client.query({
    query: `SELECT name FROM system.tables WHERE database = {db:String} AND (name IN {names:Array(String)} OR startsWith(name, 'flowtrace_'))
      AND engine LIKE '%MergeTree' AND NOT endsWith(name, '${LOCAL_SUFFIX}') ORDER BY name`,
    query_params: { db: database, names: tables },
    format: 'JSONEachRow',
  });
  const found = (await result.json<{ name: string }>()).map((row) => row.name);
  if (found.length === 0) return;
  throw new Error(
    `storage.clickhouse.cluster: database ${database} already has tables of a single-node FlowTrace (${found.join(', ')}); ` +
      `cluster mode puts Distributed tables under these names. Use another database, or move their data out and drop them first`,
  );
}

/**
 * Sharding keys. Tables with a trace ID shard by it, so a trace's spans, its lookup row, its
 * correlations and clock-skew rows live on one shard. Tables whose rows merge (Replacing,
 * Summing, Aggregating) shard by the part of their ordering key that identifies a row, so the
 * partial rows of one key meet on one shard and merge there. Append-only logs spread evenly.
 */
export const SHARD_BY_TRACE = 'cityHash64(TraceId)';
export const SHARD_EVENLY = 'rand()';
export const shardBy = (...columns: string[]): string => `cityHash64(${columns.join(', ')})`;
