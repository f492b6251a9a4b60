import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RetentionPolicy } from '../../collector/src/storage/retention/policy.js';
import type { ClickHouseConfig } from './config.js';
import { openTestStore, type TestStore } from './embedded.testing.js';
import { reconcileRetention } from './retention-ttl.js';
import { migrate, tableName } from './schema.js';

// The real engine: the TTL clauses must be accepted, compared and applied by ClickHouse itself.
let store: TestStore;
beforeAll(() => {
  store = openTestStore('ft-retention-');
});
afterAll(() => store.close());

/** A service name that must reach the TTL only as a literal. */
const NASTY = "pay'ments\\' OR 1=1 --";

const RULES: RetentionPolicy['rules'] = [
  { name: 'errors', match: { status: 'error' }, days: 30 },
  { name: 'payments', match: { services: [NASTY] }, days: 90 },
  { name: 'x-methods', match: { services: ['x'], methodSpans: true }, days: 2 },
];

function config(database: string, retentionRules: RetentionPolicy['rules'] = RULES, retentionDays = 7): ClickHouseConfig {
  return { url: '', username: 'default', password: '', database, tracesTable: 'otel_traces', dataDir: store.dataDir, retentionDays, retentionRules, concurrency: 1 };
}

async function rows<T>(query: string): Promise<T[]> {
  return (await store.clients.reader.query({ query, format: 'JSONEachRow' })).json<T>();
}

async function engineFull(database: string, table: string): Promise<string> {
  const [row] = await rows<{ engine_full: string }>(`SELECT engine_full FROM system.tables WHERE database = '${database}' AND name = '${table}'`);
  return row!.engine_full;
}

describe('retention rules in the store', () => {
  it('creates the span table with one DELETE WHERE clause per rule, and alters only when the rules change', async () => {
    const db = 'retention_migrate';
    await migrate(store.clients.writer, config(db, []));
    expect(await engineFull(db, 'otel_traces')).toContain('TTL toDateTime(Timestamp) + toIntervalDay(7) SETTINGS');
    expect(await engineFull(db, 'otel_traces')).toContain('ttl_only_drop_parts = 1');

    // A start with rules: both tables altered, row-level TTL merges switched on.
    const policy = { defaultDays: 7, rules: RULES };
    await migrate(store.clients.writer, config(db));
    const span = await engineFull(db, 'otel_traces');
    expect(span).toContain("toDateTime(Timestamp) + toIntervalDay(30) WHERE (StatusCode = 'Error'), ");
    expect(span).toContain("toIntervalDay(90) WHERE (ServiceName = 'pay\\'ments\\\\\\' OR 1=1 --') AND (NOT (StatusCode = 'Error'))");
    expect(span).toContain('ttl_only_drop_parts = 0');
    expect(await engineFull(db, 'otel_traces_trace_id_ts')).toContain('TTL toDateTime(Start) + toIntervalDay(90) SETTINGS');

    // The same rules again (the next start): nothing to do.
    expect(await reconcileRetention(store.clients.writer, db, 'otel_traces', 'otel_traces_trace_id_ts', policy)).toEqual({ ttl: [], settings: [] });
    // One rule's days changed: both TTLs follow (the lookup keeps the longest, now 120).
    const longer = { defaultDays: 7, rules: RULES.map((r) => (r.name === 'payments' ? { ...r, days: 120 } : r)) };
    expect(await reconcileRetention(store.clients.writer, db, 'otel_traces', 'otel_traces_trace_id_ts', longer)).toEqual({ ttl: ['otel_traces', 'otel_traces_trace_id_ts'], settings: [] });
    // Back to the default alone: the plain TTL and whole-part drops, as before rules existed.
    expect(await reconcileRetention(store.clients.writer, db, 'otel_traces', 'otel_traces_trace_id_ts', { defaultDays: 7, rules: [] })).toEqual({
      ttl: ['otel_traces', 'otel_traces_trace_id_ts'],
      settings: ['otel_traces'],
    });
    expect(await engineFull(db, 'otel_traces')).toContain('TTL toDateTime(Timestamp) + toIntervalDay(7) SETTINGS');
    expect(await engineFull(db, 'otel_traces')).toContain('ttl_only_drop_parts = 1');
  });

  it('deletes each span at the age of the first rule it matches, row by row within a day', async () => {
    const db = 'retention_apply';
    const c = config(db);
    await migrate(store.clients.writer, c);
    const DAY = 86_400_000_000_000n;
    const now = BigInt(Date.now()) * 1_000_000n;
    // [name, service, kind, status, method attribute, age in days]; spans of one age share a day partition.
    const spans: Array<[string, string, string, string, boolean, bigint]> = [
      ['error-10d', 'shop', 'Server', 'Error', false, 10n],
      ['plain-10d', 'shop', 'Server', 'Unset', false, 10n],
      ['payments-10d', NASTY, 'Server', 'Unset', false, 10n],
      ['x-server-10d', 'x', 'Server', 'Unset', false, 10n],
      ['payments-error-40d', NASTY, 'Server', 'Error', false, 40n],
      ['payments-40d', NASTY, 'Server', 'Ok', false, 40n],
      ['plain-3d', 'shop', 'Server', 'Unset', false, 3n],
      ['x-method-3d', 'x', 'Internal', 'Unset', true, 3n],
      ['x-internal-3d', 'x', 'Internal', 'Unset', false, 3n],
      ['x-method-error-3d', 'x', 'Internal', 'Error', true, 3n],
      ['other-method-3d', 'y', 'Internal', 'Unset', true, 3n],
      ['x-method-1d', 'x', 'Internal', 'Unset', true, 1n],
    ];
    const literal = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
    const values = spans.map(
      ([name, service, kind, status, method, age], i) =>
        `(fromUnixTimestamp64Nano(toInt64(${now - age * DAY})), 'trace${i}', 'span${i}', ${literal(name)}, ${literal(kind)}, ${literal(service)}, ${literal(status)}, ${method ? "map('code.function.name', 'Orders.load')" : 'map()'})`,
    );
    await store.clients.writer.command({
      query: `INSERT INTO ${tableName(c)} (Timestamp, TraceId, SpanId, SpanName, SpanKind, ServiceName, StatusCode, SpanAttributes) VALUES ${values.join(', ')}`,
    });
    await store.clients.writer.command({ query: `OPTIMIZE TABLE ${tableName(c)} FINAL` });
    const kept = (await rows<{ SpanName: string }>(`SELECT SpanName FROM ${tableName(c)} ORDER BY SpanName`)).map((r) => r.SpanName);
    expect(kept).toEqual(['error-10d', 'other-method-3d', 'payments-10d', 'payments-40d', 'plain-3d', 'x-internal-3d', 'x-method-1d', 'x-method-error-3d']);
  });
});
