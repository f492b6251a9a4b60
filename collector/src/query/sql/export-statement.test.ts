import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClickHouse, TRACE_ID_SUFFIX, type ClickHouseClients, type GuestExportFormat } from '../../../../exporters/clickhouse/index.js';
import { LOOPBACK_ANONYMOUS, type Principal } from '../../auth/principal.js';
import { ReadScopes } from '../read-scope.js';
import { userSqlConfigSchema } from './config.js';
import { buildExportCountStatement, buildExportStatement, checkWhereText } from './export-statement.js';
import { SqlRefusedError, UserSql } from './user-sql.js';

describe('buildExportStatement', () => {
  it('puts the where text in its own parentheses after the time window, ordered and capped', () => {
    expect(buildExportStatement({ table: 'otel_traces', where: "ServiceName = 'a'", sinceSeconds: 3600, maxRows: 10 })).toBe(
      "SELECT * FROM otel_traces WHERE Timestamp >= now64(9) - toIntervalSecond(3600) AND (\nServiceName = 'a'\n) ORDER BY Timestamp LIMIT 10",
    );
    expect(buildExportStatement({ table: 'otel_traces', where: '  ', maxRows: 5 })).toBe('SELECT * FROM otel_traces ORDER BY Timestamp LIMIT 5');
  });

  it('accepts parentheses and quotes that stay balanced, including quoted parentheses and escapes', () => {
    for (const ok of ["(a = 1) OR (b IN ('x)', 'y'))", "SpanName = 'it\\'s )'", "SpanName = 'a''b)'", '`we)ird` = 1', "arr[1] = 'x'", '"x(" = 2']) {
      expect(() => checkWhereText(ok), ok).not.toThrow();
    }
  });

  it('refuses text that could leave its parentheses or hide text', () => {
    const cases: Array<[string, RegExp]> = [
      ['1) OR (1', /closing parenthesis has no opening one/],
      ['1) UNION ALL SELECT * FROM otel_traces WHERE (1', /closing parenthesis/],
      ['(1', /parenthesis is not closed/],
      ["SpanName = 'x", /quote is not closed/],
      ["SpanName = 'x\\'", /quote is not closed/],
      ['1 -- ) OR 1', /comments are not allowed/],
      ['1 /* ) */', /comments are not allowed/],
      ['1 # )', /comments are not allowed/],
      ['1; DROP TABLE otel_traces', /";" is not allowed/],
    ];
    for (const [where, message] of cases) {
      expect(() => checkWhereText(where), where).toThrow(SqlRefusedError);
      expect(() => checkWhereText(where), where).toThrow(message);
    }
    expect(() => checkWhereText('1 = 1 AND '.repeat(2000))).toThrow(/longer than/);
  });

  it('counts with the same table, window and where, for a progress bar', () => {
    expect(buildExportCountStatement({ table: 'otel_traces', where: "ServiceName = 'a'", sinceSeconds: 60 })).toBe(
      "SELECT count() AS spans FROM otel_traces WHERE Timestamp >= now64(9) - toIntervalSecond(60) AND (\nServiceName = 'a'\n)",
    );
    expect(buildExportCountStatement({ table: 'otel_traces', where: '' })).toBe('SELECT count() AS spans FROM otel_traces');
    expect(() => buildExportCountStatement({ table: 'otel_traces', where: '1) OR (1' })).toThrow(/closing parenthesis/);
  });

  it('refuses a bad since, table or row cap', () => {
    expect(() => buildExportStatement({ table: 'otel_traces', where: '', sinceSeconds: 0, maxRows: 1 })).toThrow(/since/);
    expect(() => buildExportStatement({ table: 'x; DROP', where: '', maxRows: 1 })).toThrow(/table name/);
    expect(() => buildExportStatement({ table: 'otel_traces', where: '', maxRows: 0 })).toThrow(/row cap/);
  });
});

