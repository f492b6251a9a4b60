/**
 * `GET /api/flame` and `GET /api/traces/:traceId/flame` through Fastify's inject, on the embedded
 * engine: the merged tree's shape and numbers, trace selection (filter, most recent, `traces`),
 * the node cap, a token limited to one service, and 400/404 answers naming the problem.
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
import { registerFlameRoutes } from './flame-routes.js';
import { QueryParamError } from './params.js';
import { ReadScopes } from './read-scope.js';

const DB = 'flame_routes';
const dataDir = mkdtempSync(join(tmpdir(), 'ft-flame-routes-'));
const config = { url: '', username: 'default', password: '', database: DB, tracesTable: 'otel_traces', dataDir, retentionDays: 3650, concurrency: 1 };
const MS = 1_000_000;
/** Two requests of GET /orders (A older than B) and one of GET /health (C, newest); OLD is outside the default window. */
const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const C = 'c'.repeat(32);
const OLD = 'd'.repeat(32);
let clients: ClickHouseClients;
let app: FastifyInstance;

beforeAll(async () => {
  clients = openClickHouse(config);
  await migrate(clients.writer, config);
  const row = (trace: string, id: string, parent: string, service: string, name: string, atMs: number, durationMs: number, attributes: Record<string, string> = {}, status = 'Unset') => ({
    Timestamp: new Date(atMs).toISOString(),
    TraceId: trace,
    SpanId: id.padStart(16, '0'),
    ParentSpanId: parent === '' ? '' : parent.padStart(16, '0'),
    SpanName: name,
    SpanKind: 'Internal',
    ServiceName: service,
    SpanAttributes: attributes,
    Duration: String(durationMs * MS),
    StatusCode: status,
  });
  const load = { 'code.namespace': 'Orders', 'code.function.name': 'load' };
  const now = Date.now() - 120_000;
  await clients.writer.insert({
    table: `${DB}.otel_traces`,
    values: [
      // A: orders GET /orders 0-100 → Orders.load 10-70 → billing POST /invoice 20-60 (failed)
      row(A, '1', '', 'orders', 'GET /orders', now, 100),
      row(A, '2', '1', 'orders', 'load', now + 10, 60, load),
      row(A, '3', '2', 'billing', 'POST /invoice', now + 20, 40, {}, 'Error'),
      // B: GET /orders 0-200 → Orders.load 0-150 (no billing call)
      row(B, '1', '', 'orders', 'GET /orders', now + 1000, 200),
      row(B, '2', '1', 'orders', 'load', now + 1000, 150, load),
      // C: GET /health, alone.
      row(C, '1', '', 'orders', 'GET /health', now + 2000, 5),
      row(OLD, '1', '', 'orders', 'GET /orders', Date.now() - 10 * 86_400_000, 30),
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
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) =>
    reply.code(err instanceof QueryParamError ? 400 : (err.statusCode ?? 500)).send({ error: err.message }),
  );
  registerFlameRoutes(app, { reader: clients.reader, readScopes });
  await app.ready();
}, 120_000);

afterAll(async () => {
  await app?.close();
  await clients?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Node {
  parent: number;
  depth: number;
  service: string;
  method: string;
  totalNano: string;
  selfNano: string;
  calls: number;
  errors: number;
  exampleTraceId: string;
  folded: number;
}
interface Answer {
  traceId?: string;
  traceCount: number;
  spanCount: number;
  nodeCount: number;
  skippedTraceCount?: number;
  nodes: Node[];
  error?: string;
}

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await app.inject({ method: 'GET', url, headers });
  return { status: res.statusCode, body: res.json() as Answer };
}

const ms = (nano: string) => Number(BigInt(nano) / BigInt(MS));
/** Each node as [depth, service, method, total ms, self ms, calls]. */
const rows = (nodes: Node[]) => nodes.map((n) => [n.depth, n.service, n.method, ms(n.totalNano), ms(n.selfNano), n.calls]);

describe('GET /api/flame', () => {
  it('merges the recent traces into one call tree by service and method, with total and self time', async () => {
    const { status, body } = await get('/api/flame');
    expect(status).toBe(200);
    expect(body).toMatchObject({ traceCount: 3, spanCount: 6, nodeCount: 5, skippedTraceCount: 0 });
    expect(rows(body.nodes)).toEqual([
      [0, '', '(all)', 305, 0, 3],
      [1, 'orders', 'GET /health', 5, 5, 1],
      [1, 'orders', 'GET /orders', 300, 90, 2],
      [2, 'orders', 'Orders.load', 210, 170, 2],
      [3, 'billing', 'POST /invoice', 40, 40, 1],
    ]);
    expect(body.nodes.map((n) => n.parent)).toEqual([-1, 0, 0, 2, 3]);
    // The longest call's trace is the example; errors are counted per node.
    expect(body.nodes[3]!.exampleTraceId).toBe(B);
    expect(body.nodes[4]).toMatchObject({ exampleTraceId: A, errors: 1 });
  });

  it('takes the most recent matching traces, matching service and operation on any span', async () => {
    // B and A hold GET /orders; traces=1 keeps the newer one (B).
    expect(rows((await get('/api/flame?operation=GET%20/orders&traces=1')).body.nodes).map((r) => r[2])).toEqual(['(all)', 'GET /orders', 'Orders.load']);
    // A span of billing (not a root) selects its whole trace.
    const billing = (await get('/api/flame?service=billing')).body;
    expect(billing.traceCount).toBe(1);
    expect(rows(billing.nodes).map((r) => r[2])).toEqual(['(all)', 'GET /orders', 'Orders.load', 'POST /invoice']);
    expect((await get('/api/flame?service=billing&operation=GET%20/orders')).body).toMatchObject({ traceCount: 0, spanCount: 0, nodes: [{ method: '(all)', calls: 0 }] });
    // The old trace is outside the default hour, inside an explicit window.
    const nineDaysAgo = new Date(Date.now() - 9 * 86_400_000).toISOString();
    expect((await get(`/api/flame?end=${nineDaysAgo}&lookback=48h`)).body).toMatchObject({ traceCount: 1, nodes: [{ method: '(all)' }, { method: 'GET /orders', calls: 1 }] });
  });

  it('folds the lightest frames into (other) under maxNodes, heaviest kept first', async () => {
    // GET /orders would need an (other) of its own: 4 nodes; so everything is folded.
    const { body } = await get('/api/flame?maxNodes=3');
    expect(body.nodeCount).toBe(5);
    expect(rows(body.nodes)).toEqual([
      [0, '', '(all)', 305, 0, 3],
      [1, '', '(other)', 305, 305, 6],
    ]);
    expect(body.nodes[1]!.folded).toBe(4);
    expect(rows((await get('/api/flame?maxNodes=4')).body.nodes)).toEqual([
      [0, '', '(all)', 305, 0, 3],
      [1, 'orders', 'GET /orders', 300, 90, 2],
      [2, '', '(other)', 210, 210, 3],
      [1, '', '(other)', 5, 5, 1],
    ]);
  });

  it("never shows a token limited to one service another service's frames", async () => {
    const orders = (await get('/api/flame', { 'x-test-service': 'orders' })).body;
    expect(orders.nodes.every((n) => n.service === 'orders' || n.depth === 0)).toBe(true);
    // billing is hidden: Orders.load keeps its 40 ms as self time.
    expect(rows(orders.nodes).find((r) => r[2] === 'Orders.load')).toEqual([2, 'orders', 'Orders.load', 210, 210, 2]);
    const billing = (await get('/api/flame', { 'x-test-service': 'billing' })).body;
    // Its only span's parent is hidden: it becomes a top of its own.
    expect(rows(billing.nodes)).toEqual([
      [0, '', '(all)', 40, 0, 1],
      [1, 'billing', 'POST /invoice', 40, 40, 1],
    ]);
    expect((await get('/api/flame?service=orders', { 'x-test-service': 'billing' })).body.traceCount).toBe(0);
    expect((await get(`/api/traces/${B}/flame`, { 'x-test-service': 'billing' })).status).toBe(404);
  });

  it('answers 400 naming the parameter for bad parameters', async () => {
    const cases: Array<[string, RegExp]> = [
      ['?traces=0', /^traces: expected a whole number from 1 to 1000/],
      ['?traces=1001', /^traces: /],
      ['?maxNodes=1', /^maxNodes: expected a whole number from 2 to 20000/],
      ['?maxNodes=20001', /^maxNodes: /],
      ['?lookback=169h', /^lookback: the window is at most 7 days \(168h\) wide/],
      ['?start=yesterday', /^start: /],
      [`?operation=${'o'.repeat(2000)}`, /^operation: at most 1024 characters/],
    ];
    for (const [query, message] of cases) {
      const { status, body } = await get(`/api/flame${query}`);
      expect(status, query).toBe(400);
      expect(body.error, query).toMatch(message);
    }
  });
});

describe('GET /api/traces/:traceId/flame', () => {
  it("answers one trace's tree in the same shape", async () => {
    const { status, body } = await get(`/api/traces/${A.toUpperCase()}/flame`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ traceId: A, traceCount: 1, spanCount: 3, nodeCount: 4 });
    expect(rows(body.nodes)).toEqual([
      [0, '', '(all)', 100, 0, 1],
      [1, 'orders', 'GET /orders', 100, 40, 1],
      [2, 'orders', 'Orders.load', 60, 20, 1],
      [3, 'billing', 'POST /invoice', 40, 40, 1],
    ]);
    // Its own window, however old.
    expect((await get(`/api/traces/${OLD}/flame`)).body.spanCount).toBe(1);
  });

  it('answers 404 for an unknown trace and 400 for a bad ID', async () => {
    expect(await get(`/api/traces/${'e'.repeat(32)}/flame`)).toMatchObject({ status: 404, body: { error: `trace ${'e'.repeat(32)} not found` } });
    expect(await get('/api/traces/xyz/flame')).toMatchObject({ status: 400, body: { error: expect.stringMatching(/expected 32 hex digits/) } });
  });
});
