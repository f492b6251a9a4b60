import type { ClickHouseClient } from '@clickhouse/client';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateAlertsTable } from '../../collector/src/alerts/store.js';
import { AuditLog } from '../../collector/src/auth/audit.js';
import { TokenStore } from '../../collector/src/auth/token-store.js';
import { migrateRedTable } from '../../collector/src/metrics/red/table.js';
import { migrateDropsTable } from '../../collector/src/pipeline/drop-ledger/table.js';
import { loadConfig } from '../../collector/src/config/load.js';
import { migrateStitchTables } from '../../collector/src/processors/stitch/tables.js';
import { migrateAttributeCatalog } from '../../collector/src/query/search/catalog-table.js';
import { createTableStatements, refuseSingleNodeTables, setStoreCluster, storeCluster } from './cluster-ddl.js';
import type { ClickHouseConfig } from './config.js';
import { openTestStore, type TestStore } from './embedded.testing.js';
import { migrate } from './schema.js';

/**
 * Every statement FlowTrace runs to migrate a store, collected by a client that records them
 * and answers the few SELECTs the migrations make; in cluster mode each is checked by the
 * embedded engine's own parser (`formatQuery`) — no cluster (Keeper, remote_servers) can run here,
 * so the cluster DDL is validated as ClickHouse syntax and by its shape, not executed.
 */

const CLUSTER = 'flow_cluster';
const DATABASE = 'flowtrace';

/** What the SELECTs are answered with: a fresh server (no tables yet), or one whose every table differs from what is wanted. */
type Scenario = 'fresh' | 'stale';

interface Recorded {
  commands: string[];
  /** The table names `system.tables` was asked about. */
  lookedUp: string[];
}

/** A stand-in for @clickhouse/client that keeps the SQL it is given. */
function recordingClient(scenario: Scenario, cluster: string, recorded: Recorded): ClickHouseClient {
  const answer = (query: string, params: Record<string, unknown>): unknown[] => {
    // A cluster store has no single-node leftovers (refuseSingleNodeTables).
    if (query.includes("startsWith(name, 'flowtrace_')")) return [];
    if (query.includes('FROM system.merge_tree_settings WHERE name IN')) return (params.names as string[]).map((name) => ({ name }));
    if (query.includes('FROM system.merge_tree_settings')) return [{ n: 1 }];
    if (query.includes('FROM system.tables')) {
      recorded.lookedUp.push(String(params.t));
      if (query.includes('count()')) return [{ n: scenario === 'fresh' ? 0 : 1 }];
      if (scenario === 'fresh') return [];
      // A table made by an older version: plain engine, another TTL, none of today's settings.
      return [{ engine: cluster ? 'ReplicatedMergeTree' : 'MergeTree', engine_full: 'MergeTree ORDER BY x TTL toDateTime(Timestamp) + toIntervalDay(999) SETTINGS index_granularity = 8192' }];
    }
    if (query.startsWith('SELECT formatQuerySingleLine')) return [{ f: String(params.q) }];
    if (query.includes(' FINAL')) return [];
    throw new Error(`the recording client has no answer for: ${query}`);
  };
  const client = {
    async command({ query }: { query: string }) {
      recorded.commands.push(query);
      return { query_id: '' };
    },
    async query({ query, query_params }: { query: string; query_params?: Record<string, unknown> }) {
      const rows = answer(query, query_params ?? {});
      return { json: async () => rows };
    },
    async insert() {
      throw new Error('a migration inserts nothing');
    },
  };
  const typed = client as unknown as ClickHouseClient;
  if (cluster) setStoreCluster(typed, cluster);
  return typed;
}