describe('UserSql.export on the embedded engine', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ft-export-'));
  const DB = 'exportsql';
  let clients: ClickHouseClients;
  let scopes: ReadScopes;

  beforeAll(async () => {
    clients = openClickHouse({ url: '', username: 'default', password: '', database: DB, tracesTable: 'otel_traces', dataDir, retentionDays: 7, concurrency: 1 });
    await clients.writer.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB}` });
    await clients.writer.command({
      query: `CREATE TABLE ${DB}.otel_traces (Timestamp DateTime64(9), ServiceName String, SpanName String, ResourceAttributes Map(String, String), Duration UInt64) ENGINE = MergeTree ORDER BY Timestamp`,
    });
    await clients.writer.command({ query: `CREATE TABLE ${DB}.otel_traces_trace_id_ts (TraceId String) ENGINE = MergeTree ORDER BY TraceId` });
    await clients.writer.command({ query: `CREATE TABLE ${DB}.flowtrace_api_tokens (Secret String) ENGINE = MergeTree ORDER BY Secret` });
    await clients.writer.command({ query: `INSERT INTO ${DB}.flowtrace_api_tokens VALUES ('s3cret')` });
    // Two recent spans and one from two days ago.
    await clients.writer.command({
      query: `INSERT INTO ${DB}.otel_traces VALUES
        (now64(9) - INTERVAL 2 MINUTE, 'orders', 'a', map(), 10),
        (now64(9) - INTERVAL 1 MINUTE, 'billing', 'b', map(), 20),
        (now64(9) - INTERVAL 2 DAY, 'orders', 'old', map(), 30)`,
    });
    scopes = new ReadScopes(clients.writer, { database: DB, tracesTable: 'otel_traces', traceIdSuffix: TRACE_ID_SUFFIX });
  });
  afterAll(async () => {
    await clients.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const userSql = (overrides: Record<string, number> = {}) =>
    new UserSql({ engine: clients, scopeFor: (p) => scopes.forRules(p.rules), config: userSqlConfigSchema.parse({ max_execution_seconds: 5, ...overrides }) });
  const onlyOrders: Principal = { ...LOOPBACK_ANONYMOUS, id: 'token:t', kind: 'token', rules: { services: ['orders'] } };

  async function exported(where: string, format: GuestExportFormat = 'JSONEachRow', principal: Principal = LOOPBACK_ANONYMOUS, sinceSeconds?: number, sql = userSql()): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of sql.export({ table: 'otel_traces', where, sinceSeconds, format }, principal)) chunks.push(chunk);
    return Buffer.concat(chunks).toString('utf8');
  }
  const spanNames = (jsonl: string) => jsonl.trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { SpanName: string }).SpanName);

  it('exports the rows the where and since select, oldest first', async () => {
    expect(spanNames(await exported(''))).toEqual(['old', 'a', 'b']);
    expect(spanNames(await exported('', 'JSONEachRow', LOOPBACK_ANONYMOUS, 3600))).toEqual(['a', 'b']);
    expect(spanNames(await exported("ServiceName = 'orders'"))).toEqual(['old', 'a']);
    expect(spanNames(await exported('Duration > 15', 'JSONEachRow', LOOPBACK_ANONYMOUS, 3600))).toEqual(['b']);
  });

  it('uses the caller\'s filtered tables: a token limited to a service exports only that service', async () => {
    expect(spanNames(await exported('', 'JSONEachRow', onlyOrders))).toEqual(['old', 'a']);
    expect(spanNames(await exported("ServiceName = 'billing'", 'JSONEachRow', onlyOrders))).toEqual([]);
  });

  it('caps the rows at api.sql.export_max_rows', async () => {
    expect(spanNames(await exported('', 'JSONEachRow', LOOPBACK_ANONYMOUS, undefined, userSql({ export_max_rows: 2 })))).toEqual(['old', 'a']);
  });

  it('writes CSV with a header and quotes 64-bit integers in JSON', async () => {
    const csv = await exported("SpanName = 'a'", 'CSVWithNames');
    expect(csv.split('\n')[0]).toBe('"Timestamp","ServiceName","SpanName","ResourceAttributes","Duration"');
    expect(csv.trim().split('\n')).toHaveLength(2);
    const json = JSON.parse(await exported("SpanName = 'a'", 'JSON')) as { data: Array<{ Duration: unknown }>; rows: number };
    expect(json.rows).toBe(1);
    expect(json.data[0]!.Duration).toBe('10');
  });

  it('writes Parquet bytes', async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of userSql().export({ table: 'otel_traces', where: '', format: 'Parquet' }, LOOPBACK_ANONYMOUS)) chunks.push(chunk);
    const bytes = Buffer.concat(chunks);
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('PAR1');
    expect(bytes.subarray(-4).toString('latin1')).toBe('PAR1');
  });

  it('runs the where text through the statement gate: other tables, functions and clauses are refused', async () => {
    const refused: Array<[string, RegExp]> = [
      ['SpanName IN (SELECT Secret FROM flowtrace_api_tokens)', /table flowtrace_api_tokens is not allowed/],
      ["SpanName IN (SELECT name FROM system.tables)", /table system\.tables is not allowed/],
      ["SpanName IN (SELECT * FROM url('http://127.0.0.1:1/x', 'CSV', 'a String'))", /table function url\(\) is not allowed/],
      ["SpanName = file('/etc/passwd')", /function file\(\) is not allowed/],
      ['1 SETTINGS readonly = 0', /SETTINGS|Syntax error/i],
      ['1 FORMAT TSV', /FORMAT|Syntax error/i],
      ['1) OR (1', /closing parenthesis/],
      ['1; SELECT 1', /";" is not allowed/],
    ];
    for (const [where, message] of refused) {
      await expect(exported(where), where).rejects.toThrow(message);
    }
  });

  it('refuses heredoc strings ($$…$$), which could carry parentheses past the balance check and reshape the statement', async () => {
    // Balanced to a checker that knows only '…', "…" and `…`: the engine reads $$($$ and $$)$$ as strings, so the
    // UNION would escape the where's parentheses, dropping the since window and the row cap of the first SELECT.
    const reshaping = "$$($$ != '') UNION ALL SELECT * FROM otel_traces WHERE ($$)$$ != ''";
    await expect(exported(reshaping, 'JSONEachRow', LOOPBACK_ANONYMOUS, 3600)).rejects.toThrow(/\$/);
    await expect(exported('SpanName = $tag$a$tag$', 'JSONEachRow', LOOPBACK_ANONYMOUS, 3600)).rejects.toThrow(/\$/);
    // A dollar inside a quoted string stays allowed.
    expect(spanNames(await exported("SpanName != '$$('", 'JSONEachRow', LOOPBACK_ANONYMOUS, 3600))).toEqual(['a', 'b']);
  });

  it('counts what an export will hold: same where, window, read rules and row cap', async () => {
    const sql = userSql();
    expect(await sql.countExport({ table: 'otel_traces', where: '' }, LOOPBACK_ANONYMOUS)).toBe(3);
    expect(await sql.countExport({ table: 'otel_traces', where: '', sinceSeconds: 3600 }, LOOPBACK_ANONYMOUS)).toBe(2);
    expect(await sql.countExport({ table: 'otel_traces', where: "ServiceName = 'billing'" }, onlyOrders)).toBe(0);
    expect(await sql.countExport({ table: 'otel_traces', where: '' }, onlyOrders)).toBe(2);
    expect(await userSql({ export_max_rows: 2 }).countExport({ table: 'otel_traces', where: '' }, LOOPBACK_ANONYMOUS)).toBe(2);
    await expect(sql.countExport({ table: 'otel_traces', where: 'SpanName IN (SELECT Secret FROM flowtrace_api_tokens)' }, LOOPBACK_ANONYMOUS)).rejects.toThrow(/not allowed/);
  });

  it('gives the slot back after a refused or finished export', async () => {
    const sql = userSql({ max_concurrent: 1 });
    await expect(exported('nope(', 'JSONEachRow', LOOPBACK_ANONYMOUS, undefined, sql)).rejects.toThrow();
    expect(spanNames(await exported('', 'JSONEachRow', LOOPBACK_ANONYMOUS, undefined, sql))).toHaveLength(3);
    expect(spanNames(await exported('', 'JSONEachRow', LOOPBACK_ANONYMOUS, undefined, sql))).toHaveLength(3);
  });
});
