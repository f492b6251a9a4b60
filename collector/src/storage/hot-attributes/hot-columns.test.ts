/**
 * Hot attribute columns on the real (embedded) engine: created idempotently, filled by the engine
 * at insert (the RowBinary insert names its columns and is unchanged), read by the search compiler
 * instead of the attribute map with the same answers, and pruned by their skip index.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Span } from '../../model/span.js';
import { ClickHouseExporter } from '../../../../exporters/clickhouse/exporter.js';
import type { ClickHouseConfig } from '../../../../exporters/clickhouse/config.js';
import { openTestStore, type TestStore } from '../../../../exporters/clickhouse/embedded.testing.js';
import { tableName } from '../../../../exporters/clickhouse/schema.js';
import { compileSearch } from '../../query/search/compile.js';
import { parseSearch } from '../../query/search/parse.js';
import { hotAttributesSchema } from './config.js';
import { ReadScopes } from '../../query/read-scope.js';
import { TRACE_ID_SUFFIX } from '../../../../exporters/clickhouse/schema.js';
import { activeHotColumns, DEFAULT_HOT_ATTRIBUTES, HotColumns, hotColumnName, NO_HOT_COLUMNS, setActiveHotColumns } from './hot-columns.js';

let store: TestStore;
let exporter: ClickHouseExporter;
const config = (): ClickHouseConfig => ({ url: '', username: 'default', password: '', database: 'hot', tracesTable: 'otel_traces', dataDir: store.dataDir, retentionDays: 7, concurrency: 1 });
const BASE_NS = BigInt(Date.now() - 60_000) * 1_000_000n;
const SPANS = 6000;

function span(i: number): Span {
  const attributes: Record<string, string> = { 'http.route': `/route/${i % 600}`, 'other': 'x' };
  const attributeKinds: Record<string, 'array'> = {};
  if (i % 1000 === 7) delete attributes['http.route']; // missing key: '' in the map lookup and the column alike
  if (i === 4242) {
    attributes['http.route'] = '["/listed","/other"]';
    attributeKinds['http.route'] = 'array';
  }
  return {
    resource: { attributes: { 'service.name': `svc-${i % 3}` }, droppedAttributesCount: 0, schemaUrl: '', serviceName: `svc-${i % 3}` },
    scope: { name: 's', version: '', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' },
    traceId: (i + 1).toString(16).padStart(32, '0'),
    spanId: (i + 1).toString(16).padStart(16, '0'),
    parentSpanId: '',
    traceState: '',
    flags: 0,
    name: 'op',
    kind: 2,
    startTimeUnixNano: BASE_NS + BigInt(i) * 1_000_000n,
    endTimeUnixNano: BASE_NS + BigInt(i) * 1_000_000n + 500n,
    attributes,
    ...(Object.keys(attributeKinds).length > 0 ? { attributeKinds } : {}),
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    statusCode: 0,
    statusMessage: '',
  };
}

async function rows<T>(query: string, params: Record<string, unknown> = {}, settings: Record<string, string> = {}): Promise<T[]> {
  const r = await store.clients.reader.query({ query, query_params: params, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 1, ...settings } });
  return r.json<T>();
}

beforeAll(async () => {
  store = openTestStore('ft-hot-');
  exporter = new ClickHouseExporter(store.clients, config());
  await exporter.start();
  await exporter.start(); // idempotent
  // Several inserts: several parts and many granules, so the index has something to prune.
  for (let from = 0; from < SPANS; from += 1000) await exporter.consume(Array.from({ length: 1000 }, (_, k) => span(from + k)));
}, 120_000);
afterAll(async () => store?.close());

describe('hot attribute columns', () => {
  it('exist as MATERIALIZED columns with skip indexes, once each', async () => {
    const columns = await rows<{ name: string; default_kind: string; default_expression: string }>(
      "SELECT name, default_kind, default_expression FROM system.columns WHERE database = 'hot' AND table = 'otel_traces' AND name LIKE 'Attr\\_%'",
    );
    expect(columns.map((c) => c.name).sort()).toEqual(DEFAULT_HOT_ATTRIBUTES.map(hotColumnName).sort());
    expect(columns.every((c) => c.default_kind === 'MATERIALIZED')).toBe(true);
    const indexes = await rows<{ name: string; type: string }>("SELECT name, type FROM system.data_skipping_indices WHERE database = 'hot' AND table = 'otel_traces' AND name LIKE 'idx\\_attr\\_%'");
    expect(indexes).toHaveLength(DEFAULT_HOT_ATTRIBUTES.length);
    expect(indexes.every((i) => i.type === 'bloom_filter')).toBe(true);
    expect(activeHotColumns().column('http.route')).toBe('Attr_http_route');
  });

  it('hold what the map lookup gives, missing keys as empty text', async () => {
    const [diff] = await rows<{ n: string; empty: string }>(
      `SELECT countIf(Attr_http_route != SpanAttributes['http.route']) AS n, countIf(Attr_http_route = '') AS empty FROM ${tableName(config())}`,
    );
    expect(diff).toEqual({ n: '0', empty: '6' });
  });

  it('the compiler reads the column and its index prunes: same traces as through the map', async () => {
    const bounds = { table: tableName(config()), startNs: BASE_NS - 1n, endNs: BASE_NS + 10_000_000_000n, limit: 100 };
    for (const q of ['span.http.route = "/route/17"', 'span.http.route in ("/route/5", "/route/6")', 'span.http.route = "/listed"', 'span.http.route =~ "^/route/59"']) {
      const hot = compileSearch(parseSearch(q), { ...bounds, hot: new HotColumns(DEFAULT_HOT_ATTRIBUTES) });
      const cold = compileSearch(parseSearch(q), { ...bounds, hot: NO_HOT_COLUMNS });
      expect(hot.sql).toContain('Attr_http_route');
      expect(cold.sql).not.toContain('Attr_http_route');
      const ids = async (c: typeof hot) => (await rows<{ traceId: string }>(c.sql, c.params)).map((r) => r.traceId).sort();
      const want = await ids(cold);
      expect(want.length).toBeGreaterThan(0);
      expect(await ids(hot)).toEqual(want);
    }
    // The search's prefilter (the span condition of its IN-subquery) is where the index works: the
    // engine refuses a query that names the index in force_data_skipping_indices and does not use it.
    const eq = compileSearch(parseSearch('span.http.route = "/route/17"'), { ...bounds, hot: new HotColumns(DEFAULT_HOT_ATTRIBUTES) });
    const prefilter = /TraceId IN \((SELECT TraceId FROM .*)\)\nGROUP BY/s.exec(eq.sql)![1]!;
    const forced = { force_data_skipping_indices: 'idx_attr_http_route' };
    await expect(rows(prefilter, eq.params, forced)).resolves.toHaveLength(10);
    const plan = await rows<{ explain: string }>(`EXPLAIN indexes = 1 ${prefilter}`, eq.params);
    const granules = /Name: idx_attr_http_route[\s\S]*?Granules: (\d+)\/(\d+)/.exec(plan.map((r) => r.explain).join('\n'));
    expect(granules).not.toBeNull();
    expect(Number(granules![1])).toBeLessThan(Number(granules![2]));
    // Through the map, nothing prunes: the same refusal proves the check can fail.
    const cold = compileSearch(parseSearch('span.http.route = "/route/17"'), { ...bounds, hot: NO_HOT_COLUMNS });
    const coldPrefilter = /TraceId IN \((SELECT TraceId FROM .*)\)\nGROUP BY/s.exec(cold.sql)![1]!;
    await expect(rows(coldPrefilter, cold.params, forced)).rejects.toThrow(/is not used/);
    // The setting was the query's own: the next query without it runs as before.
    await expect(rows(coldPrefilter, cold.params)).resolves.toHaveLength(10);
  });
});

describe('read scope views', () => {
  it('name the hot columns, and are made again when the columns came after them (a read during start)', async () => {
    const scopes = new ReadScopes(store.clients.writer, { database: 'hot', tracesTable: 'otel_traces', traceIdSuffix: TRACE_ID_SUFFIX });
    const rules = { services: ['svc-1'] };
    const routes = async () => {
      const scope = await scopes.forRules(rules);
      return rows<{ r: string }>(`SELECT Attr_http_route AS r FROM ${scope.traceTables.traces} WHERE Attr_http_route = '/route/1'`);
    };
    const migrated = activeHotColumns();
    setActiveHotColumns(NO_HOT_COLUMNS);
    try {
      await expect(routes()).rejects.toThrow(/Attr_http_route/);
    } finally {
      setActiveHotColumns(migrated);
    }
    // svc-1 is i % 3 = 1: of the ten spans with /route/1 (i % 600 = 1), those of svc-1.
    expect((await routes()).length).toBeGreaterThan(0);
    expect((await routes()).every((r) => r.r === '/route/1')).toBe(true);
  });
});

describe('storage.hot_attributes', () => {
  it('defaults to the four keys and refuses keys that would share a column', () => {
    expect(hotAttributesSchema.parse(undefined)).toEqual([...DEFAULT_HOT_ATTRIBUTES]);
    const clash = hotAttributesSchema.safeParse(['http.route', 'http_route']);
    expect(clash.success).toBe(false);
    expect(z.prettifyError(clash.error!)).toMatch(/'http_route' and 'http.route' would share the column Attr_http_route/);
    expect(hotAttributesSchema.safeParse(['a', 'a']).success).toBe(false);
    expect(hotAttributesSchema.safeParse(["x'; DROP TABLE t"]).success).toBe(false);
  });
});
