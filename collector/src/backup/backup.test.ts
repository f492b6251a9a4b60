import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openClickHouse, type ClickHouseClients } from '../../../exporters/clickhouse/index.js';
import { migrate } from '../../../exporters/clickhouse/schema.js';
import type { ClickHouseConfig } from '../../../exporters/clickhouse/config.js';
import { backupDatabase, BackupRefusedError, MANIFEST_FILE, readManifest, restoreDatabase } from './backup.js';
import { backupDirOf, backupNameProblem, defaultBackupName } from './backup-name.js';

const dirs: string[] = [];
const temp = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function store(dataDir: string, backupDir: string): { clients: ClickHouseClients; config: ClickHouseConfig } {
  const config: ClickHouseConfig = { url: '', username: 'default', password: '', database: 'default', tracesTable: 'otel_traces', dataDir, retentionDays: 3650, concurrency: 1, backupDir };
  return { clients: openClickHouse(config), config };
}

describe('backup names', () => {
  it('takes a plain name and refuses anything that could be a path', () => {
    for (const ok of ['nightly', 'flowtrace-20261206-113000', 'a.b_c-1']) expect(backupNameProblem(ok)).toBeUndefined();
    for (const bad of ['', '../x', 'a/b', '/tmp/x', '.hidden', 'a..b', 'a b', 'x'.repeat(101), 'ä', 'a\\b']) expect(backupNameProblem(bad), bad).toMatch(/is not a backup name/);
    expect(backupNameProblem(defaultBackupName(new Date('2026-12-06T11:30:05.123Z')))).toBeUndefined();
    expect(defaultBackupName(new Date('2026-12-06T11:30:05.123Z'))).toBe('flowtrace-20261206-113005');
  });

  it('puts backups beside the data directory unless storage.backup_dir says where', () => {
    expect(backupDirOf({ data_dir: './data', backup_dir: '' }, '/srv/ft')).toBe('/srv/ft/data/backups');
    expect(backupDirOf({ data_dir: './data', backup_dir: '/var/backups/ft' }, '/srv/ft')).toBe('/var/backups/ft');
  });
});

describe('backup and restore through a ClickHouse client (the statements a server gets too)', () => {
  it('restores into a fresh store the rows the backup counted, and refuses a store that has the tables', async () => {
    const backupDir = temp('ft-bk-');
    const source = store(temp('ft-src-'), backupDir);
    await migrate(source.clients.writer, source.config);
    await source.clients.writer.command({
      query: `INSERT INTO otel_traces (Timestamp, TraceId, SpanId, ServiceName, SpanName) SELECT now64(9) - number, lower(hex(number % 7)), lower(hex(number)), 'svc', 'op' FROM numbers(500)`,
    });
    const summary = await backupDatabase(source.clients.writer, { database: 'default', backupDir, name: 'b1' });
    expect(summary.rows).toBe(summary.tables.reduce((n, t) => n + t.rows, 0));
    expect(summary.tables.find((t) => t.table === 'otel_traces')?.rows).toBe(500);
    expect(summary.tables.find((t) => t.table === 'otel_traces_trace_id_ts')?.rows).toBe(7);
    expect(JSON.parse(readFileSync(join(summary.path, MANIFEST_FILE), 'utf8'))).toMatchObject({ database: 'default', rows: summary.rows });
    // The probe that counted the backup's rows is gone again.
    const dbs = await source.clients.reader.query({ query: "SELECT name FROM system.databases WHERE name LIKE 'flowtrace_backup_check%'", format: 'JSONEachRow' });
    expect(await dbs.json()).toEqual([]);

    const refused = await backupDatabase(source.clients.writer, { database: 'default', backupDir, name: 'b1' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BackupRefusedError);
    expect((refused as BackupRefusedError).reason).toBe('exists');
    await expect(backupDatabase(source.clients.writer, { database: 'default', backupDir, name: '../b1' })).rejects.toThrow(/is not a backup name/);
    // Restoring over the tables it came from is refused before anything is written.
    await expect(restoreDatabase(source.clients.writer, summary.path)).rejects.toThrow(/already holds \d+ tables .*restore into an empty data directory/);
    await source.clients.close();

    // chdb binds one data directory per process: the second store opens once the first is closed.
    const target = store(temp('ft-dst-'), backupDir);
    const restored = await restoreDatabase(target.clients.writer, summary.path);
    expect(restored.tables).toEqual(summary.tables);
    const count = await target.clients.reader.query({ query: "SELECT count() AS n, uniqExact(TraceId) AS t FROM otel_traces WHERE ServiceName = 'svc'", format: 'JSONEachRow' });
    expect((await count.json<{ n: unknown; t: unknown }>()).map((r) => [Number(r.n), Number(r.t)])).toEqual([[500, 7]]);
    // The view came back too: new spans reach the trace-ID lookup.
    await target.clients.writer.command({ query: `INSERT INTO otel_traces (Timestamp, TraceId, SpanId, ServiceName, SpanName) VALUES (now64(9), 'new-trace', 'a', 'svc', 'op')` });
    const lookup = await target.clients.reader.query({ query: "SELECT count() AS n FROM otel_traces_trace_id_ts WHERE TraceId = 'new-trace'", format: 'JSONEachRow' });
    expect((await lookup.json<{ n: unknown }>()).map((r) => Number(r.n))).toEqual([1]);
    await target.clients.close();
  });

  it('refuses a directory that is not a FlowTrace backup', async () => {
    await expect(readManifest(temp('ft-nobk-'))).rejects.toThrow(/is not a FlowTrace backup \(no flowtrace-backup.json\)/);
  });
});
