import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClickHouse, TRACE_ID_SUFFIX, type ClickHouseClients } from '../../../../exporters/clickhouse/index.js';
import { LOOPBACK_ANONYMOUS, type Principal } from '../../auth/principal.js';
import { ReadScopeError, ReadScopes } from '../read-scope.js';
import { userSqlConfigSchema } from './config.js';
import { SqlBusyError, SqlRefusedError, UserSql, UserSqlError, type SqlLayers, type UserSqlEngine } from './user-sql.js';

const dataDir = mkdtempSync(join(tmpdir(), 'ft-usersql-'));
let clients: ClickHouseClients;
let scopes: ReadScopes;
const DB = 'usersql';

beforeAll(async () => {
  clients = openClickHouse({ url: '', username: 'default', password: '', database: DB, tracesTable: 'otel_traces', dataDir, retentionDays: 7, concurrency: 1 });
  await clients.writer.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB}` });
  await clients.writer.command({
    query: `CREATE TABLE ${DB}.otel_traces (ServiceName String, SpanName String, ResourceAttributes Map(String, String), TraceId String) ENGINE = MergeTree ORDER BY ServiceName`,
  });
  await clients.writer.command({ query: `CREATE TABLE ${DB}.otel_traces_trace_id_ts (TraceId String) ENGINE = MergeTree ORDER BY TraceId` });
  await clients.writer.command({ query: `CREATE TABLE ${DB}.flowtrace_api_tokens (Secret String) ENGINE = MergeTree ORDER BY Secret` });
  await clients.writer.command({
    query: `INSERT INTO ${DB}.otel_traces VALUES
      ('orders', 'a', map('deployment.environment.name', 'prod'), 't1'),
      ('orders', 'b', map('deployment.environment', 'staging'), 't2'),
      ('billing', 'c', map('deployment.environment.name', 'prod'), 't3')`,
  });
  await clients.writer.command({ query: `INSERT INTO ${DB}.flowtrace_api_tokens VALUES ('s3cret')` });
  // RED minutes and alert history, as their own modules create them (the columns the read rules filter on).
  await clients.writer.command({ query: `CREATE TABLE ${DB}.flowtrace_red (Minute DateTime('UTC'), ServiceName String, Operation String, Requests UInt64) ENGINE = MergeTree ORDER BY ServiceName` });
  await clients.writer.command({ query: `INSERT INTO ${DB}.flowtrace_red VALUES (now(), 'orders', 'GET /o', 7), (now(), 'billing', 'POST /pay', 3), (now(), '__other__', '__other__', 1)` });
  await clients.writer.command({ query: `CREATE TABLE ${DB}.flowtrace_alerts (At DateTime64(3, 'UTC'), Rule String, Service String) ENGINE = MergeTree ORDER BY At` });
  await clients.writer.command({ query: `INSERT INTO ${DB}.flowtrace_alerts VALUES (now(), 'slow-orders', 'orders'), (now(), 'billing-errors', 'billing'), (now(), 'drops', '')` });
  scopes = new ReadScopes(clients.writer, { database: DB, tracesTable: 'otel_traces', traceIdSuffix: TRACE_ID_SUFFIX });
});
afterAll(async () => {
  await clients.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function userSql(overrides: Record<string, number> = {}, layers?: SqlLayers): UserSql {
  return new UserSql({ engine: clients, scopeFor: (p) => scopes.forRules(p.rules), config: userSqlConfigSchema.parse({ max_execution_seconds: 5, ...overrides }), layers });
}

function principal(services: string[], environments: string[] = []): Principal {
  return { ...LOOPBACK_ANONYMOUS, id: 'token:t', kind: 'token', rules: { services, environments } };
}

describe('UserSql', () => {
  it('answers a SELECT over FlowTrace tables with columns, rows and no truncation', async () => {
    const r = await userSql().run('SELECT ServiceName, count() AS n FROM otel_traces GROUP BY ServiceName ORDER BY ServiceName;', LOOPBACK_ANONYMOUS);
    expect(r.columns).toEqual([
      { name: 'ServiceName', type: 'String' },
      { name: 'n', type: 'UInt64' },
    ]);
    expect(r.rows).toEqual([
      { ServiceName: 'billing', n: '1' },
      { ServiceName: 'orders', n: '2' },
    ]);
    expect(r).toMatchObject({ rowCount: 2, truncated: false });
  });

  it('cuts the result at max_rows and flags it', async () => {
    const r = await userSql({ max_rows: 10 }).run('SELECT number FROM numbers(100000)', LOOPBACK_ANONYMOUS);
    expect(r.rowCount).toBe(10);
    expect(r.truncated).toBe(true);
  });

  it('cuts the result at max_result_bytes and flags it', async () => {
    const r = await userSql({ max_result_bytes: 1000 }).run("SELECT repeat('x', 100) FROM numbers(1000)", LOOPBACK_ANONYMOUS);
    expect(r.rowCount).toBeLessThan(10);
    expect(r.truncated).toBe(true);
  });

  it('refuses secret tables, qualified names, table functions and SETTINGS by name', async () => {
    const sql = userSql();
    await expect(sql.run('SELECT * FROM flowtrace_api_tokens', LOOPBACK_ANONYMOUS)).rejects.toThrow('table flowtrace_api_tokens is not allowed');
    await expect(sql.run(`SELECT * FROM ${DB}.otel_traces`, LOOPBACK_ANONYMOUS)).rejects.toThrow(`table ${DB}.otel_traces is not allowed`);
    await expect(sql.run("SELECT * FROM file('/etc/passwd', 'LineAsString')", LOOPBACK_ANONYMOUS)).rejects.toThrow('table function file() is not allowed');
    await expect(sql.run('SELECT 1 SETTINGS max_threads = 64', LOOPBACK_ANONYMOUS)).rejects.toThrow('a SETTINGS clause is not allowed');
    await expect(sql.run('SELECT 1; SELECT 2', LOOPBACK_ANONYMOUS)).rejects.toThrow('only a single statement is allowed');
    await expect(sql.run('KILL QUERY WHERE 1', LOOPBACK_ANONYMOUS)).rejects.toThrow('KILL is not allowed');
    await expect(sql.run('SELECT 1', LOOPBACK_ANONYMOUS)).resolves.toMatchObject({ rowCount: 1 });
  });

  it('finds a CTE that shadows a secret table name, never the secret table', async () => {
    const r = await userSql().run('WITH flowtrace_api_tokens AS (SELECT 1 AS x) SELECT * FROM flowtrace_api_tokens', LOOPBACK_ANONYMOUS);
    expect(r.rows).toEqual([{ x: 1 }]);
    await expect(
      userSql().run('SELECT * FROM (WITH flowtrace_api_tokens AS (SELECT 1) SELECT 1) AS a, flowtrace_api_tokens', LOOPBACK_ANONYMOUS),
    ).rejects.toBeInstanceOf(UserSqlError);
  });

  it('reads only the services and environments of a restricted principal, through subqueries, JOINs and UNIONs', async () => {
    const sql = userSql();
    const orders = principal(['orders']);
    const all = await sql.run('SELECT SpanName FROM otel_traces ORDER BY SpanName', orders);
    expect(all.rows.map((r) => r.SpanName)).toEqual(['a', 'b']);
    const tricky = await sql.run(
      `WITH x AS (SELECT * FROM otel_traces) SELECT count() AS n FROM (SELECT * FROM x UNION ALL SELECT o.* FROM otel_traces AS o JOIN otel_traces AS p USING (TraceId)) WHERE TraceId IN (SELECT TraceId FROM otel_traces)`,
      orders,
    );
    expect(tricky.rows).toEqual([{ n: '4' }]);
    const prod = await sql.run('SELECT SpanName FROM otel_traces ORDER BY SpanName', principal([], ['prod']));
    expect(prod.rows.map((r) => r.SpanName)).toEqual(['a', 'c']);
    const staging = await sql.run('SELECT SpanName FROM otel_traces', principal(['orders'], ['staging']));
    expect(staging.rows.map((r) => r.SpanName)).toEqual(['b']);
  });

  it('refuses tables a restricted principal cannot be filtered on with 403, and other databases', async () => {
    const orders = principal(['orders']);
    const err = await userSql().run('SELECT count() FROM otel_traces_trace_id_ts', orders).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReadScopeError);
    expect((err as ReadScopeError).message).toBe('cannot enforce your read rules on table otel_traces_trace_id_ts');
    await expect(userSql().run(`SELECT count() FROM ${DB}.otel_traces`, orders)).rejects.toBeInstanceOf(SqlRefusedError);
    await expect(userSql().run(`SELECT count() FROM otel_traces WHERE ServiceName IN ${DB}.otel_traces`, orders)).rejects.toBeInstanceOf(SqlRefusedError);
  });

  it('gives a one-service principal only its own RED minutes and alerts, and refuses them to an environment-limited one', async () => {
    const sql = userSql();
    const orders = principal(['orders']);
    const red = await sql.run('SELECT ServiceName, sum(Requests) AS requests FROM flowtrace_red GROUP BY ServiceName ORDER BY ServiceName', orders);
    expect(red.rows).toEqual([{ ServiceName: 'orders', requests: '7' }]);
    const joined = await sql.run(
      'SELECT count() AS n FROM flowtrace_red AS r JOIN (SELECT DISTINCT ServiceName FROM otel_traces) AS t USING (ServiceName) WHERE r.ServiceName IN (SELECT ServiceName FROM flowtrace_red)',
      orders,
    );
    expect(joined.rows).toEqual([{ n: '1' }]);
    expect((await sql.run('SELECT Rule FROM flowtrace_alerts ORDER BY Rule', orders)).rows).toEqual([{ Rule: 'slow-orders' }]);
    // Unrestricted: every row, the overflow bucket and service-less drop alerts included.
    expect((await sql.run('SELECT count() AS n FROM flowtrace_red', LOOPBACK_ANONYMOUS)).rows).toEqual([{ n: '3' }]);
    expect((await sql.run('SELECT count() AS n FROM flowtrace_alerts', LOOPBACK_ANONYMOUS)).rows).toEqual([{ n: '3' }]);
    // Neither table keeps an environment: rules on environments cannot be enforced on them.
    for (const table of ['flowtrace_red', 'flowtrace_alerts']) {
      await expect(sql.run(`SELECT count() FROM ${table}`, principal(['orders'], ['prod']))).rejects.toThrow(`cannot enforce your read rules on table ${table}`);
    }
  });

  it('stops a long query at max_execution_seconds (engine only)', async () => {
    const sql = userSql({ max_execution_seconds: 1 }, { engine: true, statement: false });
    await expect(sql.run('SELECT count() FROM numbers(900000000) WHERE sipHash64(toString(number)) = 1', LOOPBACK_ANONYMOUS)).rejects.toThrow('time limit of 1 s');
  });

  it('answers busy beyond max_concurrent', async () => {
    const sql = userSql({ max_concurrent: 1, max_execution_seconds: 2 });
    const slow = sql.run('SELECT count() FROM numbers(900000000) WHERE sipHash64(toString(number)) = 1', LOOPBACK_ANONYMOUS).catch((e: unknown) => e);
    await expect(sql.run('SELECT 1', LOOPBACK_ANONYMOUS)).rejects.toBeInstanceOf(SqlBusyError);
    expect(await slow).toBeInstanceOf(UserSqlError);
  });

  it("keeps a query's slot until the engine is done with it, not only until the caller stopped waiting", async () => {
    let settle: (() => void) | undefined;
    // The statement check runs for real; the user query stands in for an embedded query whose
    // native call outlives its time limit, and settles only when the test says so.
    const engine: UserSqlEngine = {
      guestExport: (sql, format, options) => clients.guestExport(sql, format, options),
      guestQuery: (sql, options) => {
        if (!options.onSettled) return clients.guestQuery(sql, options);
        const onSettled = options.onSettled;
        return (async function* () {
          settle = onSettled;
          await new Promise((_, reject) => options.signal.addEventListener('abort', () => reject(options.signal.reason), { once: true }));
          yield '';
        })();
      },
    };
    const sql = new UserSql({ engine, scopeFor: (p) => scopes.forRules(p.rules), config: userSqlConfigSchema.parse({ max_execution_seconds: 1, max_concurrent: 1 }) });
    await expect(sql.run('SELECT count() FROM otel_traces', LOOPBACK_ANONYMOUS)).rejects.toThrow(/time limit of 1 s/);
    await expect(sql.run('SELECT count() FROM otel_traces', LOOPBACK_ANONYMOUS)).rejects.toBeInstanceOf(SqlBusyError);
    settle!();
    await expect(sql.run('SELECT count() FROM otel_traces', LOOPBACK_ANONYMOUS)).rejects.toThrow(/time limit of 1 s/);
    settle!();
  });

  it('refuses functions whose cost within one block outruns the time limit', async () => {
    await expect(userSql().run("SELECT editDistance(SpanName, 'x'), levenshteinDistance('a', 'b') FROM otel_traces", LOOPBACK_ANONYMOUS)).rejects.toThrow(
      /function editDistance\(\) is not allowed/,
    );
    await expect(userSql().run("SELECT levenshteinDistance('a', 'b')", LOOPBACK_ANONYMOUS)).rejects.toThrow(/function levenshteinDistance\(\) is not allowed/);
  });
});

describe('engine messages', () => {
  it('name no table of another database, even as a spelling hint', async () => {
    const err = await userSql()
      .run('WITH x AS (SELECT 1) SELECT * FROM flowtrace_api_tokens', LOOPBACK_ANONYMOUS)
      .then(() => undefined, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(UserSqlError);
    expect(err!.message).toMatch(/flowtrace_api_tokens/);
    expect(err!.message).not.toMatch(/Maybe you meant|usersql\./);
  });
});

describe('the statement check', () => {
  it('refuses identifiers and aliases holding a line break (they would print as fake AST lines)', async () => {
    for (const query of ['SELECT * FROM `t\n Function file (children 1)`', 'SELECT 1 AS `a\nb`']) {
      await expect(userSql().run(query, LOOPBACK_ANONYMOUS)).rejects.toThrow(/may not contain line breaks/);
    }
    // A line break inside a string literal is only data.
    expect((await userSql().run("SELECT 'a\\nb' AS s", LOOPBACK_ANONYMOUS)).rows).toEqual([{ s: 'a\nb' }]);
  });
});
