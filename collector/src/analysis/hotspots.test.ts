/**
 * Hotspots on the embedded engine, over hand-built traces whose self times are known:
 * overlapping children count once, a child outliving its parent counts up to the parent's end,
 * a child wholly outside counts nothing, children past the window's end still count, and a
 * read scope limited to one service hides the other service's spans (and their time).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClickHouse, TRACE_ID_SUFFIX, type ClickHouseClients } from '../../../exporters/clickhouse/index.js';
import { migrate } from '../../../exporters/clickhouse/schema.js';
import { ReadScopes } from '../query/read-scope.js';
import { hotspots, hotspotsQuery, MAX_HOTSPOTS, shareOf, type HotspotFilter } from './hotspots.js';

const DB = 'hotspots_test';
const TABLE = `\`${DB}\`.\`otel_traces\``;
const dataDir = mkdtempSync(join(tmpdir(), 'ft-hotspots-'));
const config = { url: '', username: 'default', password: '', database: DB, tracesTable: 'otel_traces', dataDir, retentionDays: 3650, concurrency: 1 };
const MS = 1_000_000n;
/** Ten minutes ago, on a whole second. */
const ORIGIN_NS = (BigInt(Date.now()) / 1000n - 600n) * 1_000_000_000n;
const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const C = 'c'.repeat(32);
let clients: ClickHouseClients;
let readScopes: ReadScopes;

interface Spec {
  trace: string;
  id: number;
  parent?: number;
  service?: string;
  name: string;
  startMs: number;
  endMs: number;
  attributes?: Record<string, string>;
  error?: boolean;
}

/**
 * A (orders, GET /orders, 0-100): Orders.load 10-40 (with SELECT 15-25), Orders.price 30-60
 *   (overlaps load), audit 90-150 (outlives the root), cleanup 200-250 (wholly after it).
 *   Root self = 100 − |[10,60] ∪ [90,100]| = 40; load 30 − 10 = 20; price 30; audit 60; cleanup 50; SELECT 10.
 * B (orders, GET /orders, 0-50): Orders.load 5-25 (self 20), POST /invoice client 25-45 →
 *   billing POST /invoice server 26-44 → billing Billing.charge 27-43 (failed).
 *   Root self 50 − 40 = 10; client 20 − 18 = 2; server 18 − 16 = 2; charge 16.
 * C (orders, GET /health, 0-5): self 5.
 */
const SPANS: Spec[] = [
  { trace: A, id: 1, name: 'GET /orders', startMs: 0, endMs: 100 },
  { trace: A, id: 2, parent: 1, name: 'load', startMs: 10, endMs: 40, attributes: { 'code.namespace': 'com.shop.Orders', 'code.function.name': 'load' } },
  { trace: A, id: 3, parent: 2, name: 'SELECT orders', startMs: 15, endMs: 25 },
  { trace: A, id: 4, parent: 1, name: 'price', startMs: 30, endMs: 60, attributes: { 'code.namespace': 'Orders', 'code.function.name': 'Orders.price' } },
  { trace: A, id: 5, parent: 1, name: 'audit', startMs: 90, endMs: 150 },
  { trace: A, id: 6, parent: 1, name: 'cleanup', startMs: 200, endMs: 250 },
  { trace: B, id: 1, name: 'GET /orders', startMs: 0, endMs: 50 },
  { trace: B, id: 2, parent: 1, name: 'load', startMs: 5, endMs: 25, attributes: { 'code.namespace': 'com.shop.Orders', 'code.function': 'load' } },
  { trace: B, id: 3, parent: 1, name: 'POST /invoice', startMs: 25, endMs: 45 },
  { trace: B, id: 4, parent: 3, service: 'billing', name: 'POST /invoice', startMs: 26, endMs: 44 },
  { trace: B, id: 5, parent: 4, service: 'billing', name: 'charge', startMs: 27, endMs: 43, attributes: { 'code.function.name': 'Billing.charge' }, error: true },
  { trace: C, id: 1, name: 'GET /health', startMs: 0, endMs: 5 },
];

const spanId = (n: number) => n.toString(16).padStart(16, '0');

