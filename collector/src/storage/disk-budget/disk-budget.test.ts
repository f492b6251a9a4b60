import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, type TestStore } from '../../../../exporters/clickhouse/embedded.testing.js';
import { migrate } from '../../../../exporters/clickhouse/schema.js';
import { DropLedger } from '../../pipeline/drop-ledger/ledger.js';
import { DiskBudget } from './disk-budget.js';

// The real engine: sizes come from its system.parts, drops are its DROP PARTITION.
let store: TestStore;
beforeAll(() => {
  store = openTestStore('ft-disk-budget-');
});
afterAll(() => store.close());

const DB = 'budget_test';
const TABLE = `\`${DB}\`.otel_traces`;

async function rows<T>(query: string): Promise<T[]> {
  return (await store.clients.reader.query({ query, format: 'JSONEachRow' })).json<T>();
}

/** Every table's active bytes in `db`: what the budget counts. */
async function databaseBytes(db: string): Promise<number> {
  const [row] = await rows<{ bytes: string }>(`SELECT toString(sum(bytes_on_disk)) AS bytes FROM system.parts WHERE database = '${db}' AND active`);
  return Number(row!.bytes);
}

async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const values = (await registry.getSingleMetric(name)!.get()).values;
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((sum, v) => sum + v.value, 0);
}

