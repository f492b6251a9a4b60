import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, FLOWTRACE_BIN, getJson, newTempDir, sql, startCollector, waitFor } from './helpers/collector.js';
import { postTraces } from './helpers/otlp-send.js';
import { protobufRequest, sdkSpans } from './helpers/spans.js';

/**
 * `flowtrace backup` / `flowtrace restore` on the embedded store (backup/README.md): a backup taken
 * through the API while spans arrive, restored offline into a fresh data directory, read back
 * through the API of a collector started on it; and every refusal, with its message and exit code.
 */

const exec = promisify(execFile);

/** Runs the CLI; resolves to its exit code and outputs whatever the code. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [FLOWTRACE_BIN, ...args], { timeout: 60_000, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

interface TraceJson {
  spans: unknown[];
}

interface Summary {
  name: string;
  path: string;
  tables: Array<{ table: string; rows: number; bytes: number }>;
  rows: number;
}

const protobuf = 'application/x-protobuf';
const rowsOf = (s: { tables: Summary['tables'] }, table: string) => s.tables.find((t) => t.table === table)?.rows;

afterAll(cleanup);

describe('backup and restore of the embedded store', () => {
  it('backs up while spans arrive, refuses what it must, and a restored store serves the same traces and tokens', async () => {
    const backupDir = newTempDir('ft-backups-');
    const collector = await startCollector({ config: `storage:\n  backup_dir: ${JSON.stringify(backupDir)}\n` });
    const api = collector.apiUrl;

    // A trace stored before the backup, read back as the API serves it.
    const kept = await sdkSpans(6, 'backup-orders');
    expect((await postTraces(collector.httpEndpoint, protobufRequest(kept.spans), protobuf)).status).toBe(200);
    const before = await waitFor(async () => {
      const t = await getJson<TraceJson>(`${api}/api/traces/${kept.traceId}`);
      return t && t.spans.length === 6 ? t : undefined;
    }, 'the first trace stored');
    // A read-only token: stored as a digest, it comes back with the restore.
    const created = await fetch(`${api}/api/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'reader', scopes: ['read'] }) });
    expect(created.status).toBe(201);
    const readToken = ((await created.json()) as { token: string }).token;

    // Spans keep arriving while the backup runs.
    let sending = true;
    let sent = 0;
    const sender = (async () => {
      while (sending) {
        const t = await sdkSpans(20, 'backup-load');
        if ((await postTraces(collector.httpEndpoint, protobufRequest(t.spans), protobuf)).status === 200) sent++;
      }
    })();
    await waitFor(async () => (sent >= 2 ? true : undefined), 'load under way');
    const backup = await cli(['backup', '--api', api, '--name', 'nightly-1', '--json']);
    sending = false;
    await sender;
    expect(backup.code, backup.stderr).toBe(0);
    const summary = JSON.parse(backup.stdout) as Summary;
    expect(summary.path).toBe(join(backupDir, 'nightly-1'));
    expect(rowsOf(summary, 'otel_traces')).toBeGreaterThanOrEqual(6);
    expect(rowsOf(summary, 'flowtrace_api_tokens')).toBeGreaterThanOrEqual(1);
    expect(summary.tables.map((t) => t.table)).toEqual(expect.arrayContaining(['otel_traces', 'otel_traces_trace_id_ts', 'flowtrace_audit', 'flowtrace_drops']));

    // Refusals, each with its exit code and a message naming the problem.
    const badName = await cli(['backup', '--api', api, '--name', '../etc']);
    expect(badName.code, badName.stderr).toBe(2);
    expect(badName.stderr).toMatch(/"\.\.\/etc" is not a backup name/);
    const taken = await cli(['backup', '--api', api, '--name', 'nightly-1']);
    expect(taken.code, taken.stderr).toBe(2);
    expect(taken.stderr).toMatch(/backup "nightly-1" already exists/);
    for (const body of [{ name: '../x' }, { name: '/tmp/x' }, { name: 'a/b' }, { path: '/tmp' }]) {
      const res = await fetch(`${api}/api/admin/backup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    const offlineWhileRunning = await cli(['backup', '--data', collector.dataDir, '--name', 'offline-1']);
    expect(offlineWhileRunning.code, offlineWhileRunning.stderr).toBe(1);
    expect(offlineWhileRunning.stderr).toMatch(/is in use by a running collector \(pid \d+\): back it up online/);
    const restoreOverRunning = await cli(['restore', '--from', summary.path, '--data', collector.dataDir]);
    expect(restoreOverRunning.code, restoreOverRunning.stderr).toBe(1);
    expect(restoreOverRunning.stderr).toMatch(/is in use by a running collector/);

    // User SQL cannot write a backup of its own, even into the directory the engine allows.
    const sneaky = await fetch(`${api}/api/sql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: `BACKUP DATABASE default TO File('${join(backupDir, 'sneaky')}')` }) });
    expect(sneaky.status).toBe(400);
    expect(existsSync(join(backupDir, 'sneaky'))).toBe(false);

    // Only the admin scope may back up; both the refusal and the backup are audited.
    const forbidden = await fetch(`${api}/api/admin/backup`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${readToken}` }, body: '{}' });
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { error: string }).error).toMatch(/lacks the scope "admin"/);
    const second = await cli(['backup', '--api', api, '--name', 'nightly-2']);
    expect(second.code, second.stderr).toBe(0); // anonymous loopback access holds every scope
    const audit = await waitFor(async () => {
      const lines = collector.logs.join('\n').split('\n').filter((l) => l.includes('"component":"audit"') && l.includes('/api/admin/backup'));
      return lines.some((l) => l.includes('"action":"storage.backup"') && l.includes('"status":201')) && lines.some((l) => l.includes('"action":"auth.failure"') && l.includes('"status":403')) ? lines : undefined;
    }, 'audit lines of the backups');
    expect(audit.some((l) => l.includes('backup nightly-1'))).toBe(true);

    expect(await collector.stop()).toBe(0);

    // Offline, the stopped collector's directory: everything it stored, the load's spans included.
    const offline = await cli(['backup', '--data', collector.dataDir, '--name', 'offline-1', '--json'], { FLOWTRACE_STORAGE_BACKUP_DIR: backupDir });
    expect(offline.code, offline.stderr).toBe(0);
    const offlineSummary = JSON.parse(offline.stdout) as Summary;
    expect(offlineSummary.path).toBe(join(backupDir, 'offline-1'));
    expect(rowsOf(offlineSummary, 'otel_traces')).toBeGreaterThanOrEqual(rowsOf(summary, 'otel_traces')!);
    const nowhere = await cli(['backup', '--data', join(backupDir, 'no-such-store'), '--name', 'offline-2'], { FLOWTRACE_STORAGE_BACKUP_DIR: backupDir });
    expect(nowhere.code, nowhere.stderr).toBe(2);
    expect(nowhere.stderr).toMatch(/holds no FlowTrace store/);

    // Offline: a fresh data directory, refused once it holds data.
    const restored = join(newTempDir('ft-restored-'), 'data');
    const restore = await cli(['restore', '--from', summary.path, '--data', restored, '--json']);
    expect(restore.code, restore.stderr).toBe(0);
    const restoreSummary = JSON.parse(restore.stdout) as Summary;
    expect(restoreSummary.tables).toEqual(summary.tables);
    const again = await cli(['restore', '--from', summary.path, '--data', restored]);
    expect(again.code, again.stderr).toBe(2);
    expect(again.stderr).toMatch(/is not empty .*restore into a new or empty data directory/);
    const notBackup = await cli(['restore', '--from', collector.dataDir, '--data', join(newTempDir('ft-restored-'), 'data')]);
    expect(notBackup.code, notBackup.stderr).toBe(2);
    expect(notBackup.stderr).toMatch(/is not a FlowTrace backup/);

    const revived = await startCollector({ dataDir: restored });
    try {
      const [count] = await sql<{ n: string }>(revived.apiUrl, 'SELECT count() AS n FROM otel_traces');
      expect(Number(count!.n)).toBe(rowsOf(summary, 'otel_traces'));
      expect(await getJson<TraceJson>(`${revived.apiUrl}/api/traces/${kept.traceId}`)).toEqual(before);
      // The token made before the backup still opens the API.
      const services = await fetch(`${revived.apiUrl}/api/services`, { headers: { authorization: `Bearer ${readToken}` } });
      expect(services.status).toBe(200);
    } finally {
      await revived.stop();
    }
  }, 180_000);
});
