/**
 * `GET /api/search` through Fastify's inject, on the embedded engine: answers, 400s that name
 * the column or the parameter, and the principal's read rules. (test/search.e2e.test.ts runs it
 * on the real collector with real tokens.)
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
import { QueryParamError } from './params.js';
import { ReadScopes } from './read-scope.js';
import { schemaErrorMessage } from './route-schemas.js';
import { registerSearchRoutes } from './search-routes.js';

const DB = 'search_routes';
const dataDir = mkdtempSync(join(tmpdir(), 'ft-search-routes-'));
const config = { url: '', username: 'default', password: '', database: DB, tracesTable: 'otel_traces', dataDir, retentionDays: 3650, concurrency: 1 };
let clients: ClickHouseClients;
let app: FastifyInstance;
const nowMs = Date.now();

beforeAll(async () => {
  clients = openClickHouse(config);
  await migrate(clients.writer, config);
  const span = (trace: string, service: string, name: string) => ({
    Timestamp: new Date(nowMs - 60_000).toISOString(),
    TraceId: trace.repeat(32),
    SpanId: trace.repeat(16),
    ParentSpanId: '',
    SpanName: name,
    SpanKind: 'Server',
    ServiceName: service,
    Duration: '5000000',
    StatusCode: 'Unset',
    ResourceAttributes: { 'service.name': service },
    SpanAttributes: { 'http.route': service === 'orders' ? '/orders' : '/invoices', [`${service}.only`]: 'secret-of-' + service },
  });
  await clients.writer.insert({
    table: `${DB}.otel_traces`,
    values: [span('a', 'orders', 'GET /orders'), span('b', 'billing', 'GET /invoices')],
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
    reply.code(err instanceof QueryParamError ? 400 : err.statusCode && err.statusCode < 500 ? err.statusCode : 500).send({ error: err.message }),
  );
  app.setSchemaErrorFormatter((errors, dataVar) => new QueryParamError(schemaErrorMessage(errors, dataVar)));
  registerSearchRoutes(app, { reader: clients.reader, database: DB, readScopes });
  await app.ready();
}, 120_000);
afterAll(async () => {
  await app?.close();
  await clients.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await app.inject({ method: 'GET', url, headers });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> };
}

describe('GET /api/search', () => {
  it('answers matching traces with their summaries', async () => {
    const { status, body } = await get(`/api/search?q=${encodeURIComponent('kind = server')}`);
    expect(status).toBe(200);
    const traces = body.traces as Array<{ traceId: string; rootServiceName: string; spanCount: number; services: string[] }>;
    expect(traces.map((t) => t.traceId).sort()).toEqual(['a'.repeat(32), 'b'.repeat(32)]);
    expect(traces.find((t) => t.traceId === 'a'.repeat(32))).toMatchObject({ rootServiceName: 'orders', spanCount: 1, services: ['orders'] });
    expect(body.nextCursor).toBeUndefined();
    const page = await get(`/api/search?limit=1&q=${encodeURIComponent('kind = server')}`);
    expect((page.body.traces as unknown[]).length).toBe(1);
    expect(page.body.nextCursor).toMatch(/^\d+-[0-9a-f]{32}$/);
  });

  it('applies the read rules of the principal', async () => {
    const { body } = await get(`/api/search?q=${encodeURIComponent('name = "GET /invoices" OR name = "GET /orders"')}`, { 'x-test-service': 'orders' });
    expect((body.traces as Array<{ traceId: string }>).map((t) => t.traceId)).toEqual(['a'.repeat(32)]);
  });

  it('when nothing matches, hints at mistyped attribute keys with close ones from the catalog', async () => {
    const { status, body } = await get(`/api/search?q=${encodeURIComponent('span.http.rout = "/orders" AND resource.host.nam exists AND span.nothing.like.it exists')}`);
    expect(status).toBe(200);
    expect(body).toEqual({
      traces: [],
      hints: [
        'span.http.rout: no span carried this key in the last 7 days; did you mean span.http.route?',
        'resource.host.nam: no span carried this key in the last 7 days',
        'span.nothing.like.it: no span carried this key in the last 7 days',
      ],
    });
    // Only keys of readable services are suggested.
    const limited = await get(`/api/search?q=${encodeURIComponent('span.billing.onl = x')}`, { 'x-test-service': 'orders' });
    expect(limited.body.hints).toEqual(['span.billing.onl: no span carried this key in the last 7 days']);
    expect((await get(`/api/search?q=${encodeURIComponent('span.billing.onl = x')}`)).body.hints).toEqual([
      'span.billing.onl: no span carried this key in the last 7 days; did you mean span.billing.only?',
    ]);
    // Found something: no hints.
    expect((await get(`/api/search?q=${encodeURIComponent('span.http.route = "/orders"')}`)).body.hints).toBeUndefined();
  });

  it('answers 400 naming the column of a syntax error', async () => {
    const { status, body } = await get(`/api/search?q=${encodeURIComponent('service = "orders" AND name =')}`);
    expect(status).toBe(400);
    expect(body).toEqual({ error: "q: at column 30: expected a value after '='", column: 30 });
  });

  it('answers 400 naming the parameter for bad parameters', async () => {
    const cases: Array<[string, RegExp]> = [
      ['', /^q: at column 1: empty query/],
      ['?q=name%3Da&q=name%3Db', /^q: expected one value/],
      ['?q=name%3Da&limit=0', /^limit: /],
      ['?q=name%3Da&cursor=nope', /^cursor: /],
      ['?q=name%3Da&start=yesterday', /^start: /],
      [`?q=${'x'.repeat(5000)}`, /^q: at most 4096 characters/],
    ];
    for (const [query, message] of cases) {
      const { status, body } = await get(`/api/search${query}`);
      expect(status, query).toBe(400);
      expect(body.error, query).toMatch(message);
    }
  });
});

describe('GET /api/search/keys and /api/search/values (the attribute-key catalog)', () => {
  it('answers keys, most used first, narrowed by service, scope and prefix', async () => {
    const all = await get('/api/search/keys');
    expect(all.status).toBe(200);
    const keys = all.body.keys as Array<{ scope: string; key: string; spans: number }>;
    expect(keys).toContainEqual({ scope: 'span', key: 'http.route', spans: 2 });
    expect(keys).toContainEqual({ scope: 'resource', key: 'service.name', spans: 2 });
    const some = await get('/api/search/keys?service=orders&scope=span&prefix=http.');
    expect(some.body).toEqual({ keys: [{ scope: 'span', key: 'http.route', spans: 1 }] });
    expect((await get('/api/search/keys?limit=1')).body.keys).toHaveLength(1);
  });

  it('answers the top values of a key with their counts', async () => {
    const { status, body } = await get('/api/search/values?key=http.route');
    expect(status).toBe(200);
    expect(body).toEqual({ scope: 'span', key: 'http.route', values: [{ value: '/invoices', count: 1 }, { value: '/orders', count: 1 }] });
    expect((await get('/api/search/values?key=http.route&prefix=/o')).body.values).toEqual([{ value: '/orders', count: 1 }]);
    expect((await get('/api/search/values?key=service.name&scope=resource&service=billing')).body.values).toEqual([{ value: 'billing', count: 1 }]);
  });

  it("never shows a token limited to one service another service's keys or values", async () => {
    const only = { 'x-test-service': 'orders' };
    const keys = (await get('/api/search/keys', only)).body.keys as Array<{ key: string; spans: number }>;
    expect(keys.map((k) => k.key)).toContain('orders.only');
    expect(keys.map((k) => k.key)).not.toContain('billing.only');
    expect(keys.find((k) => k.key === 'http.route')?.spans).toBe(1);
    expect((await get('/api/search/keys?service=billing', only)).body).toEqual({ keys: [] });
    expect((await get('/api/search/values?key=billing.only', only)).body.values).toEqual([]);
    expect((await get('/api/search/values?key=billing.only&service=billing', only)).body.values).toEqual([]);
    expect((await get('/api/search/values?key=http.route', only)).body.values).toEqual([{ value: '/orders', count: 1 }]);
    // Sanity: without the restriction, the other service's key is there.
    expect((await get('/api/search/values?key=billing.only')).body.values).toEqual([{ value: 'secret-of-billing', count: 1 }]);
  });

  it('answers 400 naming the parameter for bad parameters', async () => {
    const cases: Array<[string, RegExp]> = [
      ['/api/search/keys?scope=event', /^scope: /],
      ['/api/search/keys?limit=1001', /^limit: expected a whole number from 1 to 1000/],
      ['/api/search/keys?days=0', /^days: /],
      ['/api/search/keys?days=367', /^days: /],
      [`/api/search/keys?prefix=${'x'.repeat(1025)}`, /^prefix: at most 1024 characters/],
      ['/api/search/values', /^key: required/],
      ['/api/search/values?key=a&limit=11', /^limit: expected a whole number from 1 to 10/],
      ['/api/search/values?key=a&key=b', /^key: expected one value/],
    ];
    for (const [url, message] of cases) {
      const { status, body } = await get(url);
      expect(status, url).toBe(400);
      expect(body.error, url).toMatch(message);
    }
  });
});