/** Every migration a collector with every component on runs at start, in order. */
async function collect(cluster: string, scenario: Scenario): Promise<Recorded> {
  const recorded: Recorded = { commands: [], lookedUp: [] };
  const client = recordingClient(scenario, cluster, recorded);
  const config: ClickHouseConfig = {
    url: 'http://clickhouse:8123',
    username: 'default',
    password: '',
    database: DATABASE,
    tracesTable: 'otel_traces',
    dataDir: '',
    retentionDays: 7,
    retentionRules: [{ name: 'errors', match: { status: 'error' }, days: 30 }],
    concurrency: 1,
    cluster,
  };
  await migrate(client, config);
  await migrateAttributeCatalog(client, config, false);
  const tokens = new TokenStore({ writer: client, reader: client }, DATABASE);
  await tokens.start();
  tokens.stop();
  const audit = new AuditLog(client, DATABASE, 30, pino({ level: 'silent' }));
  await audit.start();
  await audit.shutdown();
  await migrateStitchTables(client, DATABASE, { serviceGraphDays: 7, correlationsDays: 7, clockSkewDays: 7 });
  await migrateRedTable(client, DATABASE, 30);
  await migrateDropsTable(client, DATABASE, 30);
  await migrateAlertsTable(client, DATABASE, 30);
  return recorded;
}

const CREATE_TABLE_NAME = /^\s*CREATE TABLE IF NOT EXISTS `flowtrace`\.`(\w+)`/;
const tableOf = (sql: string) => CREATE_TABLE_NAME.exec(sql)?.[1];
const ON = ` ON CLUSTER '${CLUSTER}'`;
/** The tables whose spans-of-a-trace live together: sharded by trace ID. */
const TRACE_SHARDED = ['otel_traces', 'otel_traces_trace_id_ts', 'flowtrace_correlations', 'flowtrace_clock_skew'];