describe('disk budget (storage.max_disk_gb)', () => {
  it('drops the oldest day partitions until the tables fit, never today, and counts every dropped span', async () => {
    await migrate(store.clients.writer, { url: '', username: 'default', password: '', database: DB, tracesTable: 'otel_traces', dataDir: store.dataDir, retentionDays: 30, concurrency: 1 });
    // Five days, one INSERT (one part per day, so no merge changes a size under the test's feet):
    // day d has 40 spans of 'shop' and d spans of 'pay'.
    const values: string[] = [];
    for (const age of [4, 3, 2, 1, 0]) {
      for (let i = 0; i < 40 + age; i++) {
        values.push(`(now64(9) - INTERVAL ${age} DAY, '${age}-${i}', 's${i}', 'op', ${i < 40 ? "'shop'" : "'pay'"}, 'Server', 'Unset')`);
      }
    }
    await store.clients.writer.command({ query: `INSERT INTO ${TABLE} (Timestamp, TraceId, SpanId, SpanName, ServiceName, SpanKind, StatusCode) VALUES ${values.join(', ')}` });
    const parts = await rows<{ id: string; bytes: string }>(
      `SELECT partition_id AS id, toString(sum(bytes_on_disk)) AS bytes FROM system.parts WHERE database = '${DB}' AND table = 'otel_traces' AND active GROUP BY id ORDER BY id`,
    );
    expect(parts).toHaveLength(5);
    const size = parts.map((p) => Number(p.bytes));
    const spanBytes = size.reduce((a, b) => a + b, 0);
    // Every table counts (the trace-ID lookup table too, filled by its view), not only the span table.
    const total = await databaseBytes(DB);
    expect(total).toBeGreaterThan(spanBytes);

    const registry = new Registry();
    const ledger = new DropLedger(registry);
    const logs: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) });
    // Room for all but the two oldest days.
    const budget = new DiskBudget({ client: store.clients.writer, database: DB, spanTable: 'otel_traces', logsTable: 'otel_logs', maxBytes: total - size[0]! - size[1]!, intervalMs: 60_000, drops: ledger, registry, logger });

    const first = await budget.check();
    expect(first.bytes).toBe(total);
    expect(first.dropped.map((d) => d.rows)).toEqual([44, 43]);
    expect(first.overWithTodayOnly).toBe(false);
    const left = await rows<{ age: string; n: string }>(`SELECT toString(dateDiff('day', toDate(Timestamp), today())) AS age, toString(count()) AS n FROM ${TABLE} GROUP BY age ORDER BY age`);
    expect(left).toEqual([{ age: '0', n: '40' }, { age: '1', n: '41' }, { age: '2', n: '42' }]);
    expect(await metric(registry, 'flowtrace_storage_budget_dropped_partitions_total', { table: 'otel_traces' })).toBe(2);
    expect(await metric(registry, 'flowtrace_spans_dropped_by_stage_total', { stage: 'storage', reason: 'disk_budget', service: 'shop' })).toBe(80);
    expect(await metric(registry, 'flowtrace_spans_dropped_by_stage_total', { stage: 'storage', reason: 'disk_budget', service: 'pay' })).toBe(7);
    expect(ledger.pending.size).toBeGreaterThan(0); // rows for flowtrace_drops
    expect(await metric(registry, 'flowtrace_storage_bytes', { table: 'otel_traces' })).toBe(spanBytes);
    expect(await metric(registry, 'flowtrace_storage_bytes')).toBe(total);

    // Within the budget now: a check drops nothing.
    expect((await budget.check()).dropped).toEqual([]);

    // A budget today's spans alone exceed: every older day goes, today stays, and it says so.
    const tiny = new DiskBudget({ client: store.clients.writer, database: DB, spanTable: 'otel_traces', logsTable: 'otel_logs', maxBytes: 1, intervalMs: 60_000, drops: ledger, registry: new Registry(), logger });
    const last = await tiny.check();
    expect(last.dropped.map((d) => d.rows)).toEqual([42, 41]);
    expect(last.overWithTodayOnly).toBe(true);
    expect(await rows<{ n: string }>(`SELECT toString(count()) AS n FROM ${TABLE}`)).toEqual([{ n: '40' }]);
    expect(logs.some((l) => l.includes('alone exceed storage.max_disk_gb'))).toBe(true);
  });

  it('counts otel_logs and drops the oldest days of spans and log records alike, oldest day first across both', async () => {
    const db = 'budget_logs_test';
    await migrate(store.clients.writer, { url: '', username: 'default', password: '', database: db, tracesTable: 'otel_traces', dataDir: store.dataDir, retentionDays: 30, concurrency: 1 });
    // One INSERT per table (one part per day). Spans: days 4, 2 and today; log records: days 3, 2, 1 and today.
    // Each day's rows are 30 of 'shop' and the day's age of 'pay'.
    const day = (age: number, row: (service: string) => string) => Array.from({ length: 30 + age }, (_, i) => row(i < 30 ? 'shop' : 'pay'));
    const spans = [4, 2, 0].flatMap((age) => day(age, (service) => `(now64(9) - INTERVAL ${age} DAY, 't${age}', 's', 'op', '${service}', 'Server', 'Unset')`));
    await store.clients.writer.command({ query: `INSERT INTO \`${db}\`.otel_traces (Timestamp, TraceId, SpanId, SpanName, ServiceName, SpanKind, StatusCode) VALUES ${spans.join(', ')}` });
    const records = [3, 2, 1, 0].flatMap((age) => day(age, (service) => `(now64(9) - INTERVAL ${age} DAY, '${service}', 'record of day -${age}')`));
    await store.clients.writer.command({ query: `INSERT INTO \`${db}\`.otel_logs (Timestamp, ServiceName, Body) VALUES ${records.join(', ')}` });
    const parts = await rows<{ table: string; age: string; bytes: string }>(
      `SELECT table, toString(dateDiff('day', toDate(any(partition)), today())) AS age, toString(sum(bytes_on_disk)) AS bytes
       FROM system.parts WHERE database = '${db}' AND table IN ('otel_traces', 'otel_logs') AND active GROUP BY table, partition_id`,
    );
    const size = (table: string, age: number) => Number(parts.find((p) => p.table === table && p.age === String(age))!.bytes);
    expect(parts).toHaveLength(7);
    const total = await databaseBytes(db);

    const registry = new Registry();
    const ledger = new DropLedger(registry);
    const logger = pino({ level: 'silent' });
    // Room for all but span day 4, log day 3 and one table's day 2: the span table's goes first on a tie.
    const maxBytes = total - size('otel_traces', 4) - size('otel_logs', 3) - size('otel_traces', 2);
    const budget = new DiskBudget({ client: store.clients.writer, database: db, spanTable: 'otel_traces', logsTable: 'otel_logs', maxBytes, intervalMs: 60_000, drops: ledger, registry, logger });
    const first = await budget.check();
    expect(first.bytes).toBe(total);
    expect(first.dropped.map((d) => [d.table, d.rows])).toEqual([['otel_traces', 34], ['otel_logs', 33], ['otel_traces', 32]]);
    expect(first.overWithTodayOnly).toBe(false);
    const ages = (table: string) => rows<{ age: string }>(`SELECT DISTINCT toString(dateDiff('day', toDate(Timestamp), today())) AS age FROM \`${db}\`.${table} ORDER BY age`);
    expect(await ages('otel_traces')).toEqual([{ age: '0' }]);
    expect(await ages('otel_logs')).toEqual([{ age: '0' }, { age: '1' }, { age: '2' }]);
    expect(await metric(registry, 'flowtrace_storage_budget_dropped_partitions_total', { table: 'otel_traces' })).toBe(2);
    expect(await metric(registry, 'flowtrace_storage_budget_dropped_partitions_total', { table: 'otel_logs' })).toBe(1);
    // Spans under `storage`, log records under `logs/storage`, per service.
    const dropped = (stage: string, service: string) => metric(registry, 'flowtrace_spans_dropped_by_stage_total', { stage, reason: 'disk_budget', service });
    expect(await dropped('storage', 'shop')).toBe(60);
    expect(await dropped('storage', 'pay')).toBe(6);
    expect(await dropped('logs/storage', 'shop')).toBe(30);
    expect(await dropped('logs/storage', 'pay')).toBe(3);
    expect(await metric(registry, 'flowtrace_storage_bytes', { table: 'otel_logs' })).toBe(size('otel_logs', 3) + size('otel_logs', 2) + size('otel_logs', 1) + size('otel_logs', 0));

    // Only today is left to spare: every older log day goes too, today's spans and records stay.
    const tiny = new DiskBudget({ client: store.clients.writer, database: db, spanTable: 'otel_traces', logsTable: 'otel_logs', maxBytes: 1, intervalMs: 60_000, drops: ledger, registry: new Registry(), logger });
    const last = await tiny.check();
    expect(last.dropped.map((d) => [d.table, d.rows])).toEqual([['otel_logs', 32], ['otel_logs', 31]]);
    expect(last.overWithTodayOnly).toBe(true);
    expect(await ages('otel_traces')).toEqual([{ age: '0' }]);
    expect(await ages('otel_logs')).toEqual([{ age: '0' }]);
    expect(await dropped('logs/storage', 'pay')).toBe(3 + 2 + 1);
  });
});