/** `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` for a time in nanoseconds. */
function timestamp(ns: bigint): string {
  const seconds = new Date(Number(ns / 1_000_000_000n) * 1000).toISOString().slice(0, 19);
  return `${seconds}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}

beforeAll(async () => {
  clients = openClickHouse(config);
  await migrate(clients.writer, config);
  await clients.writer.insert({
    table: TABLE,
    values: SPANS.map((s) => ({
      Timestamp: timestamp(ORIGIN_NS + BigInt(s.startMs) * MS),
      TraceId: s.trace,
      SpanId: spanId(s.id),
      ParentSpanId: s.parent === undefined ? '' : spanId(s.parent),
      SpanName: s.name,
      SpanKind: 'Internal',
      ServiceName: s.service ?? 'orders',
      SpanAttributes: s.attributes ?? {},
      Duration: String(BigInt(s.endMs - s.startMs) * MS),
      StatusCode: s.error ? 'Error' : 'Unset',
    })),
    format: 'JSONEachRow',
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  });
  readScopes = new ReadScopes(clients.writer, { database: DB, tracesTable: 'otel_traces', traceIdSuffix: TRACE_ID_SUFFIX });
}, 120_000);

afterAll(async () => {
  await clients?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const window = { table: TABLE, startNs: ORIGIN_NS - 1000n * MS, endNs: ORIGIN_NS + 1000n * MS, limit: MAX_HOTSPOTS };

/** service/method → [calls, self ms] of an answer. */
async function selfTimes(filter: HotspotFilter): Promise<Record<string, [number, number]>> {
  const answer = await hotspots(clients.reader, filter);
  return Object.fromEntries(answer.hotspots.map((h) => [`${h.service}/${h.method}`, [h.calls, Number(h.selfNs / MS)]]));
}

describe('hotspots', () => {
  it('measures self time as duration minus the union of the children clipped to the span', async () => {
    const answer = await hotspots(clients.reader, window);
    expect(answer.hotspots.map((h) => [`${h.service}/${h.method}`, h.calls, Number(h.selfNs / MS), Number(h.totalNs / MS)])).toEqual([
      ['orders/audit', 1, 60, 60],
      // GET /orders: 40 (A) + 10 (B); code.namespace + code.function.name (or code.function) name the methods.
      ['orders/GET /orders', 2, 50, 150],
      ['orders/cleanup', 1, 50, 50],
      ['orders/com.shop.Orders.load', 2, 40, 50],
      // code.function.name already qualified by its namespace: not repeated.
      ['orders/Orders.price', 1, 30, 30],
      ['billing/Billing.charge', 1, 16, 16],
      ['orders/SELECT orders', 1, 10, 10],
      ['orders/GET /health', 1, 5, 5],
      ['billing/POST /invoice', 1, 2, 18],
      ['orders/POST /invoice', 1, 2, 20],
    ]);
    expect(answer.totalSelfNs).toBe(265n * MS);
    expect(answer.totalCalls).toBe(12);
    expect(answer.methodCount).toBe(10);
    expect(answer.hotspots[0]!.share).toBe(shareOf(60n, 265n));
    expect(answer.hotspots.find((h) => h.method === 'Billing.charge')!.errors).toBe(1);
  });

  it('keeps shares of the whole filter when cut at the limit', async () => {
    const answer = await hotspots(clients.reader, { ...window, limit: 2 });
    expect(answer.hotspots.map((h) => h.method)).toEqual(['audit', 'GET /orders']);
    expect(answer.hotspots.map((h) => h.share)).toEqual([0.2264, 0.1886]);
    expect(answer.methodCount).toBe(10);
    expect(answer.totalSelfNs).toBe(265n * MS);
  });

  it('filters by service, by operation (root span name) and by trace', async () => {
    expect(await selfTimes({ ...window, service: 'billing' })).toEqual({ 'billing/Billing.charge': [1, 16], 'billing/POST /invoice': [1, 2] });
    expect(await selfTimes({ ...window, operation: 'GET /health' })).toEqual({ 'orders/GET /health': [1, 5] });
    // Everything nested in one root: the self times add up to the root's duration (50 ms).
    expect(await selfTimes({ ...window, traceId: B })).toEqual({
      'orders/GET /orders': [1, 10],
      'orders/com.shop.Orders.load': [1, 20],
      'orders/POST /invoice': [1, 2],
      'billing/POST /invoice': [1, 2],
      'billing/Billing.charge': [1, 16],
    });
    expect(await selfTimes({ ...window, service: 'orders', operation: 'GET /orders', traceId: A })).toMatchObject({ 'orders/GET /orders': [1, 40], 'orders/audit': [1, 60] });
    expect(await selfTimes({ ...window, service: 'nobody' })).toEqual({});
  });

  it('counts children that start after the window ends', async () => {
    // Window [origin, origin + 50 ms]: audit (90 ms) and cleanup (200 ms) are not measured, but still cover their parent.
    const answer = await selfTimes({ ...window, startNs: ORIGIN_NS, endNs: ORIGIN_NS + 50n * MS, traceId: A });
    expect(answer).toEqual({ 'orders/GET /orders': [1, 40], 'orders/com.shop.Orders.load': [1, 20], 'orders/Orders.price': [1, 30], 'orders/SELECT orders': [1, 10] });
  });

  it('sees only the services a read scope allows, and their children only', async () => {
    const table = (await readScopes.forRules({ services: ['orders'] })).traceTables.traces;
    const answer = await selfTimes({ ...window, table, traceId: B });
    // The billing server span is hidden: the client span's 20 ms are all its own.
    expect(answer).toEqual({ 'orders/GET /orders': [1, 10], 'orders/com.shop.Orders.load': [1, 20], 'orders/POST /invoice': [1, 20] });
  });

  it('passes every value as a query parameter', () => {
    const evil = "x' OR 1=1 --";
    const { sql, params } = hotspotsQuery({ ...window, service: evil, operation: evil, traceId: evil, limit: 5 });
    expect(sql).not.toContain(evil);
    expect(params).toMatchObject({ service: evil, operation: evil, traceId: evil, limit: 5 });
    expect(() => hotspotsQuery({ ...window, limit: MAX_HOTSPOTS + 1 })).toThrow(RangeError);
  });
});