describe('cluster DDL', () => {
  let store: TestStore;
  const runs: Record<`${'single' | 'cluster'}-${Scenario}`, Recorded> = {} as never;
  /** ClickHouse's own formatting of a statement (throws what its parser says of a bad one). */
  const format = async (sql: string): Promise<string> => {
    const result = await store.clients.reader.query({ query: 'SELECT formatQuery({q:String}) AS f', query_params: { q: sql }, format: 'JSONEachRow' });
    return (await result.json<{ f: string }>())[0]!.f;
  };

  beforeAll(async () => {
    store = openTestStore('flowtrace-cluster-ddl-');
    for (const scenario of ['fresh', 'stale'] as const) {
      runs[`single-${scenario}`] = await collect('', scenario);
      runs[`cluster-${scenario}`] = await collect(CLUSTER, scenario);
    }
  });
  afterAll(async () => {
    await store?.close();
  });

  it('every statement of a cluster-mode migration is ClickHouse syntax (the embedded engine parses and formats it)', async () => {
    const statements = [...runs['cluster-fresh'].commands, ...runs['cluster-stale'].commands];
    expect(statements.length).toBeGreaterThan(80);
    const refused: string[] = [];
    for (const sql of statements) {
      const formatted = await format(sql).catch((err: unknown) => {
        refused.push(`${sql}\n  → ${String(err)}`);
        return '';
      });
      // The parser kept the cluster: it did not read ON CLUSTER as something else.
      if (formatted !== '') expect(formatted).toMatch(/ ON CLUSTER /);
    }
    expect(refused).toEqual([]);
    // …and the check can fail: the parser refuses what is not ClickHouse.
    await expect(format(`CREATE TABLE t${ON} AS u ENGINE = Distributed(`)).rejects.toThrow(/Syntax error/);
  });

  it('every CREATE, ALTER and DROP runs ON CLUSTER', () => {
    for (const scenario of ['fresh', 'stale'] as const) {
      // ON CLUSTER right after the object's name, in every statement.
      const header = new RegExp(`^(CREATE (DATABASE|TABLE|MATERIALIZED VIEW) IF NOT EXISTS|ALTER TABLE|DROP (TABLE|VIEW) IF EXISTS) \`flowtrace\`(\\.\`\\w+\`)?${ON}(\\s|$)`);
      for (const sql of runs[`cluster-${scenario}`].commands) expect(sql, sql).toMatch(header);
    }
    // The upgrade path alters TTLs, settings, columns and indexes: all of them ON CLUSTER.
    const alters = runs['cluster-stale'].commands.filter((sql) => sql.startsWith('ALTER'));
    for (const kind of ['MODIFY TTL', 'MODIFY SETTING', 'ADD COLUMN', 'ADD INDEX']) expect(alters.some((sql) => sql.includes(kind)), kind).toBe(true);
    for (const sql of alters) expect(sql, sql).toMatch(new RegExp(`^ALTER TABLE \`flowtrace\`\\.\`\\w+\`${ON} `));
  });

  it('makes every MergeTree-family table a Replicated local table under a Distributed one of the original name', () => {
    const single = runs['single-fresh'].commands.filter((sql) => /^\s*CREATE TABLE/.test(sql));
    const names = single.map((sql) => tableOf(sql)!);
    expect(names).toEqual(expect.arrayContaining(['otel_traces', 'otel_traces_trace_id_ts', 'flowtrace_attribute_catalog', 'flowtrace_api_tokens', 'flowtrace_audit', 'flowtrace_service_graph', 'flowtrace_correlations', 'flowtrace_clock_skew', 'flowtrace_red', 'flowtrace_drops', 'flowtrace_alerts']));
    const cluster = runs['cluster-fresh'].commands.filter((sql) => /^\s*CREATE TABLE/.test(sql));
    expect(cluster).toHaveLength(2 * single.length);
    for (const name of names) {
      const local = cluster.find((sql) => tableOf(sql) === `${name}_local`);
      expect(local, name).toBeDefined();
      expect(local).toContain(`\`flowtrace\`.\`${name}_local\`${ON} (`);
      expect(local).toMatch(/\) ENGINE = Replicated(Replacing|Summing|Aggregating)?MergeTree\b/);
      const distributed = cluster.find((sql) => tableOf(sql) === name);
      expect(distributed, name).toMatch(new RegExp(`^CREATE TABLE IF NOT EXISTS \`flowtrace\`\\.\`${name}\`${ON} AS \`flowtrace\`\\.\`${name}_local\`\\n  ENGINE = Distributed\\('${CLUSTER}', 'flowtrace', '${name}_local', .+\\)$`));
      if (TRACE_SHARDED.includes(name)) expect(distributed).toMatch(/, cityHash64\(TraceId\)\)$/);
    }
    // No MergeTree engine anywhere is left unreplicated.
    for (const sql of [...runs['cluster-fresh'].commands, ...runs['cluster-stale'].commands]) expect(sql).not.toMatch(/ENGINE = (?!Replicated|Distributed)/);
  });

  it('keeps columns, codecs, indexes, partitioning, ordering, TTL and settings of every local table as the single-node table has them', async () => {
    const single = runs['single-fresh'].commands.filter((sql) => /^\s*CREATE TABLE/.test(sql));
    for (const sql of single) {
      const name = tableOf(sql)!;
      const local = runs['cluster-fresh'].commands.find((s) => tableOf(s) === `${name}_local`)!;
      const asSingle = (await format(local)).replace(/ ON CLUSTER \w+/, '').replace(`${name}_local`, name).replace('ENGINE = Replicated', 'ENGINE = ');
      expect(asSingle, name).toBe(await format(sql));
    }
  });

  it('materialized views read the local span table and write into local targets', () => {
    const views = runs['cluster-fresh'].commands.filter((sql) => sql.startsWith('CREATE MATERIALIZED VIEW'));
    expect(views).toHaveLength(3);
    for (const sql of views) {
      expect(sql).toMatch(new RegExp(`^CREATE MATERIALIZED VIEW IF NOT EXISTS \`flowtrace\`\\.\`\\w+_mv\`${ON}\\s+TO \`flowtrace\`\\.\`\\w+_local\`\\s+AS`));
      expect(sql).toMatch(/FROM `flowtrace`\.`otel_traces_local`\s/);
    }
  });

  it('adds columns to the local and the Distributed table, indexes to the local one only', () => {
    const alters = runs['cluster-fresh'].commands.filter((sql) => sql.startsWith('ALTER'));
    const columns = alters.filter((sql) => sql.includes(' ADD COLUMN '));
    // Per table with added columns (the spans' and the logs'): each on the local and the Distributed table.
    for (const table of ['otel_traces', 'otel_logs']) {
      const distributed = columns.filter((sql) => sql.startsWith(`ALTER TABLE \`flowtrace\`.\`${table}\`${ON} ADD COLUMN`));
      const local = columns.filter((sql) => sql.startsWith(`ALTER TABLE \`flowtrace\`.\`${table}_local\`${ON} ADD COLUMN`));
      expect(distributed.length, table).toBeGreaterThan(5);
      expect(local, table).toHaveLength(distributed.length);
    }
    for (const sql of alters.filter((s) => s.includes(' ADD INDEX '))) expect(sql).toMatch(/^ALTER TABLE `flowtrace`\.`otel_(traces|logs)_local` ON CLUSTER/);
    expect(alters.some((sql) => sql.includes(' ADD INDEX '))).toBe(true);
  });

  it('compares the current definitions of the local tables (TTL, settings, string serialization)', () => {
    for (const scenario of ['fresh', 'stale'] as const) {
      const looked = runs[`cluster-${scenario}`].lookedUp;
      expect(looked.length).toBeGreaterThan(10);
      for (const name of looked) expect(name, name).toMatch(/_local$/);
    }
  });

  it('drops the attribute catalog on every node: views, the Distributed table, then the local one', () => {
    const drops = runs['cluster-fresh'].commands.filter((sql) => sql.startsWith('DROP'));
    expect(drops).toEqual([
      `DROP VIEW IF EXISTS \`flowtrace\`.\`flowtrace_attribute_catalog_span_mv\`${ON}`,
      `DROP VIEW IF EXISTS \`flowtrace\`.\`flowtrace_attribute_catalog_resource_mv\`${ON}`,
      `DROP TABLE IF EXISTS \`flowtrace\`.\`flowtrace_attribute_catalog\`${ON}`,
      `DROP TABLE IF EXISTS \`flowtrace\`.\`flowtrace_attribute_catalog_local\`${ON}`,
    ]);
  });

  it('single-node statements carry no trace of cluster mode, and are the cluster statements with it taken out', () => {
    for (const scenario of ['fresh', 'stale'] as const) {
      const single = runs[`single-${scenario}`].commands;
      for (const sql of single) expect(sql).not.toMatch(/ON CLUSTER|_local|Replicated|Distributed/);
      // …but for the insert-deduplication window: replicated tables have their own and take no such setting.
      const dedupWindow = (sql: string) => sql.includes('MODIFY SETTING non_replicated_deduplication_window');
      expect(runs[`cluster-${scenario}`].commands.filter(dedupWindow)).toEqual([]);
      // Cluster statements without ON CLUSTER, _local and Replicated, the Distributed tables and the
      // second copy of each column change and DROP left out: exactly the single-node sequence.
      const undone: string[] = [];
      for (const sql of runs[`cluster-${scenario}`].commands) {
        if (sql.includes('ENGINE = Distributed(')) continue;
        const plain = sql.replaceAll(ON, '').replaceAll('_local`', '`').replace(') ENGINE = Replicated', ') ENGINE = ');
        if (undone.at(-1) === plain) continue;
        undone.push(plain);
      }
      expect(undone).toEqual(single.filter((sql) => !dedupWindow(sql)));
      for (const name of runs[`single-${scenario}`].lookedUp) expect(name).not.toMatch(/_local$/);
    }
  });

  it('keeps an unmarked client single-node and refuses DDL it cannot place', () => {
    expect(storeCluster({} as ClickHouseClient)).toBe('');
    const ddl = 'CREATE TABLE IF NOT EXISTS `d`.`t` (x UInt8) ENGINE = MergeTree ORDER BY x';
    expect(createTableStatements(ddl, '', 'rand()')).toEqual([ddl]);
    expect(() => createTableStatements('CREATE TABLE IF NOT EXISTS `d`.`t` (x UInt8) ENGINE = Memory', CLUSTER, 'rand()')).toThrow(/not a MergeTree-family table/);
    expect(() => createTableStatements('CREATE TABLE `d`.`t` (x UInt8) ENGINE = MergeTree ORDER BY x', CLUSTER, 'rand()')).toThrow(/expected CREATE TABLE IF NOT EXISTS/);
  });

  it('refuses to start cluster mode over the tables of a single-node FlowTrace, on the embedded engine\'s own system.tables', async () => {
    const client = store.clients.writer;
    await client.command({ query: 'CREATE DATABASE IF NOT EXISTS leftovers' });
    await expect(refuseSingleNodeTables(client, 'leftovers', ['otel_traces'])).resolves.toBeUndefined();
    await client.command({ query: 'CREATE TABLE leftovers.otel_traces_local (x UInt8) ENGINE = MergeTree ORDER BY x' });
    await client.command({ query: 'CREATE TABLE leftovers.other (x UInt8) ENGINE = MergeTree ORDER BY x' });
    await expect(refuseSingleNodeTables(client, 'leftovers', ['otel_traces'])).resolves.toBeUndefined();
    await client.command({ query: 'CREATE TABLE leftovers.otel_traces (x UInt8) ENGINE = MergeTree ORDER BY x' });
    await client.command({ query: 'CREATE TABLE leftovers.flowtrace_red (x UInt8) ENGINE = AggregatingMergeTree ORDER BY x' });
    await expect(refuseSingleNodeTables(client, 'leftovers', ['otel_traces'])).rejects.toThrow(/database leftovers already has tables of a single-node FlowTrace \(flowtrace_red, otel_traces\)/);
  });
});

