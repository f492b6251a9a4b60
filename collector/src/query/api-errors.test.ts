/**
 * What a request that fails inside the collector answers: a 500 that names the request, never the
 * engine's message (which can quote the statement and the caller's values in it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackApiAuth } from '../auth/api-auth.testing.js';
import { openClickHouse, tableName, TRACE_ID_SUFFIX, type ClickHouseClients } from '../../../exporters/clickhouse/index.js';
import { CollectorMetrics } from '../telemetry.js';
import { createQueryApi } from './api.js';
import { ReadScopes } from './read-scope.js';
import { userSqlConfigSchema } from './sql/config.js';
import { UserSql } from './sql/user-sql.js';
import { TraceStore } from './trace-store.js';

const dataDir = mkdtempSync(join(tmpdir(), 'ft-api-errors-'));
// A database with none of the tables: every read fails in the engine.
const database = 'api_errors_missing';
let clients: ClickHouseClients;

beforeAll(() => {
  clients = openClickHouse({ url: '', username: 'default', password: '', database, tracesTable: 'otel_traces', dataDir, retentionDays: 7, concurrency: 1 });
});
afterAll(async () => {
  await clients.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function api() {
  const c = { database, tracesTable: 'otel_traces' };
  const readScopes = new ReadScopes(clients.writer, { database, tracesTable: 'otel_traces', traceIdSuffix: TRACE_ID_SUFFIX });
  return createQueryApi(
    { endpoint: '127.0.0.1:0', allowedHosts: [], corsOrigins: [] },
    {
      ...loopbackApiAuth(clients, database),
      store: new TraceStore(clients.reader, { traces: tableName(c), traceIds: tableName(c, TRACE_ID_SUFFIX) }),
      reader: clients.reader,
      database,
      userSql: new UserSql({ engine: clients, scopeFor: () => readScopes.forRules({}), config: userSqlConfigSchema.parse({ max_rows: 100, max_execution_seconds: 5 }) }),
      readScopes,
      metrics: new CollectorMetrics(),
      isReady: () => true,
    },
    pino({ level: 'silent' }),
  );
}

describe('a request that fails in the engine', () => {
  it('answers 500 naming the request, with no engine message or statement text (REST and Jaeger API)', async () => {
    const app = api();
    try {
      for (const url of ['/api/services', '/jaeger/api/services']) {
        const res = await app.inject({ method: 'GET', url });
        expect(res.statusCode, url).toBe(500);
        expect(res.body, url).toMatch(/internal error \(request [^)]+\): the collector's log has the details/);
        expect(res.body, url).not.toMatch(/api_errors_missing|otel_traces|SELECT|Code: \d+|Exception/i);
      }
    } finally {
      await app.close();
    }
  });
});
