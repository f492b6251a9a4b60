import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClickHouse, type ClickHouseClients } from '../../../../exporters/clickhouse/index.js';
import { migrate } from '../../../../exporters/clickhouse/schema.js';
import { ReadScopeError } from '../read-scope.js';
import { CATALOG_TABLE, CATALOG_VALUE_CHARS, CatalogOffError, catalogFilter, catalogKeys, catalogValues, MAX_CATALOG_KEYS, migrateAttributeCatalog } from './catalog.js';
import { unknownKeyHints } from './key-hints.js';
import { parseSearch } from './parse.js';

const DB = 'catalog_test';
const dataDir = mkdtempSync(join(tmpdir(), 'ft-catalog-'));
// Without the catalog at first: the test turns it on after a first insert (no backfill).
const config = { url: '', username: 'default', password: '', database: DB, tracesTable: 'otel_traces', dataDir, retentionDays: 7, concurrency: 1, attributeCatalog: false };
let clients: ClickHouseClients;

function span(service: string, attrs: Record<string, string>, resource: Record<string, string> = {}) {
  return {
    Timestamp: new Date().toISOString(),
    TraceId: 'a'.repeat(32),
    SpanId: Math.random().toString(16).slice(2, 18).padEnd(16, '0'),
    SpanName: 'op',
    ServiceName: service,
    SpanAttributes: attrs,
    ResourceAttributes: { 'service.name': service, ...resource },
  };
}

async function insert(rows: Array<ReturnType<typeof span>>): Promise<void> {
  await clients.writer.insert({ table: `${DB}.otel_traces`, values: rows, format: 'JSONEachRow', clickhouse_settings: { date_time_input_format: 'best_effort' } });
}

const all = { days: 1, filter: {}, limit: 100 };

