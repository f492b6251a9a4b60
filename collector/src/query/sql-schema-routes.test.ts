/**
 * `GET /api/sql/schema` through Fastify's inject, on the embedded engine: the tables and columns
 * an unrestricted caller may name, what a caller with environment rules is refused, and that
 * column names come from the engine's catalogue (a table's own columns, in table order).
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
import { ReadScopes } from './read-scope.js';
import { registerSqlSchemaRoutes, SQL_NOTES, type SqlSchemaAnswer } from './sql-schema-routes.js';

const DB = 'sql_schema_routes';
const dataDir = mkdtempSync(join(tmpdir(), 'ft-sql-schema-'));
const config = { url: '', username: 'default', password: '', database: DB, tracesTable: 'otel_traces', dataDir, retentionDays: 3650, concurrency: 1 };
let clients: ClickHouseClients;
let app: FastifyInstance;

beforeAll(async () => {
  clients = openClickHouse(config);
  await migrate(clients.writer, config);
  const readScopes = new ReadScopes(clients.writer, { database: DB, tracesTable: 'otel_traces', traceIdSuffix: TRACE_ID_SUFFIX });
  app = Fastify();
  // The query API's auth hook resolves the principal; here test headers stand for a token's read rules.
  app.decorateRequest('principal', null as unknown as typeof LOOPBACK_ANONYMOUS);
  app.addHook('onRequest', async (req) => {
    const service = req.headers['x-test-service'];
    const environment = req.headers['x-test-environment'];
    const rules = {
      ...(typeof service === 'string' ? { services: [service] } : {}),
      ...(typeof environment === 'string' ? { environments: [environment] } : {}),
    };
    req.principal = Object.keys(rules).length > 0 ? { ...LOOPBACK_ANONYMOUS, id: 'token:t', kind: 'token', rules } : LOOPBACK_ANONYMOUS;
  });
  registerSqlSchemaRoutes(app, { reader: clients.reader, database: DB, readScopes });
  await app.ready();
}, 120_000);

afterAll(async () => {
  await app?.close();
  await clients?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function schema(headers: Record<string, string> = {}) {
  const res = await app.inject({ method: 'GET', url: '/api/sql/schema', headers });
  return { status: res.statusCode, body: res.json() as SqlSchemaAnswer };
}

describe('GET /api/sql/schema', () => {
  it('lists the span table with its columns in table order, and the notes', async () => {
    const { status, body } = await schema();
    expect(status).toBe(200);
    expect(body.restricted).toBe(false);
    expect(body.refusedTables).toEqual([]);
    expect(body.notes).toEqual(SQL_NOTES);
    const names = body.tables.map((t) => t.name);
    expect(names).toContain('otel_traces');
    expect(names).toEqual([...names].sort());
    const spans = body.tables.find((t) => t.name === 'otel_traces')!;
    const columns = spans.columns.map((c) => c.name);
    expect(columns.slice(0, 3)).toEqual(['Timestamp', 'TraceId', 'SpanId']);
    expect(spans.columns.find((c) => c.name === 'Duration')).toMatchObject({ type: expect.stringMatching(/^U?Int64$/) });
    expect(spans.columns.find((c) => c.name === 'SpanAttributes')?.type).toMatch(/^Map\(/);
    // Every column has the three fields, strings.
    for (const c of spans.columns) expect(Object.keys(c).sort()).toEqual(['comment', 'name', 'type']);
  });

  it('says when the rules restrict the rows, and lists the tables environment rules cannot be enforced on', async () => {
    const byService = await schema({ 'x-test-service': 'orders' });
    expect(byService.status).toBe(200);
    expect(byService.body.restricted).toBe(true);
    // The trace-ID lookup table has no service column: a restricted caller cannot name it.
    expect(byService.body.refusedTables).toContain(`otel_traces${TRACE_ID_SUFFIX}`);
    expect(byService.body.tables.map((t) => t.name)).toContain('otel_traces');
    expect(byService.body.tables.map((t) => t.name)).not.toContain(`otel_traces${TRACE_ID_SUFFIX}`);

    const byEnvironment = await schema({ 'x-test-environment': 'prod' });
    expect(byEnvironment.status).toBe(200);
    expect(byEnvironment.body.restricted).toBe(true);
    // Only the span table carries an environment; the edge tables, say, cannot be filtered by one.
    expect(byEnvironment.body.tables.map((t) => t.name)).toContain('otel_traces');
    expect(byEnvironment.body.refusedTables.length).toBeGreaterThan(byService.body.refusedTables.length);
    for (const refused of byEnvironment.body.refusedTables) expect(byEnvironment.body.tables.map((t) => t.name)).not.toContain(refused);
  });
});
