/**
 * `GET /api/logs` and `GET /api/traces/:id/logs` through Fastify's inject, on the embedded engine:
 * by trace, span and correlation ID, the trace's logs found through its correlation IDs, search by
 * service / severity / text, paging in both orders across equal timestamps, the body and byte
 * caps, 400s naming the parameter, and read rules (REST and user SQL) hiding another service.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClickHouse, TRACE_ID_SUFFIX, type ClickHouseClients } from '../../../../exporters/clickhouse/index.js';
import { migrate } from '../../../../exporters/clickhouse/schema.js';
import { LOOPBACK_ANONYMOUS, type Principal } from '../../auth/principal.js';
import '../../auth/request-principal.js';
import { QueryParamError } from '../params.js';
import { ReadScopes } from '../read-scope.js';
import { userSqlConfigSchema } from '../sql/config.js';
import { UserSql } from '../sql/user-sql.js';
import { insertLogs, type TestLog } from './log-rows.testing.js';
import type { LogView } from './log-view.js';
import { MAX_BODY_CHARS } from './log-view.js';
import { registerLogRoutes } from './logs-routes.js';

const DB = 'log_routes';
const dataDir = mkdtempSync(join(tmpdir(), 'ft-log-routes-'));
const config = { url: '', username: 'default', password: '', database: DB, tracesTable: 'otel_traces', dataDir, retentionDays: 3650, concurrency: 1 };
const TRACE = 'c'.repeat(32);
const OTHER_TRACE = 'd'.repeat(32);
const BULK_TRACE = 'e'.repeat(32);
const SPAN_A = '000000000000000a';
const SPAN_B = '000000000000000b';
const now = Date.now() - 60_000;
let clients: ClickHouseClients;
let app: FastifyInstance;
let scopes: ReadScopes;
const onlyOrders: Principal = { ...LOOPBACK_ANONYMOUS, id: 'token:t', kind: 'token', rules: { services: ['orders'] } };

const logs: TestLog[] = [
  { atMs: now, traceId: TRACE, spanId: SPAN_A, service: 'orders', body: 'order received', attributes: { 'order.items': '3' }, attributeKinds: { 'log:order.items': 'int' }, correlationId: 'req-42' },
  { atMs: now + 5, traceId: TRACE, spanId: SPAN_B, service: 'billing', severity: ['ERROR', 17], body: 'card declined' },
  { atMs: now + 10, traceId: TRACE, spanId: SPAN_A, service: 'orders', severity: ['WARN', 13], body: 'retrying payment' },
  // The queue consumer lost the trace context; the correlation ID still names the request.
  { atMs: now + 20, service: 'shipping', body: 'label printed for req-42', correlationId: 'req-42' },
  { atMs: now + 30, traceId: OTHER_TRACE, spanId: SPAN_A, service: 'orders', body: 'another request' },
  // Five records at one timestamp, and a body past the cap.
  ...Array.from({ length: 5 }, (_, i): TestLog => ({ atMs: now + 40, traceId: BULK_TRACE, service: 'orders', body: `same time ${i}` })),
  { atMs: now + 41, traceId: BULK_TRACE, service: 'orders', body: 'x'.repeat(MAX_BODY_CHARS + 10) },
];

beforeAll(async () => {
  clients = openClickHouse(config);
  await migrate(clients.writer, config);
  await clients.writer.insert({
    table: `${DB}.otel_traces`,
    values: [
      { Timestamp: new Date(now).toISOString(), TraceId: TRACE, SpanId: SPAN_A, ParentSpanId: '', SpanName: 'POST /orders', SpanKind: 'Server', ServiceName: 'orders', SpanAttributes: { 'flowtrace.correlation_id': 'req-42' }, Duration: '50000000', StatusCode: 'Unset' },
      { Timestamp: new Date(now + 2).toISOString(), TraceId: TRACE, SpanId: SPAN_B, ParentSpanId: SPAN_A, SpanName: 'charge', SpanKind: 'Server', ServiceName: 'billing', SpanAttributes: {}, Duration: '10000000', StatusCode: 'Error' },
    ],
    format: 'JSONEachRow',
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  });
  await insertLogs(clients.writer, DB, logs);
  scopes = new ReadScopes(clients.writer, { database: DB, tracesTable: 'otel_traces', traceIdSuffix: TRACE_ID_SUFFIX });
  app = Fastify();
  // The query API's auth hook resolves the principal; here a test header stands for a token limited to one service.
  app.decorateRequest('principal', null as unknown as typeof LOOPBACK_ANONYMOUS);
  app.addHook('onRequest', async (req) => {
    const only = req.headers['x-test-service'];
    const environment = req.headers['x-test-environment'];
    if (typeof environment === 'string') req.principal = { ...onlyOrders, rules: { environments: [environment] } };
    else req.principal = typeof only === 'string' ? { ...onlyOrders, rules: { services: [only] } } : LOOPBACK_ANONYMOUS;
  });
  // As api.ts answers them.
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => reply.code(err instanceof QueryParamError ? 400 : (err.statusCode ?? 500)).send({ error: err.message }));
  registerLogRoutes(app, { reader: clients.reader, readScopes: scopes });
  await app.ready();
}, 120_000);

afterAll(async () => {
  await app?.close();
  await clients?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Page {
  logs: LogView[];
  nextCursor?: string;
  byteCapped: boolean;
  correlationIds?: string[];
}

async function get(url: string, service?: string, environment?: string): Promise<Page> {
  const res = await app.inject({ url, headers: { ...(service ? { 'x-test-service': service } : {}), ...(environment ? { 'x-test-environment': environment } : {}) } });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Page>();
}

async function refusal(url: string): Promise<string> {
  const res = await app.inject({ url });
  expect(res.statusCode, res.body).toBe(400);
  return res.json<{ error: string }>().error;
}

const bodies = (page: Page) => page.logs.map((l) => l.body);

describe('GET /api/logs', () => {
  it('reads the records of a trace in time order, fields typed as sent', async () => {
    const page = await get(`/api/logs?trace_id=${TRACE}`);
    expect(bodies(page)).toEqual(['order received', 'card declined', 'retrying payment']);
    expect(page.nextCursor).toBeUndefined();
    const first = page.logs[0]!;
    expect(first).toMatchObject({ traceId: TRACE, spanId: SPAN_A, serviceName: 'orders', severityText: 'INFO', severityNumber: 9, correlationId: 'req-42', scope: { name: 'test-logger' } });
    expect(first.attributes).toEqual({ 'order.items': 3, 'flowtrace.correlation_id': 'req-42' });
    expect(BigInt(first.timeUnixNano)).toBe(BigInt(now) * 1_000_000n);
    expect(first.foundBy).toBeUndefined();
  });

  it('narrows to a span, and finds records by correlation ID without trace context', async () => {
    expect(bodies(await get(`/api/logs?trace_id=${TRACE}&span_id=${SPAN_A.toUpperCase()}`))).toEqual(['order received', 'retrying payment']);
    expect(bodies(await get('/api/logs?correlation_id=req-42'))).toEqual(['order received', 'label printed for req-42']);
  });

  it('searches by service, severity and text over a window, newest first', async () => {
    expect(bodies(await get('/api/logs?service=orders&severity=warn'))).toEqual(['retrying payment']);
    expect(bodies(await get('/api/logs?severity=error&lookback=1h'))).toEqual(['card declined']);
    expect(bodies(await get('/api/logs?text=REQUEST'))).toEqual(['another request']);
    expect(bodies(await get(`/api/logs?trace_id=${TRACE}&order=desc`))).toEqual(['retrying payment', 'card declined', 'order received']);
    // A window before the records: none.
    expect(bodies(await get(`/api/logs?service=orders&end=${(now - 3_600_000) * 1000}`))).toEqual([]);
  });

  it('pages across records sharing one timestamp, in both orders, each record once', async () => {
    for (const order of ['asc', 'desc'] as const) {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await get(`/api/logs?trace_id=${BULK_TRACE}&limit=2&order=${order}${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...page.logs.map((l) => String(l.body).slice(0, 20)));
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBe(3);
      expect(new Set(seen).size).toBe(6);
      expect(seen.filter((b) => b.startsWith('same time')).sort()).toEqual(['same time 0', 'same time 1', 'same time 2', 'same time 3', 'same time 4']);
      expect(seen[order === 'asc' ? 5 : 0]).toBe('x'.repeat(20));
    }
  });

  it('cuts a body past the cap and says so', async () => {
    const long = (await get(`/api/logs?trace_id=${BULK_TRACE}&text=xxxx`)).logs[0]!;
    expect(long.bodyTruncated).toBe(true);
    expect(String(long.body).length).toBe(MAX_BODY_CHARS);
    expect((await get(`/api/logs?trace_id=${TRACE}`)).logs[0]!.bodyTruncated).toBeUndefined();
  });

  it('refuses bad parameters, naming them', async () => {
    expect(await refusal('/api/logs?trace_id=xyz')).toMatch(/^trace_id: expected 32 hex digits/);
    expect(await refusal('/api/logs?span_id=123')).toMatch(/^span_id: expected 16 hex digits/);
    expect(await refusal('/api/logs?traceId=' + TRACE)).toMatch(/^traceId: unknown parameter/);
    expect(await refusal('/api/logs?severity=loud')).toMatch(/^severity: expected trace, debug/);
    expect(await refusal('/api/logs?severity=25')).toMatch(/^severity:/);
    expect(await refusal('/api/logs?severity=constructor')).toMatch(/^severity: expected trace, debug/);
    expect(await refusal('/api/logs?order=up')).toMatch(/^order: expected asc/);
    expect(await refusal('/api/logs?limit=1001')).toMatch(/^limit: expected a whole number from 1 to 1000/);
    expect(await refusal('/api/logs?lookback=8d')).toMatch(/^lookback: expected a duration/);
    expect(await refusal('/api/logs?lookback=200h')).toMatch(/^lookback: without trace_id, span_id or correlation_id the window is at most 7 days/);
    expect(await refusal('/api/logs?cursor=%24%24')).toMatch(/^cursor: not a cursor of this API/);
    expect(await refusal(`/api/logs?text=${'a'.repeat(257)}`)).toMatch(/^text: at most 256 characters/);
    expect(await refusal(`/api/logs?correlation_id=${'a'.repeat(513)}`)).toMatch(/^correlation_id: expected 1 to 512 characters/);
    const { nextCursor } = await get(`/api/logs?trace_id=${BULK_TRACE}&limit=1`);
    expect(await refusal(`/api/logs?trace_id=${BULK_TRACE}&limit=1&order=desc&cursor=${nextCursor}`)).toMatch(/^cursor: it continues order=asc, not order=desc/);
  });
});

describe('GET /api/traces/:traceId/logs', () => {
  it("returns the trace's records and those sharing its correlation IDs, saying how each was found", async () => {
    const page = await get(`/api/traces/${TRACE}/logs`);
    expect(page.correlationIds).toEqual(['req-42']);
    expect(page.logs.map((l) => [l.body, l.foundBy])).toEqual([
      ['order received', 'trace'],
      ['card declined', 'trace'],
      ['retrying payment', 'trace'],
      ['label printed for req-42', 'correlation'],
    ]);
    expect(bodies(await get(`/api/traces/${TRACE}/logs?severity=warn`))).toEqual(['card declined', 'retrying payment']);
    const paged = await get(`/api/traces/${TRACE}/logs?limit=3`);
    expect(paged.logs).toHaveLength(3);
    expect(bodies(await get(`/api/traces/${TRACE}/logs?cursor=${paged.nextCursor}`))).toEqual(['label printed for req-42']);
  });

  it('answers an empty page for a trace without records, and 400 for a bad ID or parameter', async () => {
    expect(await get(`/api/traces/${'f'.repeat(32)}/logs`)).toEqual({ traceId: 'f'.repeat(32), correlationIds: [], logs: [], byteCapped: false });
    expect(await refusal('/api/traces/nothex/logs')).toMatch(/^trace ID: expected 32 hex digits/);
    expect(await refusal(`/api/traces/${TRACE}/logs?span_id=${SPAN_A}`)).toMatch(/^span_id: unknown parameter/);
  });
});

describe('read rules', () => {
  it("hide another service's records from a restricted token, in every route", async () => {
    expect(bodies(await get(`/api/logs?trace_id=${TRACE}`, 'orders'))).toEqual(['order received', 'retrying payment']);
    expect(bodies(await get('/api/logs?severity=error', 'orders'))).toEqual([]);
    expect(bodies(await get('/api/logs?correlation_id=req-42', 'orders'))).toEqual(['order received']);
    const trace = await get(`/api/traces/${TRACE}/logs`, 'billing');
    // billing's token reads neither orders' span nor orders' record carrying req-42: no correlation ID to follow.
    expect(trace.correlationIds).toEqual([]);
    expect(bodies(trace)).toEqual(['card declined']);
    expect(bodies(await get(`/api/traces/${TRACE}/logs`, 'shipping'))).toEqual([]);
  });

  it('apply to user SQL over otel_logs (its filtered guest view, correlation column included)', async () => {
    const sql = new UserSql({ engine: clients, scopeFor: (p) => scopes.forRules(p.rules), config: userSqlConfigSchema.parse({ max_execution_seconds: 5 }) });
    const statement = 'SELECT ServiceName, count() AS n, countIf(CorrelationId = \'req-42\') AS correlated FROM otel_logs GROUP BY ServiceName ORDER BY ServiceName';
    const all = await sql.run(statement, LOOPBACK_ANONYMOUS);
    expect(all.rows.map((r) => r.ServiceName)).toEqual(['billing', 'orders', 'shipping']);
    const restricted = await sql.run(statement, onlyOrders);
    expect(restricted.rows).toEqual([{ ServiceName: 'orders', n: '9', correlated: '1' }]);
  });
});

describe('environment rules', () => {
  it("hide the records of another environment's resources", async () => {
    const trace = '3'.repeat(32);
    await insertLogs(clients.writer, DB, [
      { atMs: now + 60, traceId: trace, service: 'env', body: 'in prod', resource: { 'deployment.environment.name': 'prod' } },
      { atMs: now + 61, traceId: trace, service: 'env', body: 'in staging', resource: { 'deployment.environment': 'staging' } },
    ]);
    expect(bodies(await get(`/api/logs?trace_id=${trace}`))).toEqual(['in prod', 'in staging']);
    expect(bodies(await get(`/api/logs?trace_id=${trace}`, undefined, 'prod'))).toEqual(['in prod']);
    expect(bodies(await get(`/api/traces/${trace}/logs`, undefined, 'staging'))).toEqual(['in staging']);
  });
});

describe('typed bodies', () => {
  it('returns a body sent as a map or array as JSON again, a string body that looks like JSON as the string', async () => {
    const trace = '2'.repeat(32);
    await insertLogs(clients.writer, DB, [
      { atMs: now + 50, traceId: trace, service: 'json', body: '{"user":7,"tags":["a"]}', attributeKinds: { body: 'kvlist' } },
      { atMs: now + 51, traceId: trace, service: 'json', body: '{"user":7}' },
    ]);
    expect((await get(`/api/logs?trace_id=${trace}`)).logs.map((l) => l.body)).toEqual([{ user: 7, tags: ['a'] }, '{"user":7}']);
  });
});

describe('the byte cap', () => {
  it('ends a page early with a cursor to the rest', async () => {
    const trace = '1'.repeat(32);
    const big = 'y'.repeat(MAX_BODY_CHARS);
    await insertLogs(clients.writer, DB, Array.from({ length: 300 }, (_, i): TestLog => ({ atMs: now + 100 + i, traceId: trace, service: 'orders', body: big })));
    const first = await get(`/api/logs?trace_id=${trace}&limit=1000`);
    expect(first.byteCapped).toBe(true);
    expect(first.logs.length).toBeGreaterThan(200);
    expect(first.logs.length).toBeLessThan(300);
    const rest = await get(`/api/logs?trace_id=${trace}&limit=1000&cursor=${first.nextCursor}`);
    expect(rest.byteCapped).toBe(false);
    expect(first.logs.length + rest.logs.length).toBe(300);
    expect(rest.nextCursor).toBeUndefined();
  });
});
