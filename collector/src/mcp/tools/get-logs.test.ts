/**
 * The get_logs MCP tool through the SDK's client over an in-memory transport, on the embedded
 * engine: a trace's logs with those found by correlation ID, one span, a correlation ID, paging
 * under the budget until the end, input mistakes, and a restricted token's read rules.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClickHouse, TRACE_ID_SUFFIX, type ClickHouseClients } from '../../../../exporters/clickhouse/index.js';
import { migrate, tableName } from '../../../../exporters/clickhouse/schema.js';
import { LOOPBACK_ANONYMOUS, type Principal } from '../../auth/principal.js';
import { insertLogs, type TestLog } from '../../query/logs/log-rows.testing.js';
import { ReadScopes } from '../../query/read-scope.js';
import { userSqlConfigSchema } from '../../query/sql/config.js';
import { UserSql } from '../../query/sql/user-sql.js';
import { TraceStore } from '../../query/trace-store.js';
import { createMcpServer } from '../server.js';
import type { McpDeps } from '../tool.js';

const DB = 'mcp_get_logs';
const dataDir = mkdtempSync(join(tmpdir(), 'ft-mcp-logs-'));
const config = { url: '', username: 'default', password: '', database: DB, tracesTable: 'otel_traces', dataDir, retentionDays: 3650, concurrency: 1 };
const TRACE = 'a1'.repeat(16);
const MANY = 'b2'.repeat(16);
const SPAN = '00000000000000a1';
const now = Date.now() - 60_000;
let clients: ClickHouseClients;
let deps: McpDeps;

beforeAll(async () => {
  clients = openClickHouse(config);
  await migrate(clients.writer, config);
  await clients.writer.insert({
    table: `${DB}.otel_traces`,
    values: [{ Timestamp: new Date(now).toISOString(), TraceId: TRACE, SpanId: SPAN, ParentSpanId: '', SpanName: 'GET /cart', SpanKind: 'Server', ServiceName: 'cart', SpanAttributes: { 'flowtrace.correlation_id': 'ticket-7' }, Duration: '1000000', StatusCode: 'Unset' }],
    format: 'JSONEachRow',
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  });
  await insertLogs(clients.writer, DB, [
    { atMs: now, traceId: TRACE, spanId: SPAN, service: 'cart', body: 'cart loaded\nwith 2 items' },
    { atMs: now + 1, traceId: TRACE, spanId: '00000000000000b2', service: 'pricing', severity: ['ERROR', 17], body: 'price service timed out' },
    { atMs: now + 2, service: 'mailer', body: 'receipt queued', correlationId: 'ticket-7' },
    // 400 records of ~300 characters: several pages of the budget, and more than one read of 200.
    ...Array.from({ length: 400 }, (_, i): TestLog => ({ atMs: now + 10 + i, traceId: MANY, service: 'cart', body: `step ${String(i).padStart(3, '0')} ${'z'.repeat(280)}` })),
  ]);
  const readScopes = new ReadScopes(clients.writer, { database: DB, tracesTable: 'otel_traces', traceIdSuffix: TRACE_ID_SUFFIX });
  deps = {
    store: new TraceStore(clients.reader, { traces: tableName(config), traceIds: tableName(config, TRACE_ID_SUFFIX) }),
    reader: clients.reader,
    database: DB,
    userSql: new UserSql({ engine: clients, scopeFor: (p) => readScopes.forRules(p.rules), config: userSqlConfigSchema.parse({}) }),
    readScopes,
  };
}, 120_000);

afterAll(async () => {
  await clients?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function connect(principal: Principal): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await createMcpServer(deps, principal, { version: 'test' }).connect(serverSide);
  const client = new Client({ name: 'get-logs-test', version: '1' });
  await client.connect(clientSide);
  return client;
}

async function call(client: Client, args: Record<string, unknown>): Promise<{ text: string; isError: boolean }> {
  const result = (await client.callTool({ name: 'get_logs', arguments: args })) as CallToolResult;
  const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
  expect(Math.ceil(text.length / 4)).toBeLessThanOrEqual(3000);
  return { text, isError: result.isError === true };
}

const bodyColumn = (text: string) =>
  text
    .split('\n')
    .filter((l) => !l.startsWith('#') && !l.startsWith('time,'))
    .map((l) => l.split(',').slice(6).join(','));

describe('get_logs', () => {
  it("lists a trace's records and those of its correlation IDs in time order, saying how each was found", async () => {
    const client = await connect(LOOPBACK_ANONYMOUS);
    const { text, isError } = await call(client, { traceId: TRACE });
    expect(isError).toBe(false);
    expect(text).toContain(`# logs of trace ${TRACE} and of its correlation IDs ticket-7`);
    const lines = text.split('\n').filter((l) => /^\d{4}-/.test(l));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(new RegExp(`^\\S+Z,INFO,cart,,${SPAN},trace,cart loaded ⏎ with 2 items$`));
    expect(lines[1]).toContain(',ERROR,pricing,,00000000000000b2,trace,price service timed out');
    expect(lines[2]).toMatch(/,INFO,mailer,,,correlation,receipt queued$/);
    expect(text.endsWith('# end')).toBe(true);
  });

  it('narrows to a span or a severity, and reads a correlation ID alone', async () => {
    const client = await connect(LOOPBACK_ANONYMOUS);
    expect(bodyColumn((await call(client, { traceId: TRACE, spanId: SPAN.toUpperCase() })).text)).toEqual(['cart loaded ⏎ with 2 items']);
    expect(bodyColumn((await call(client, { traceId: TRACE, severity: 'error' })).text)).toEqual(['price service timed out']);
    const byId = await call(client, { correlationId: 'ticket-7' });
    expect(byId.text).toContain('# logs of correlation ID "ticket-7"');
    expect(bodyColumn(byId.text)).toEqual(['receipt queued']);
  });

  it('pages under its budget with cursors, every record once, in order', async () => {
    const client = await connect(LOOPBACK_ANONYMOUS);
    const seen: string[] = [];
    let cursor: string | undefined;
    let calls = 0;
    do {
      const { text } = await call(client, { traceId: MANY, ...(cursor ? { cursor } : {}) });
      seen.push(...bodyColumn(text).map((b) => b.slice(0, 8)));
      cursor = /cursor="([^"]+)"/.exec(text)?.[1];
      calls++;
    } while (cursor && calls < 50);
    expect(calls).toBeGreaterThan(5);
    expect(seen).toEqual(Array.from({ length: 400 }, (_, i) => `step ${String(i).padStart(3, '0')}`));
  });

  it('answers input mistakes with what to fix', async () => {
    const client = await connect(LOOPBACK_ANONYMOUS);
    expect((await call(client, {})).text).toMatch(/get_logs: pass traceId \(optionally with spanId\) or correlationId/);
    expect((await call(client, { traceId: TRACE, correlationId: 'x' })).text).toMatch(/one of the two/);
    expect((await call(client, { correlationId: 'x', spanId: SPAN })).text).toMatch(/spanId needs the traceId/);
    expect((await call(client, { traceId: 'nothex' })).text).toMatch(/trace ID: expected 32 hex digits/);
    expect((await call(client, { traceId: TRACE, severity: 'loud' })).text).toMatch(/severity: expected trace, debug/);
    const first = await call(client, { traceId: MANY });
    const cursor = /cursor="([^"]+)"/.exec(first.text)![1]!;
    expect((await call(client, { traceId: TRACE, cursor })).text).toMatch(/cursor: it continues another request/);
    expect((await call(client, { traceId: TRACE, cursor: 'garbage' })).isError).toBe(true);
  });

  it("hides another service's records from a restricted token", async () => {
    const client = await connect({ ...LOOPBACK_ANONYMOUS, id: 'token:cart', kind: 'token', rules: { services: ['cart'] } });
    const { text } = await call(client, { traceId: TRACE });
    expect(bodyColumn(text)).toEqual(['cart loaded ⏎ with 2 items']);
    expect((await call(client, { correlationId: 'ticket-7' })).text).toMatch(/# none: no records/);
  });
});
