import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClients } from '../../../exporters/clickhouse/index.js';
import { openTestStore, type TestStore } from '../../../exporters/clickhouse/embedded.testing.js';
import { AUDIT_TABLE, AuditLog, type AuditRecord } from './audit.js';

let testStore: TestStore;
let clients: ClickHouseClients;

beforeAll(() => {
  testStore = openTestStore('ft-audit-');
  clients = testStore.clients;
});
afterAll(() => testStore.close());

function record(overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    time: new Date(),
    principalId: 'token:abc',
    principalName: 'ci',
    action: 'sql',
    method: 'POST',
    route: '/api/sql',
    url: '/api/sql',
    statement: 'SELECT 1',
    clientAddress: '127.0.0.1',
    status: 200,
    resultBytes: 42,
    resultRows: 1,
    durationMs: 1.5,
    error: '',
    ...overrides,
  };
}

async function rows(database: string): Promise<Array<Record<string, unknown>>> {
  const result = await clients.reader.query({ query: `SELECT * FROM ${database}.${AUDIT_TABLE} ORDER BY Timestamp`, format: 'JSONEachRow' });
  return result.json();
}

function logCapture() {
  const lines: string[] = [];
  return { lines, logger: pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }) };
}

describe('audit log', () => {
  it('writes a log line at once and a row in flowtrace_audit on flush', async () => {
    const { lines, logger } = logCapture();
    const audit = new AuditLog(clients.writer, 'audit_rows', 30, logger, { flushIntervalMs: 60_000 });
    await audit.start();
    audit.record(record());
    audit.record(record({ action: 'auth.failure', status: 401, principalId: 'unauthenticated', resultRows: undefined, error: 'unknown API token' }));
    expect(lines.filter((l) => l.includes('"component":"audit"'))).toHaveLength(2);
    await audit.shutdown();
    const stored = await rows('audit_rows');
    expect(stored.map((r) => [r.Action, r.Status, r.PrincipalId, r.ResultRows])).toEqual([
      ['sql', 200, 'token:abc', 1],
      ['auth.failure', 401, 'unauthenticated', null],
    ]);
  });

  it('keeps the table for its own retention and changes it on restart', async () => {
    const first = new AuditLog(clients.writer, 'audit_ttl', 30, pino({ level: 'silent' }));
    await first.start();
    await first.shutdown();
    const second = new AuditLog(clients.writer, 'audit_ttl', 7, pino({ level: 'silent' }));
    await second.start();
    await second.shutdown();
    const result = await clients.reader.query({ query: `SELECT engine_full FROM system.tables WHERE database = 'audit_ttl' AND name = '${AUDIT_TABLE}'`, format: 'JSONEachRow' });
    const [row] = await result.json<{ engine_full: string }>();
    expect(row!.engine_full).toContain('toIntervalDay(7)');
  });

  it('never stores or logs a token, even one put in a statement or URL', async () => {
    const { lines, logger } = logCapture();
    const audit = new AuditLog(clients.writer, 'audit_redact', 30, logger);
    await audit.start();
    const token = 'ft_' + 'x'.repeat(43);
    audit.record(record({ statement: `SELECT '${token}'`, url: `/api/sql?t=${token}` }));
    await audit.shutdown();
    expect(lines.join('')).not.toContain(token);
    expect(JSON.stringify(await rows('audit_redact'))).not.toContain(token);
  });

  it('is bounded: beyond the buffer, rows are dropped (and counted), requests never wait', async () => {
    const { lines, logger } = logCapture();
    const audit = new AuditLog(clients.writer, 'audit_bounded', 30, logger, { maxBuffered: 3, flushIntervalMs: 60_000 });
    await audit.start();
    for (let i = 0; i < 5; i++) audit.record(record());
    await audit.shutdown();
    expect(await rows('audit_bounded')).toHaveLength(3);
    expect(lines.some((l) => l.includes('"dropped":2'))).toBe(true);
  });
});