describe('storage.clickhouse.cluster', () => {
  const message = (env: Record<string, string>) => {
    try {
      loadConfig({ env });
      return '';
    } catch (err) {
      return String(err);
    }
  };

  it('is empty by default, and taken with a server URL', () => {
    expect(loadConfig({ env: {} }).storage.clickhouse.cluster).toBe('');
    expect(loadConfig({ env: { FLOWTRACE_STORAGE_CLICKHOUSE_URL: 'http://ch:8123', FLOWTRACE_STORAGE_CLICKHOUSE_CLUSTER: 'flow-cluster' } }).storage.clickhouse.cluster).toBe('flow-cluster');
  });

  it('is refused with the embedded engine, with a bad name, and beside a disk budget', () => {
    expect(message({ FLOWTRACE_STORAGE_CLICKHOUSE_CLUSTER: 'c1' })).toMatch(/FLOWTRACE_STORAGE_CLICKHOUSE_CLUSTER.*needs a ClickHouse server \(storage\.clickhouse\.url\)/);
    expect(message({ FLOWTRACE_STORAGE_CLICKHOUSE_URL: 'http://ch:8123', FLOWTRACE_STORAGE_CLICKHOUSE_CLUSTER: "c' OR 1" })).toMatch(/expected a cluster name/);
    expect(message({ FLOWTRACE_STORAGE_CLICKHOUSE_URL: 'http://ch:8123', FLOWTRACE_STORAGE_CLICKHOUSE_CLUSTER: 'c1', FLOWTRACE_STORAGE_MAX_DISK_GB: '10' })).toMatch(/FLOWTRACE_STORAGE_MAX_DISK_GB.*not supported with storage\.clickhouse\.cluster/);
  });
});
