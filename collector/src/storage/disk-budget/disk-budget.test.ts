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

async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const values = (await registry.getSingleMetric(name)!.get()).values;
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((sum, v) => sum + v.value, 0);
}

describe('disk budget (storage.max_disk_gb)', () => {
  it('drops the oldest day partitions until the span table fits, never today, and counts every dropped span', async () => {
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
    const total = size.reduce((a, b) => a + b, 0);

    const registry = new Registry();
    const ledger = new DropLedger(registry);
    const logs: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) });
    // Room for all but the two oldest days.
    const budget = new DiskBudget({ client: store.clients.writer, database: DB, spanTable: 'otel_traces', maxBytes: total - size[0]! - size[1]!, intervalMs: 60_000, drops: ledger, registry, logger });

    const first = await budget.check();
    expect(first.bytes).toBe(total);
    expect(first.dropped.map((d) => d.spans)).toEqual([44, 43]);
    expect(first.overWithTodayOnly).toBe(false);
    const left = await rows<{ age: string; n: string }>(`SELECT toString(dateDiff('day', toDate(Timestamp), today())) AS age, toString(count()) AS n FROM ${TABLE} GROUP BY age ORDER BY age`);
    expect(left).toEqual([{ age: '0', n: '40' }, { age: '1', n: '41' }, { age: '2', n: '42' }]);
    expect(await metric(registry, 'flowtrace_storage_budget_dropped_partitions_total')).toBe(2);
    expect(await metric(registry, 'flowtrace_spans_dropped_by_stage_total', { stage: 'storage', reason: 'disk_budget', service: 'shop' })).toBe(80);
    expect(await metric(registry, 'flowtrace_spans_dropped_by_stage_total', { stage: 'storage', reason: 'disk_budget', service: 'pay' })).toBe(7);
    expect(ledger.pending.size).toBeGreaterThan(0); // rows for flowtrace_drops
    expect(await metric(registry, 'flowtrace_storage_bytes', { table: 'otel_traces' })).toBe(total);

    // Within the budget now: a check drops nothing.
    expect((await budget.check()).dropped).toEqual([]);

    // A budget today's spans alone exceed: every older day goes, today stays, and it says so.
    const tiny = new DiskBudget({ client: store.clients.writer, database: DB, spanTable: 'otel_traces', maxBytes: 1, intervalMs: 60_000, drops: ledger, registry: new Registry(), logger });
    const last = await tiny.check();
    expect(last.dropped.map((d) => d.spans)).toEqual([42, 41]);
    expect(last.overWithTodayOnly).toBe(true);
    expect(await rows<{ n: string }>(`SELECT toString(count()) AS n FROM ${TABLE}`)).toEqual([{ n: '40' }]);
    expect(logs.some((l) => l.includes("today's spans alone exceed storage.max_disk_gb"))).toBe(true);
  });
});
