/**
 * Attacks on the log read routes, on the embedded engine: read rules through the correlation-ID
 * branch and forged cursors, cursor tampering, text search with SQL and LIKE metacharacters, the
 * byte cap against records whose attribute maps are huge, and paging exactly once through many
 * records that share one timestamp and every hashed field.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClickHouse, TRACE_ID_SUFFIX, type ClickHouseClients } from '../../../../exporters/clickhouse/index.js';
import { migrate } from '../../../../exporters/clickhouse/schema.js';
import { LOOPBACK_ANONYMOUS } from '../../auth/principal.js';
import '../../auth/request-principal.js';
import { QueryParamError } from '../params.js';
import { ReadScopes } from '../read-scope.js';
import { userSqlConfigSchema } from '../sql/config.js';
import { UserSql } from '../sql/user-sql.js';
import { encodeLogCursor } from './log-cursor.js';
import { MAX_PAGE_BYTES } from './log-reads.js';
import { insertLogs, type TestLog } from './log-rows.testing.js';
import type { LogView } from './log-view.js';
import { registerLogRoutes } from './logs-routes.js';

const DB = 'log_security';
const dataDir = mkdtempSync(join(tmpdir(), 'ft-log-security-'));
const config = { url: '', username: 'default', password: '', database: DB, tracesTable: 'otel_traces', dataDir, retentionDays: 3650, concurrency: 1 };
const TRACE_A = 'a'.repeat(32);
const TRACE_B = 'b'.repeat(32);
const SPAN_A = '00000000000000a1';
const SPAN_B = '00000000000000b1';
const now = Date.now() - 120_000;
let clients: ClickHouseClients;
let app: FastifyInstance;
let scopes: ReadScopes;

interface Page {
  logs: LogView[];
  nextCursor?: string;
  byteCapped: boolean;
  correlationIds?: string[];
}

beforeAll(async () => {
  clients = openClickHouse(config);
  await migrate(clients.writer, config);
  // A's trace carries correlation ID shared-1; B's span and B's records carry it too.
  await clients.writer.insert({
    table: `${DB}.otel_traces`,
    values: [
      { Timestamp: new Date(now).toISOString(), TraceId: TRACE_A, SpanId: SPAN_A, ParentSpanId: '', SpanName: 'GET /a', SpanKind: 'Server', ServiceName: 'svc-a', SpanAttributes: { 'flowtrace.correlation_id': 'shared-1' }, Duration: '1000000', StatusCode: 'Unset' },
      { Timestamp: new Date(now).toISOString(), TraceId: TRACE_B, SpanId: SPAN_B, ParentSpanId: '', SpanName: 'GET /b', SpanKind: 'Server', ServiceName: 'svc-b', SpanAttributes: { 'flowtrace.correlation_id': 'secret-b' }, Duration: '1000000', StatusCode: 'Unset' },
    ],
    format: 'JSONEachRow',
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  });
  await insertLogs(clients.writer, DB, [
    { atMs: now, traceId: TRACE_A, spanId: SPAN_A, service: 'svc-a', body: 'a own', correlationId: 'shared-1' },
    { atMs: now + 1, service: 'svc-b', body: 'b lost context', correlationId: 'shared-1' },
    { atMs: now + 2, traceId: TRACE_A, spanId: SPAN_B, service: 'svc-b', body: 'b inside trace a', correlationId: 'secret-b' },
    { atMs: now + 3, traceId: TRACE_B, spanId: SPAN_B, service: 'svc-b', body: 'b own', correlationId: 'secret-b' },
    { atMs: now + 4, service: 'svc-b', body: 'b by secret', correlationId: 'secret-b', resource: { 'deployment.environment.name': 'prod' } },
  ]);
  scopes = new ReadScopes(clients.writer, { database: DB, tracesTable: 'otel_traces', traceIdSuffix: TRACE_ID_SUFFIX });
  app = Fastify();
  app.decorateRequest('principal', null as unknown as typeof LOOPBACK_ANONYMOUS);
  app.addHook('onRequest', async (req) => {
    const only = req.headers['x-test-service'];
    const environment = req.headers['x-test-environment'];
    const base = { ...LOOPBACK_ANONYMOUS, id: 'token:t', kind: 'token' as const };
    if (typeof environment === 'string') req.principal = { ...base, rules: { environments: [environment] } };
    else req.principal = typeof only === 'string' ? { ...base, rules: { services: [only] } } : LOOPBACK_ANONYMOUS;
  });
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => reply.code(err instanceof QueryParamError ? 400 : (err.statusCode ?? 500)).send({ error: err.message }));
  registerLogRoutes(app, { reader: clients.reader, readScopes: scopes });
  await app.ready();
}, 120_000);

afterAll(async () => {
  await app?.close();
  await clients?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function raw(url: string, headers: Record<string, string> = {}) {
  return app.inject({ url, headers });
}

async function get(url: string, headers: Record<string, string> = {}): Promise<Page> {
  const res = await raw(url, headers);
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Page>();
}

const bodies = (page: Page) => page.logs.map((l) => String(l.body));
const onlyA = { 'x-test-service': 'svc-a' };

describe('read rules through the correlation-ID branch', () => {
  it("never add another service's records that share the trace's correlation ID", async () => {
    const trace = await get(`/api/traces/${TRACE_A}/logs`, onlyA);
    expect(trace.correlationIds).toEqual(['shared-1']);
    expect(bodies(trace)).toEqual(['a own']);
    // secret-b is on B's records of trace A and on B's span: unreadable, so neither followed nor named.
    expect(JSON.stringify(trace)).not.toContain('secret-b');
    expect(bodies(await get('/api/logs?correlation_id=shared-1', onlyA))).toEqual(['a own']);
    expect(bodies(await get('/api/logs?correlation_id=secret-b', onlyA))).toEqual([]);
    expect(bodies(await get(`/api/logs?trace_id=${TRACE_A}&span_id=${SPAN_B}`, onlyA))).toEqual([]);
    expect(bodies(await get(`/api/traces/${TRACE_B}/logs`, onlyA))).toEqual([]);
    expect(bodies(await get('/api/logs?correlation_id=secret-b', { 'x-test-environment': 'staging' }))).toEqual([]);
    expect(bodies(await get('/api/logs?correlation_id=secret-b', { 'x-test-environment': 'prod' }))).toEqual(['b by secret']);
  });

  it('are not widened by a forged cursor (any time, any skip, either order)', async () => {
    for (const order of ['asc', 'desc'] as const) {
      for (const timeNs of [0n, BigInt(now) * 1_000_000n, 9_000_000_000_000_000_000n]) {
        const cursor = encodeLogCursor({ timeNs, skip: 1, order });
        const page = await get(`/api/traces/${TRACE_A}/logs?order=${order}&cursor=${cursor}`, onlyA);
        expect(bodies(page).filter((b) => b.startsWith('b '))).toEqual([]);
        const search = await get(`/api/logs?correlation_id=secret-b&order=${order}&cursor=${cursor}`, onlyA);
        expect(search.logs).toEqual([]);
      }
    }
  });
});

describe('cursor tampering', () => {
  it('refuses garbage, negative, huge and foreign cursors with a 400 that names the cursor and no SQL', async () => {
    const forged = (text: string) => Buffer.from(text, 'latin1').toString('base64url');
    const bad = [
      '!!!',
      'a'.repeat(200),
      forged('asc.-5.1'),
      forged('asc.1.0'),
      forged('asc.1.-1'),
      forged('asc.99999999999999999999.1'),
      forged('asc.1.999999999'),
      forged('asc.1.1\u0000'),
      forged("asc.1.1' OR 1=1"),
      forged('desc.1.1'),
      forged('\u00ff\u00fe'),
      '%00',
    ];
    for (const cursor of bad) {
      const res = await raw(`/api/logs?trace_id=${TRACE_A}&order=asc&cursor=${encodeURIComponent(cursor)}`);
      expect(res.statusCode, cursor).toBe(400);
      const error = res.json<{ error: string }>().error;
      expect(error).toMatch(/^cursor: /);
      expect(error).not.toMatch(/SELECT|FROM|otel_logs/);
    }
  });

  it('answers a cursor past the end with an empty last page', async () => {
    const page = await get(`/api/logs?trace_id=${TRACE_A}&cursor=${encodeLogCursor({ timeNs: 0n, skip: 10_000_000, order: 'asc' })}`);
    expect(page).toEqual({ logs: [], byteCapped: false });
  });
});

describe('text search', () => {
  it('matches %, _, backslash, quotes, NUL and regex metacharacters literally', async () => {
    const trace = 'c'.repeat(32);
    const texts = ['100% done', '100x done', 'a_b', 'axb', 'back\\slash', "it's \"quoted\"", 'nul\u0000byte', 'a.*b', 'a+b'];
    await insertLogs(
      clients.writer,
      DB,
      texts.map((body, i): TestLog => ({ atMs: now + 10 + i, traceId: trace, service: 'svc-text', body })),
    );
    const search = async (text: string) => bodies(await get(`/api/logs?service=svc-text&lookback=1h&order=asc&text=${encodeURIComponent(text)}`));
    expect(await search('0%')).toEqual(['100% done']);
    expect(await search('a_b')).toEqual(['a_b']);
    expect(await search('\\')).toEqual(['back\\slash']);
    expect(await search("'s \"")).toEqual(["it's \"quoted\""]);
    expect(await search('\u0000')).toEqual(['nul\u0000byte']);
    expect(await search('.*')).toEqual(['a.*b']);
    expect(await search('a+')).toEqual(['a+b']);
    expect(await search("') OR 1=1 --")).toEqual([]);
    expect((await raw(`/api/logs?severity=${encodeURIComponent('1 OR 1=1')}`)).statusCode).toBe(400);
    expect(bodies(await get(`/api/logs?lookback=1h&service=${encodeURIComponent("svc-a' OR '1'='1")}`))).toEqual([]);
  });
});

describe('the byte cap', () => {
  it('holds a page under 4 MiB even when one record carries megabytes of attributes', async () => {
    const trace = 'd'.repeat(32);
    const huge = 'h'.repeat(5 * 1024 * 1024);
    const many = Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`key.${i}`, 'm'.repeat(16 * 1024)]));
    await insertLogs(clients.writer, DB, [
      { atMs: now + 30, traceId: trace, service: 'svc-big', body: 'one huge value', attributes: { big: huge } },
      { atMs: now + 31, traceId: trace, service: 'svc-big', body: 'many values', resource: many },
      { atMs: now + 32, traceId: trace, service: 'svc-big', body: 'small' },
    ]);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await raw(`/api/logs?trace_id=${trace}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.statusCode).toBe(200);
      expect(Buffer.byteLength(res.body)).toBeLessThanOrEqual(MAX_PAGE_BYTES);
      const page = res.json<Page>();
      seen.push(...bodies(page));
      for (const log of page.logs) if (log.body !== 'small') expect(log.attributesTruncated).toBe(true);
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== undefined && pages < 10);
    expect(seen).toEqual(['one huge value', 'many values', 'small']);
  }, 60_000);
});

describe('paging', () => {
  it('returns every record exactly once when many share one nanosecond and every hashed field', async () => {
    const trace = 'e'.repeat(32);
    // Six inserts: six parts, records that differ only in an attribute.
    for (let part = 0; part < 6; part++) {
      await insertLogs(
        clients.writer,
        DB,
        Array.from({ length: 10 }, (_, i): TestLog => ({ atMs: now + 40, nanos: 7, traceId: trace, spanId: SPAN_A, service: 'svc-same', body: 'tick', attributes: { n: String(part * 10 + i) } })),
      );
    }
    for (const order of ['asc', 'desc'] as const) {
      for (const limit of [1, 13]) {
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await get(`/api/logs?trace_id=${trace}&order=${order}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
          seen.push(...page.logs.map((l) => String(l.attributes.n)));
          cursor = page.nextCursor;
          pages++;
        } while (cursor !== undefined && pages < 100);
        expect(seen.length, `${order} limit ${limit}`).toBe(60);
        expect(new Set(seen).size, `${order} limit ${limit}`).toBe(60);
      }
    }
  }, 60_000);
});

describe('the byte cap in the engine', () => {
  it('continues with a cursor when the engine ended the page on stored bytes the JSON does not keep', async () => {
    const trace = 'f'.repeat(32);
    // A map body stored with 16,000 spaces: about 16 KB in the table, 7 bytes as JSON again.
    const padded = `{"k":${' '.repeat(16_000)}1}`;
    await insertLogs(
      clients.writer,
      DB,
      Array.from({ length: 300 }, (_, i): TestLog => ({ atMs: now + 50 + i, traceId: trace, service: 'svc-pad', body: padded, attributeKinds: { body: 'kvlist' } })),
    );
    let count = 0;
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await get(`/api/logs?trace_id=${trace}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.logs.every((l) => JSON.stringify(l.body) === '{"k":1}')).toBe(true);
      count += page.logs.length;
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== undefined && pages < 10);
    expect(count).toBe(300);
    expect(pages).toBe(2);
  }, 60_000);
});

describe('correlation IDs of a trace', () => {
  it('are not followed when longer than a correlation ID can be, so they cannot swell the answer past 4 MiB', async () => {
    const trace = '9'.repeat(32);
    await clients.writer.insert({
      table: `${DB}.otel_traces`,
      values: Array.from({ length: 20 }, (_, i) => ({
        Timestamp: new Date(now).toISOString(),
        TraceId: trace,
        SpanId: `00000000000009${String(i).padStart(2, '0')}`,
        ParentSpanId: '',
        SpanName: 'GET /fat',
        SpanKind: 'Server',
        ServiceName: 'svc-fat',
        SpanAttributes: { 'flowtrace.correlation_id': `${i}${'i'.repeat(256 * 1024)}` },
        Duration: '1000000',
        StatusCode: 'Unset',
      })),
      format: 'JSONEachRow',
      clickhouse_settings: { date_time_input_format: 'best_effort' },
    });
    await insertLogs(clients.writer, DB, Array.from({ length: 300 }, (_, i): TestLog => ({ atMs: now + 60 + i, traceId: trace, service: 'svc-fat', body: 'w'.repeat(16_000) })));
    const res = await raw(`/api/traces/${trace}/logs?limit=1000`);
    expect(res.statusCode).toBe(200);
    expect(Buffer.byteLength(res.body)).toBeLessThanOrEqual(MAX_PAGE_BYTES);
    expect(res.json<Page>().correlationIds).toEqual([]);
  }, 60_000);

  it('are refused to a restricted token in user SQL over otel_logs and the raw table', async () => {
    const sql = new UserSql({ engine: clients, scopeFor: (p) => scopes.forRules(p.rules), config: userSqlConfigSchema.parse({ max_execution_seconds: 5 }) });
    const onlyAPrincipal = { ...LOOPBACK_ANONYMOUS, id: 'token:t', kind: 'token' as const, rules: { services: ['svc-a'] } };
    const seen = await sql.run("SELECT Body, CorrelationId FROM otel_logs WHERE CorrelationId IN ('shared-1', 'secret-b') ORDER BY Timestamp", onlyAPrincipal);
    expect(seen.rows).toEqual([{ Body: 'a own', CorrelationId: 'shared-1' }]);
    await expect(sql.run(`SELECT count() FROM ${DB}.otel_logs`, onlyAPrincipal)).rejects.toThrow();
    await expect(sql.run(`SELECT count() FROM remote('127.0.0.1', ${DB}.otel_logs)`, onlyAPrincipal)).rejects.toThrow();
  });
});