beforeAll(async () => {
  clients = openClickHouse(config);
  await migrate(clients.writer, config);
  await expect(catalogKeys(clients.reader, DB, all)).rejects.toBeInstanceOf(CatalogOffError);
  // Before the catalog exists: never counted (no backfill).
  await insert([span('api', { 'before.catalog': 'x' })]);
  await migrate(clients.writer, { ...config, attributeCatalog: true });
  await migrateAttributeCatalog(clients.writer, config); // idempotent
}, 120_000);
afterAll(async () => {
  await clients.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('attribute catalog', () => {
  it('counts keys per service as spans are inserted, over several inserts', async () => {
    await insert([
      span('api', { 'http.route': '/users', 'http.method': 'GET' }, { 'deployment.environment.name': 'prod' }),
      span('api', { 'http.route': '/users', 'http.method': 'POST' }),
      span('db', { 'db.system': 'postgresql', 'http.route': '/internal' }),
    ]);
    await insert([span('api', { 'http.route': '/orders', long: 'v'.repeat(1000) })]);
    const api = await catalogKeys(clients.reader, DB, { ...all, service: 'api' });
    expect(api).toEqual([
      { scope: 'resource', key: 'service.name', spans: 3 },
      { scope: 'span', key: 'http.route', spans: 3 },
      { scope: 'span', key: 'http.method', spans: 2 },
      { scope: 'resource', key: 'deployment.environment.name', spans: 1 },
      { scope: 'span', key: 'long', spans: 1 },
    ]);
    // Across services, a key's spans add up.
    const everywhere = await catalogKeys(clients.reader, DB, { ...all, scope: 'span' });
    expect(everywhere.find((k) => k.key === 'http.route')?.spans).toBe(4);
    expect(everywhere.map((k) => k.key)).not.toContain('before.catalog');
  });

  it('answers the top values of a key with their counts, cut to the kept length', async () => {
    expect(await catalogValues(clients.reader, DB, { ...all, service: 'api', scope: 'span', key: 'http.route' })).toEqual([
      { value: '/users', count: 2 },
      { value: '/orders', count: 1 },
    ]);
    expect(await catalogValues(clients.reader, DB, { ...all, scope: 'span', key: 'http.route', prefix: '/u' })).toEqual([{ value: '/users', count: 2 }]);
    expect(await catalogValues(clients.reader, DB, { ...all, scope: 'resource', key: 'deployment.environment.name' })).toEqual([{ value: 'prod', count: 1 }]);
    expect(await catalogValues(clients.reader, DB, { ...all, scope: 'span', key: 'long' })).toEqual([{ value: 'v'.repeat(CATALOG_VALUE_CHARS), count: 1 }]);
    expect(await catalogValues(clients.reader, DB, { ...all, scope: 'span', key: 'http.route', limit: 1 })).toEqual([{ value: '/users', count: 2 }]);
  });

  it('narrows by scope and key prefix, with every value a parameter', async () => {
    const keys = await catalogKeys(clients.reader, DB, { ...all, service: 'api', scope: 'span', prefix: 'http.' });
    expect(keys.map((k) => k.key)).toEqual(['http.route', 'http.method']);
    expect(await catalogKeys(clients.reader, DB, { ...all, service: "api' OR 1=1 --" })).toEqual([]);
    expect(await catalogValues(clients.reader, DB, { ...all, scope: 'span', key: "http.route' OR 1=1 --" })).toEqual([]);
  });

  it('shows a principal limited to services only those services', async () => {
    const filter = catalogFilter({ services: ['db'] });
    const keys = await catalogKeys(clients.reader, DB, { ...all, filter });
    expect(keys.map((k) => k.key).sort()).toEqual(['db.system', 'http.route', 'service.name']);
    expect(keys.find((k) => k.key === 'http.route')?.spans).toBe(1);
    // Asking for another service by name finds nothing.
    expect(await catalogKeys(clients.reader, DB, { ...all, filter, service: 'api' })).toEqual([]);
    expect(await catalogValues(clients.reader, DB, { ...all, filter, scope: 'span', key: 'http.route' })).toEqual([{ value: '/internal', count: 1 }]);
    expect(() => catalogFilter({ environments: ['prod'] })).toThrow(ReadScopeError);
    expect(catalogFilter({})).toEqual({});
  });

  it('turned off, drops its views and table: ingest pays nothing and reads say it is off', async () => {
    await migrate(clients.writer, config);
    const tables = await (
      await clients.reader.query({ query: `SELECT name FROM system.tables WHERE database = {db:String} AND name LIKE {p:String}`, query_params: { db: DB, p: `${CATALOG_TABLE}%` }, format: 'JSONEachRow' })
    ).json<{ name: string }>();
    expect(tables).toEqual([]);
    await insert([span('api', { after: 'off' })]);
    await expect(catalogValues(clients.reader, DB, { ...all, scope: 'span', key: 'after' })).rejects.toBeInstanceOf(CatalogOffError);
  });
});

describe('unknown-key hints over a catalog of more keys than one read returns', () => {
  it('never calls a key unseen because more than MAX_CATALOG_KEYS keys are more frequent', async () => {
    await migrateAttributeCatalog(clients.writer, config); // an earlier test turns it off
    const many = Object.fromEntries(Array.from({ length: MAX_CATALOG_KEYS + 5 }, (_, i) => [`bulk.k${i}`, 'v']));
    await insert([span('hints', many), span('hints', many)]);
    await insert([span('hints', { 'rare.key': 'once' })]);
    const filter = { services: ['hints'] };
    expect((await catalogKeys(clients.reader, DB, { days: 1, filter, limit: MAX_CATALOG_KEYS })).some((k) => k.key === 'rare.key')).toBe(false);
    const rules = { services: ['hints'] };
    expect(await unknownKeyHints(clients.reader, DB, rules, parseSearch('span.rare.key exists'))).toEqual([]);
    expect(await unknownKeyHints(clients.reader, DB, rules, parseSearch('span.rare.key exists AND span.rare.kee = "x"'))).toEqual([
      'span.rare.kee: no span carried this key in the last 7 days',
    ]);
  });
});
