/**
 * `flowtrace logs` against the real log routes on the embedded engine, served on loopback: a
 * trace with the records found by its correlation ID, one span, a correlation ID, severity,
 * --json, --limit across pages, terminal escapes in a body made visible, and exit 2 for bad input.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClickHouse, TRACE_ID_SUFFIX, type ClickHouseClients } from '../../../../exporters/clickhouse/index.js';
import { migrate } from '../../../../exporters/clickhouse/schema.js';
import { LOOPBACK_ANONYMOUS } from '../../auth/principal.js';
import '../../auth/request-principal.js';
import { insertLogs, type TestLog } from '../../query/logs/log-rows.testing.js';
import { registerLogRoutes } from '../../query/logs/logs-routes.js';
import { QueryParamError } from '../../query/params.js';
import { ReadScopes } from '../../query/read-scope.js';
import type { LogView } from '../../query/logs/log-view.js';
import { main } from '../main.js';
import { formatLogLines, severityLabel } from './logs-format.js';

const DB = 'cli_logs';
const dataDir = mkdtempSync(join(tmpdir(), 'ft-cli-logs-'));
const config = { url: '', username: 'default', password: '', database: DB, tracesTable: 'otel_traces', dataDir, retentionDays: 3650, concurrency: 1 };
const TRACE = '7'.repeat(32);
const MANY = '8'.repeat(32);
const SPAN = '0000000000000007';
const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
let clients: ClickHouseClients;
let app: FastifyInstance;
let api: string;

beforeAll(async () => {
  clients = openClickHouse(config);
  await migrate(clients.writer, config);
  await clients.writer.insert({
    table: `${DB}.otel_traces`,
    values: [{ Timestamp: new Date(T0).toISOString(), TraceId: TRACE, SpanId: SPAN, ParentSpanId: '', SpanName: 'GET /a', SpanKind: 'Server', ServiceName: 'web', SpanAttributes: { 'flowtrace.correlation_id': 'req-9' }, Duration: '1000000', StatusCode: 'Unset' }],
    format: 'JSONEachRow',
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  });
  await insertLogs(clients.writer, DB, [
    { atMs: T0, nanos: 1500, traceId: TRACE, spanId: SPAN, service: 'web', body: 'handling /a' },
    { atMs: T0 + 1, traceId: TRACE, spanId: '0000000000000008', service: 'db', severity: ['ERROR', 17], body: 'deadlock\u001b]0;owned\u0007\nretry' },
    { atMs: T0 + 2, service: 'worker', body: 'job done', correlationId: 'req-9' },
    ...Array.from({ length: 1500 }, (_, i): TestLog => ({ atMs: T0 + 10 + i, traceId: MANY, service: 'web', body: `n${i}` })),
  ]);
  const readScopes = new ReadScopes(clients.writer, { database: DB, tracesTable: 'otel_traces', traceIdSuffix: TRACE_ID_SUFFIX });
  app = Fastify();
  app.decorateRequest('principal', null as unknown as typeof LOOPBACK_ANONYMOUS);
  app.addHook('onRequest', async (req) => {
    req.principal = LOOPBACK_ANONYMOUS;
  });
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => reply.code(err instanceof QueryParamError ? 400 : (err.statusCode ?? 500)).send({ error: err.message }));
  registerLogRoutes(app, { reader: clients.reader, readScopes });
  api = await app.listen({ host: '127.0.0.1', port: 0 });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await clients?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function flowtrace(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const code = await main(['logs', ...argv, '--api', api], { stdout, stderr, env: {}, cwd: process.cwd() });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

describe('flowtrace logs', () => {
  it("prints a trace's records and the one found by its correlation ID, control characters made visible", async () => {
    const { code, stdout } = await flowtrace(TRACE);
    expect(code).toBe(0);
    expect(stdout).toBe(
      [
        `2026-12-01T12:00:00.000001Z  INFO   web     span ${SPAN}  handling /a`,
        '2026-12-01T12:00:00.001000Z  ERROR  db      span 0000000000000008  deadlock\\x1b]0;owned\\x07\\nretry',
        '2026-12-01T12:00:00.002000Z  INFO   worker  no span [by correlation ID req-9]  job done',
        '',
      ].join('\n'),
    );
  });

  it('narrows to a span, a severity or a correlation ID; --json prints the records', async () => {
    expect((await flowtrace(TRACE, '--span-id', SPAN)).stdout).toMatch(/^\S+  INFO   web  span 0000000000000007  handling \/a\n$/);
    expect((await flowtrace(TRACE, '--severity', 'error')).stdout).toContain('deadlock');
    expect((await flowtrace(TRACE, '--severity', 'error')).stdout.split('\n')).toHaveLength(2);
    expect((await flowtrace('--correlation-id', 'req-9')).stdout).toMatch(/INFO {3}worker {2}no span {2}job done\n$/);
    const json = JSON.parse((await flowtrace(TRACE, '--json')).stdout) as { logs: LogView[] };
    expect(json.logs.map((l) => [l.body, l.foundBy])).toEqual([
      ['handling /a', 'trace'],
      ['deadlock\u001b]0;owned\u0007\nretry', 'trace'],
      ['job done', 'correlation'],
    ]);
  });

  it('follows the API cursor up to --limit', async () => {
    const all = (await flowtrace(MANY)).stdout.trimEnd().split('\n');
    expect(all).toHaveLength(1000);
    const more = (await flowtrace(MANY, '--limit', '1200')).stdout.trimEnd().split('\n');
    expect(more).toHaveLength(1200);
    expect(more[1199]).toMatch(/ n1199$/);
    expect((await flowtrace(MANY, '--limit', '5000')).stdout.trimEnd().split('\n')).toHaveLength(1500);
  });

  it('says when there is nothing, and exits 2 on bad input', async () => {
    const none = await flowtrace('f'.repeat(32));
    expect(none).toMatchObject({ code: 0, stdout: '' });
    expect(none.stderr).toMatch(/^no log records/);
    for (const [args, message] of [
      [[], /expected a TRACE_ID or --correlation-id ID/],
      [[TRACE, '--correlation-id', 'x'], /one of the two/],
      [['xyz'], /TRACE_ID: expected 32 hex digits, got 'xyz'/],
      [['--correlation-id', 'x', '--span-id', SPAN], /--span-id: needs the TRACE_ID/],
      [[TRACE, '--span-id', '12'], /--span-id: expected 16 hex digits/],
      [[TRACE, '--severity', 'loud'], /--severity: expected one of trace, debug/],
      [[TRACE, '--limit', '0'], /--limit: expected a whole number from 1 to 100000/],
      [[TRACE, '--bogus'], /Unknown option '--bogus'/],
    ] as const) {
      const result = await flowtrace(...args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
    }
  });
});

describe('logs formatting', () => {
  it('labels severities by text, else by number range', () => {
    expect([['', 0], ['', 3], ['', 9], ['', 19], ['', 24], ['Warning', 13]].map(([severityText, severityNumber]) => severityLabel({ severityText: severityText as string, severityNumber: severityNumber as number }))).toEqual(['-', 'TRACE', 'INFO', 'ERROR', 'FATAL', 'Warning']);
  });

  it('names the trace of a record from another trace, and marks a cut body', () => {
    const log = { timeUnixNano: '0', traceId: 'a'.repeat(32), spanId: '', severityText: '', severityNumber: 0, serviceName: 's', body: { k: 1 }, bodyTruncated: true } as unknown as LogView;
    expect(formatLogLines([log], 'b'.repeat(32))).toBe(`1970-01-01T00:00:00.000000Z  -      s  trace ${'a'.repeat(32)}  {"k":1} [body cut]\n`);
  });
});
