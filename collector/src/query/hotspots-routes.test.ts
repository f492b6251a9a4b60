/**
 * `GET /api/hotspots` through Fastify's inject, on the embedded engine: the answer's shape and
 * numbers, the trace's own window when only `traceId` is given, 400s naming the parameter, and
 * the principal's read rules. (test/hotspots.e2e.test.ts runs it on the real collector with real tokens.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClickHouse, TRACE_ID_SUFFIX, type ClickHouseClients } from '../../../exporters/clickhouse/index.js';
import { migrate } from '../../../exporters/clickhouse/schema.js';
import { LOOPBACK_ANONYMOUS } from '../auth/principal.js';
import '../auth/request-principal.js';
import { registerHotspotRoutes } from './hotspots-routes.js';
import { QueryParamError } from './params.js';
import { ReadScopes } from './read-scope.js';

const DB = 'hotspot_routes';
const dataDir = mkdtempSync(join(tmpdir(), 'ft-hotspot-routes-'));
const config = { url: '', username: 'default', password: '', database: DB, tracesTable: 'otel_traces', dataDir, retentionDays: 3650, concurrency: 1 };
const MS = 1_000_000;
const RECENT = 'a'.repeat(32);
/** Ten days old: outside any default window. */
const OLD = 'b'.repeat(32);
let clients: ClickHouseClients;
let app: FastifyInstance;

beforeAll(async () => {
  clients = openClickHouse(config);
  await migrate(clients.writer, config);
  const row = (trace: string, id: string, parent: string, service: string, name: string, atMs: number, durationMs: number, attributes: Record<string, string> = {}) => ({
    Timestamp: new Date(atMs).toISOString(),
    TraceId: trace,
    SpanId: id.padStart(16, '0'),
    ParentSpanId: parent === '' ? '' : parent.padStart(16, '0'),
    SpanName: name,
    SpanKind: 'Internal',
    ServiceName: service,
    SpanAttributes: attributes,
    Duration: String(durationMs * MS),
    StatusCode: 'Unset',
  });
  const now = Date.now() - 60_000;
  const old = Date.now() - 10 * 86_400_000;
  await clients.writer.insert({
    table: `${DB}.otel_traces`,
    values: [
      // orders GET /orders 0-100 → Orders.load 10-70 → billing POST /invoice 20-60
      row(RECENT, '1', '', 'orders', 'GET /orders', now, 100),
      row(RECENT, '2', '1', 'orders', 'load', now + 10, 60, { 'code.namespace': 'Orders', 'code.function.name': 'load' }),
      row(RECENT, '3', '2', 'billing', 'POST /invoice', now + 20, 40),
      row(OLD, '1', '', 'orders', 'GET /old', old, 30),
      row(OLD, '2', '1', 'orders', 'sleep', old + 5, 20),
    ],
    format: 'JSONEachRow',
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  });
  const readScopes = new ReadScopes(clients.writer, { database: DB, tracesTable: 'otel_traces', traceIdSuffix: TRACE_ID_SUFFIX });
  app = Fastify();
  // The query API's auth hook resolves the principal; here a test header stands for a token limited to one service.
  app.decorateRequest('principal', null as unknown as typeof LOOPBACK_ANONYMOUS);
  app.addHook('onRequest', async (req) => {
    const only = req.headers['x-test-service'];
    req.principal = typeof only === 'string' ? { ...LOOPBACK_ANONYMOUS, id: 'token:t', kind: 'token', rules: { services: [only] } } : LOOPBACK_ANONYMOUS;
  });
  // As api.ts answers them.
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) =>
    reply.code(err instanceof QueryParamError ? 400 : (err.statusCode ?? 500)).send({ error: err.message }),
  );
  registerHotspotRoutes(app, { reader: clients.reader, readScopes });
  await app.ready();
}, 120_000);

afterAll(async () => {
  await app?.close();
  await clients?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Answer {
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  totalSelfNano: string;
  totalCalls: number;
  methodCount: number;
  hotspots: Array<{ service: string; method: string; calls: number; errors: number; selfNano: string; totalNano: string; share: number }>;
}

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await app.inject({ method: 'GET', url, headers });
  return { status: res.statusCode, body: res.json() as Answer & { error?: string } };
}

const ms = (nano: string) => Number(BigInt(nano) / BigInt(MS));

describe('GET /api/hotspots', () => {
  it('answers methods by self time with calls, totals and shares', async () => {
    const { status, body } = await get('/api/hotspots');
    expect(status).toBe(200);
    expect(body.hotspots.map((h) => [h.service, h.method, h.calls, ms(h.selfNano), ms(h.totalNano), h.share])).toEqual([
      // Ties by service, then method.
      ['billing', 'POST /invoice', 1, 40, 40, 0.4],
      ['orders', 'GET /orders', 1, 40, 100, 0.4],
      ['orders', 'Orders.load', 1, 20, 60, 0.2],
    ]);
    expect(body).toMatchObject({ totalSelfNano: String(100 * MS), totalCalls: 3, methodCount: 3 });
    expect(BigInt(body.endTimeUnixNano) - BigInt(body.startTimeUnixNano)).toBe(3_600_000_000_000n);
  });

  it("uses the trace's own time range when only traceId is given", async () => {
    const { body } = await get(`/api/hotspots?traceId=${OLD.toUpperCase()}`);
    expect(body.hotspots.map((h) => [h.method, ms(h.selfNano)])).toEqual([
      ['sleep', 20],
      ['GET /old', 10],
    ]);
    // An explicit window wins: the old trace is outside the last hour.
    expect((await get(`/api/hotspots?traceId=${OLD}&lookback=1h`)).body.hotspots).toEqual([]);
  });

  it('shows a token limited to one service only its methods', async () => {
    const { body } = await get('/api/hotspots', { 'x-test-service': 'orders' });
    // billing is hidden: Orders.load's 60 ms are all its own.
    expect(body.hotspots.map((h) => [h.service, h.method, ms(h.selfNano)])).toEqual([
      ['orders', 'Orders.load', 60],
      ['orders', 'GET /orders', 40],
    ]);
    expect((await get('/api/hotspots?service=billing', { 'x-test-service': 'orders' })).body.hotspots).toEqual([]);
  });

  it('answers 400 naming the parameter for bad parameters', async () => {
    const cases: Array<[string, RegExp]> = [
      ['?limit=0', /^limit: /],
      ['?limit=101', /^limit: expected a whole number from 1 to 100/],
      ['?traceId=xyz', /^traceId: expected 32 hex digits/],
      ['?lookback=8d', /^lookback: /],
      ['?lookback=169h', /^lookback: the window is at most 7 days \(168h\) wide/],
      [`?start=${Date.now() * 1000 - 8 * 86_400_000_000}`, /^start: the window is at most 7 days/],
      ['?start=yesterday', /^start: /],
      [`?service=${'s'.repeat(2000)}`, /^service: at most 1024 characters/],
    ];
    for (const [query, message] of cases) {
      const { status, body } = await get(`/api/hotspots${query}`);
      expect(status, query).toBe(400);
      expect(body.error, query).toMatch(message);
    }
  });
});
