import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RetentionPolicy } from '../../collector/src/storage/retention/policy.js';
import { openTestStore, type TestStore } from './embedded.testing.js';
import { LOGS_TABLE, migrateLogs } from './logs-schema.js';
import { logMatchCondition, logTableTtl } from './retention-ttl.js';

// The real engine: the DDL, the added columns and the TTL clauses must be what ClickHouse accepts.
let store: TestStore;
beforeAll(() => {
  store = openTestStore('ft-logs-schema-');
});
afterAll(() => store.close());

async function rows<T>(query: string): Promise<T[]> {
  return (await store.clients.reader.query({ query, format: 'JSONEachRow' })).json<T>();
}

const engineFull = async (database: string) =>
  (await rows<{ engine_full: string }>(`SELECT engine_full FROM system.tables WHERE database = '${database}' AND name = '${LOGS_TABLE}'`))[0]!.engine_full;

const RULES: RetentionPolicy['rules'] = [
  { name: 'errors', match: { status: 'error' }, days: 30 },
  { name: 'servers', match: { kind: 'server' }, days: 3 },
  { name: 'payments', match: { services: ["pay'ments"] }, days: 90 },
];

describe('otel_logs', () => {
  it('has the OpenTelemetry exporter columns, indexes and ordering, plus FlowTrace columns, and migrates twice without change', async () => {
    const db = 'logs_schema';
    await store.clients.writer.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
    await migrateLogs(store.clients.writer, { database: db, retentionDays: 7 });
    await migrateLogs(store.clients.writer, { database: db, retentionDays: 7 });
    const columns = await rows<{ name: string; type: string; default_kind: string }>(`SELECT name, type, default_kind FROM system.columns WHERE database = '${db}' AND table = '${LOGS_TABLE}' ORDER BY position`);
    expect(columns.slice(0, 18).map((c) => `${c.name} ${c.type}`)).toEqual([
      'Timestamp DateTime64(9)', 'TimestampTime DateTime', 'TraceId String', 'SpanId String', 'TraceFlags UInt8',
      'SeverityText LowCardinality(String)', 'SeverityNumber UInt8', 'ServiceName LowCardinality(String)', 'Body String',
      'ResourceSchemaUrl LowCardinality(String)', 'ResourceAttributes Map(LowCardinality(String), String)',
      'ScopeSchemaUrl LowCardinality(String)', 'ScopeName String', 'ScopeVersion LowCardinality(String)',
      'ScopeAttributes Map(LowCardinality(String), String)', 'LogAttributes Map(LowCardinality(String), String)', 'EventName String', 'ObservedTimestamp DateTime64(9)',
    ]);
    expect(columns.find((c) => c.name === 'CorrelationId')?.default_kind).toBe('MATERIALIZED');
    const indexes = (await rows<{ name: string }>(`SELECT name FROM system.data_skipping_indices WHERE database = '${db}' AND table = '${LOGS_TABLE}'`)).map((r) => r.name);
    expect(indexes).toEqual(expect.arrayContaining(['idx_trace_id', 'idx_body', 'idx_log_attr_value', 'idx_correlation_id']));
    const engine = await engineFull(db);
    expect(engine).toContain('PARTITION BY toDate(TimestampTime) PRIMARY KEY (ServiceName, TimestampTime) ORDER BY (ServiceName, TimestampTime, Timestamp)');
    expect(engine).toContain('TTL TimestampTime + toIntervalDay(7) SETTINGS');
    expect(engine).toContain('ttl_only_drop_parts = 1');
    expect(engine).toContain('non_replicated_deduplication_window = 1000');
  });

  it('finds a record by correlation ID through the materialized column', async () => {
    const db = 'logs_corr';
    await store.clients.writer.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
    await migrateLogs(store.clients.writer, { database: db, retentionDays: 7 });
    await store.clients.writer.command({ query: `INSERT INTO ${db}.${LOGS_TABLE} (Timestamp, Body, LogAttributes) VALUES (now64(9), 'hello', map('flowtrace.correlation_id', 'c-1'))` });
    expect(await rows<{ Body: string }>(`SELECT Body FROM ${db}.${LOGS_TABLE} WHERE CorrelationId = 'c-1'`)).toEqual([{ Body: 'hello' }]);
  });

  it('takes the retention rules: status=error is SeverityNumber >= 17, a kind rule never matches a log, and a changed policy alters the TTL', async () => {
    expect(logMatchCondition({ status: 'error' })).toBe('(SeverityNumber >= 17)');
    expect(logMatchCondition({ status: 'ok' })).toBe('(SeverityNumber < 17)');
    expect(logMatchCondition({ kind: 'server' })).toBeUndefined();
    expect(logMatchCondition({ methodSpans: true })).toBeUndefined();
    expect(logMatchCondition({ methodSpans: false })).toBe('(1)');
    expect(logTableTtl({ defaultDays: 7, rules: [{ name: 'k', match: { kind: 'client' }, days: 1 }] })).toBe('TimestampTime + toIntervalDay(7)');

    const db = 'logs_retention';
    await store.clients.writer.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
    await migrateLogs(store.clients.writer, { database: db, retentionDays: 7 });
    await migrateLogs(store.clients.writer, { database: db, retentionDays: 7, retentionRules: RULES });
    const engine = await engineFull(db);
    expect(engine).toContain('TTL TimestampTime + toIntervalDay(30) WHERE (SeverityNumber >= 17), ');
    expect(engine).toContain("toIntervalDay(90) WHERE (ServiceName = 'pay\\'ments') AND (NOT (SeverityNumber >= 17))");
    expect(engine).toContain('toIntervalDay(7) WHERE NOT ((SeverityNumber >= 17) OR (ServiceName = \'pay\\\'ments\'))');
    expect(engine).not.toContain('toIntervalDay(3)');
    expect(engine).toContain('ttl_only_drop_parts = 0');
    // Back to the default alone.
    await migrateLogs(store.clients.writer, { database: db, retentionDays: 5 });
    expect(await engineFull(db)).toContain('TTL TimestampTime + toIntervalDay(5) SETTINGS');
    expect(await engineFull(db)).toContain('ttl_only_drop_parts = 1');
  });
});
