/**
 * The compiled SQL run by the real embedded engine over hand-built traces with known answers:
 * every operator family, arrays, the descendant operator, trace-level fields, paging, and a read
 * scope that hides a service. (search-routes and test/search.e2e.test.ts cover the HTTP side.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClickHouse, TRACE_ID_SUFFIX, type ClickHouseClients } from '../../../../exporters/clickhouse/index.js';
import { migrate } from '../../../../exporters/clickhouse/schema.js';
import { ReadScopes } from '../read-scope.js';
import { SearchSyntaxError } from './parse.js';
import { runSearch, SearchCursorError } from './search.js';

const DB = 'search_test';
const TABLE = `\`${DB}\`.\`otel_traces\``;
const dataDir = mkdtempSync(join(tmpdir(), 'ft-search-'));
let clients: ClickHouseClients;
const BASE_NS = 1_800_000_000_000_000_000n;
const MS = 1_000_000n;

interface Row {
  trace: number;
  span: number;
  parent?: number;
  name: string;
  service: string;
  kind?: string;
  status?: string;
  startMs: number;
  durationMs: number;
  attrs?: Record<string, string>;
  resource?: Record<string, string>;
  kinds?: Record<string, string>;
}

/** ISO-8601 with all nine fraction digits, in UTC. */
const isoNs = (ns: bigint) => `${new Date(Number(ns / MS)).toISOString().slice(0, 19)}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;
const traceId = (n: number) => n.toString(16).padStart(32, '0');
const spanId = (t: number, s: number) => (t * 100 + s).toString(16).padStart(16, '0');

/**
 * T1 api GET /users → api UserRepo.find → db SELECT users (tags array, statement with a quote)
 * T2 api GET /orders (error, 500) → api OrderService.place; resource env prod
 * T3 pay POST /pay (1.5 s) → db SELECT users (direct child)
 * T4 other GET /users with a key holding a space and an injection attempt as its value
 * T5 api GET /users (root only), started earliest
 */
const ROWS: Row[] = [
  { trace: 1, span: 1, name: 'GET /users', service: 'api', kind: 'Server', startMs: 40, durationMs: 300, attrs: { 'http.route': '/users', 'http.status_code': '200' } },
  { trace: 1, span: 2, parent: 1, name: 'UserRepo.find', service: 'api', kind: 'Internal', startMs: 41, durationMs: 250 },
  {
    trace: 1,
    span: 3,
    parent: 2,
    name: 'SELECT users',
    service: 'db',
    kind: 'Client',
    startMs: 42,
    durationMs: 200,
    attrs: { 'db.statement': "SELECT * FROM users WHERE name = 'o''k'", tags: '["alpha","beta"]', ports: '[5432,6432]' },
    kinds: { 'span:tags': 'array', 'span:ports': 'array' },
  },
  { trace: 2, span: 1, name: 'GET /orders', service: 'api', kind: 'Server', status: 'Error', startMs: 30, durationMs: 80, attrs: { 'http.route': '/orders', 'http.status_code': '500' }, resource: { 'deployment.environment.name': 'prod' } },
  { trace: 2, span: 2, parent: 1, name: 'OrderService.place', service: 'api', kind: 'Internal', startMs: 31, durationMs: 50, resource: { 'deployment.environment.name': 'prod' } },
  { trace: 3, span: 1, name: 'POST /pay', service: 'pay', kind: 'Server', startMs: 20, durationMs: 1500, attrs: { 'http.status_code': '201' } },
  { trace: 3, span: 2, parent: 1, name: 'SELECT users', service: 'db', kind: 'Client', startMs: 21, durationMs: 10 },
  { trace: 4, span: 1, name: 'GET /users', service: 'other', kind: 'Server', startMs: 10, durationMs: 5, attrs: { 'weird key': "x'); DROP TABLE otel_traces; --" } },
  { trace: 5, span: 1, name: 'GET /users', service: 'api', kind: 'Server', startMs: 0, durationMs: 7, attrs: { 'http.route': '/users' } },
];

beforeAll(async () => {
  clients = openClickHouse({ url: '', username: 'default', password: '', database: DB, tracesTable: 'otel_traces', dataDir, retentionDays: 7, concurrency: 1 });
  await migrate(clients.writer, { url: '', username: 'default', password: '', database: DB, tracesTable: 'otel_traces', dataDir, retentionDays: 3650, concurrency: 1 });
  const values = ROWS.map((r) => ({
    Timestamp: isoNs(BASE_NS + BigInt(r.startMs) * MS),
    TraceId: traceId(r.trace),
    SpanId: spanId(r.trace, r.span),
    ParentSpanId: r.parent ? spanId(r.trace, r.parent) : '',
    SpanName: r.name,
    SpanKind: r.kind ?? 'Internal',
    ServiceName: r.service,
    ResourceAttributes: { 'service.name': r.service, ...r.resource },
    SpanAttributes: r.attrs ?? {},
    Duration: (BigInt(r.durationMs) * MS).toString(),
    StatusCode: r.status ?? 'Unset',
    AttributeKinds: r.kinds ?? {},
  }));
  await clients.writer.insert({ table: `${DB}.otel_traces`, values, format: 'JSONEachRow', clickhouse_settings: { date_time_input_format: 'best_effort' } });
}, 120_000);
afterAll(async () => {
  await clients.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function search(q: string, options: { limit?: number; cursor?: string; table?: string } = {}) {
  return runSearch(clients.reader, { q, table: options.table ?? TABLE, startNs: BASE_NS, endNs: BASE_NS + 10_000n * MS, limit: options.limit ?? 100, cursor: options.cursor });
}

/** The trace numbers a query finds, newest first. */
async function found(q: string, table?: string): Promise<number[]> {
  return (await search(q, { table })).traces.map((t) => parseInt(t.traceId, 16));
}

describe('search over the real engine', () => {
  it('compares intrinsic fields', async () => {
    expect(await found('name = "GET /users"')).toEqual([1, 4, 5]);
    expect(await found('{ name != "GET /users" }')).toEqual([1, 2, 3]);
    expect(await found('service = db')).toEqual([1, 3]);
    expect(await found('kind = client')).toEqual([1, 3]);
    expect(await found('status = error')).toEqual([2]);
    expect(await found('kind in (client, producer)')).toEqual([1, 3]);
    expect(await found('name =~ "^(GET|POST) /(orders|pay)$"')).toEqual([2, 3]);
    expect(await found('name !~ "^GET"')).toEqual([1, 2, 3]);
    expect(await found('name contains "Repo"')).toEqual([1]);
    expect(await found('name startsWith "POST"')).toEqual([3]);
    expect(await found('service in ("pay", "other")')).toEqual([3, 4]);
    expect(await found('{ kind = server AND service not in ("api") }')).toEqual([3, 4]);
  });

  it('compares durations and numeric attributes as numbers', async () => {
    expect(await found('duration > 250ms')).toEqual([1, 3]);
    expect(await found('duration >= 1.5s')).toEqual([3]);
    expect(await found('{ kind = server AND duration < 10ms }')).toEqual([4, 5]);
    expect(await found('span.http.status_code >= 500')).toEqual([2]);
    expect(await found('span.http.status_code > 199 AND span.http.status_code < 300')).toEqual([1, 3]);
    // "200" as text, 200 as a number: both find the 200; 2e2 only as a number.
    expect(await found('span.http.status_code = "200"')).toEqual([1]);
    expect(await found('span.http.status_code = 200.0')).toEqual([1]);
    expect(await found('span.http.status_code in (201, 500)')).toEqual([2, 3]);
  });

  it('tests presence, and negative operators only on spans that have the attribute', async () => {
    expect(await found('span.http.route exists')).toEqual([1, 2, 5]);
    expect(await found('{ kind = server AND span.http.route not exists }')).toEqual([3, 4]);
    expect(await found('span.http.route != "/users"')).toEqual([2]);
    expect(await found('resource.deployment.environment.name = prod')).toEqual([2]);
    expect(await found('resource.service.name = pay')).toEqual([3]);
  });

  it('matches any element of an array attribute, and every element for negative operators', async () => {
    expect(await found('span.tags = "beta"')).toEqual([1]);
    expect(await found('span.tags in ("gamma", "alpha")')).toEqual([1]);
    expect(await found('span.tags contains "lph"')).toEqual([1]);
    expect(await found('span.tags != "beta"')).toEqual([]);
    expect(await found('span.tags != "gamma"')).toEqual([1]);
    expect(await found('span.ports > 6000')).toEqual([1]);
    expect(await found('span.ports = 5432')).toEqual([1]);
    // The stored JSON text is not a value of its own.
    expect(await found('span.tags = "[\\"alpha\\",\\"beta\\"]"')).toEqual([]);
  });

  it('keeps one span per { } and lets bare conditions match different spans', async () => {
    expect(await found('{ service = api AND status = error }')).toEqual([2]);
    expect(await found('{ service = db AND name = "GET /users" }')).toEqual([]);
    expect(await found('service = db AND name = "GET /users"')).toEqual([1]);
    expect(await found('NOT { service = db } AND name = "GET /users"')).toEqual([4, 5]);
    expect(await found('(service = pay OR service = other) AND NOT status = error')).toEqual([3, 4]);
  });

  it('finds a span with a descendant at any depth (>>) or a child (>), not the other way round', async () => {
    expect(await found('{ name = "GET /users" } >> { name = "SELECT users" }')).toEqual([1]);
    expect(await found('{ kind = server } >> { service = db }')).toEqual([1, 3]);
    expect(await found('{ name = "SELECT users" } >> { name = "GET /users" }')).toEqual([]);
    // A span is not its own descendant.
    expect(await found('{ name = "UserRepo.find" } >> { name = "UserRepo.find" }')).toEqual([]);
    expect(await found('NOT ({ kind = server } >> { service = db }) AND kind = server')).toEqual([2, 4, 5]);
    // > is a direct child only.
    expect(await found('{ name = "GET /users" } > { name = "SELECT users" }')).toEqual([]);
    expect(await found('{ name = "UserRepo.find" } > { name = "SELECT users" }')).toEqual([1]);
    expect(await found('{ kind = server } > { service = db }')).toEqual([3]);
  });

  it('filters on trace-level duration, status, span count and root', async () => {
    expect(await found('trace.duration > 250ms')).toEqual([1, 3]);
    expect(await found('trace.status = error')).toEqual([2]);
    expect(await found('trace.status = ok AND trace.spans >= 2')).toEqual([1, 3]);
    expect(await found('trace.spans = 3')).toEqual([1]);
    expect(await found('trace.rootService = api AND trace.rootName = "GET /users"')).toEqual([1, 5]);
    expect(await found('trace.rootName =~ "^GET"')).toEqual([1, 2, 4, 5]);
  });

  it('returns summaries and pages with a cursor', async () => {
    const first = await search('kind = server', { limit: 2 });
    expect(first.traces.map((t) => t.traceId)).toEqual([traceId(1), traceId(2)]);
    expect(first.traces[0]).toEqual({
      traceId: traceId(1),
      rootServiceName: 'api',
      rootSpanName: 'GET /users',
      startTimeUnixNano: (BASE_NS + 40n * MS).toString(),
      durationNano: (300n * MS).toString(),
      spanCount: 3,
      errorCount: 0,
      services: ['api', 'db'],
    });
    expect(first.traces[1]!.errorCount).toBe(1);
    const second = await search('kind = server', { limit: 2, cursor: first.nextCursor });
    expect(second.traces.map((t) => t.traceId)).toEqual([traceId(3), traceId(4)]);
    const third = await search('kind = server', { limit: 2, cursor: second.nextCursor });
    expect(third.traces.map((t) => t.traceId)).toEqual([traceId(5)]);
    expect(third.nextCursor).toBeUndefined();
    await expect(search('kind = server', { cursor: "1-'; DROP" })).rejects.toThrow(SearchCursorError);
  });

  it('keeps an injection attempt a value: it finds the span holding it and changes nothing', async () => {
    expect(await found(`span."weird key" = "x'); DROP TABLE otel_traces; --"`)).toEqual([4]);
    expect(await found(`name = "'); DROP TABLE otel_traces; --"`)).toEqual([]);
    expect(await found(`span."') OR 1=1 --" exists`)).toEqual([]);
    expect(await found('service = api')).toEqual([1, 2, 5]);
  });

  it('answers a regex the engine refuses as a syntax error at its column', async () => {
    const err = await search('service = api AND name =~ "(unclosed"').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SearchSyntaxError);
    expect((err as SearchSyntaxError).column).toBe(27);
    expect((err as Error).message).toMatch(/^at column 27: invalid regex \(re2 syntax\): /);
  });

  it('never reaches a service the read rules hide', async () => {
    const scopes = new ReadScopes(clients.writer, { database: DB, tracesTable: 'otel_traces', traceIdSuffix: TRACE_ID_SUFFIX });
    const view = (await scopes.forRules({ services: ['api'] })).traceTables.traces;
    expect(await found('service = db', view)).toEqual([]);
    // T1 has api spans, but its db span is invisible: the structural match needs it.
    expect(await found('{ kind = server } >> { service = db }', view)).toEqual([]);
    expect(await found('name = "GET /users"', view)).toEqual([1, 5]);
    const t1 = (await search('name = "UserRepo.find"', { table: view })).traces[0]!;
    expect(t1.services).toEqual(['api']);
    expect(t1.spanCount).toBe(2);
  });
});
