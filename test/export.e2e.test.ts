/**
 * `POST /api/export` and `flowtrace export` end to end on the real collector (embedded
 * ClickHouse): spans of two services sent over OTLP/HTTP come back from every format with
 * exactly the stored rows; a token limited to one service exports only that service; a token
 * without the `sql` scope is refused; a refused `where` is a 400 and leaves no file.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { queryAsync } from 'chdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, FLOWTRACE_BIN, newTempDir, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import { postTraces } from './helpers/otlp-send.js';
import { protobufRequest, sdkSpans } from './helpers/spans.js';

const exec = promisify(execFile);
let c: RunningCollector;
let admin: string;
let paymentsSql: string;
let readOnly: string;
let dir: string;
/** SpanNames sent, per service (sdkSpans: root, child-1, …). */
const SENT = { orders: 3, payments: 2 } as const;

async function createToken(body: object): Promise<string> {
  const res = await fetch(`${c.apiUrl}/api/tokens`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

function postExport(body: object, token = admin): Promise<Response> {
  return fetch(`${c.apiUrl}/api/export`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** Runs `flowtrace export` with a token file; never throws on a non-zero exit. */
async function cli(args: string[], token = admin): Promise<{ code: number; stdout: string; stderr: string }> {
  const tokenFile = join(dir, `token-${token.slice(-6)}`);
  writeFileSync(tokenFile, token, { mode: 0o600 });
  try {
    const { stdout, stderr } = await exec(process.execPath, [FLOWTRACE_BIN, 'export', '--api', c.apiUrl, '--token-file', tokenFile, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** `service/span` of each row, sorted. */
const keys = (rows: Array<{ ServiceName: string; SpanName: string }>) => rows.map((r) => `${r.ServiceName}/${r.SpanName}`).sort();
const ALL = ['orders/child-1', 'orders/child-2', 'orders/root', 'payments/child-1', 'payments/root'];

beforeAll(async () => {
  dir = newTempDir('ft-export-');
  const tokenFile = join(dir, 'admin.token');
  c = await startCollector({ args: ['--api', '0.0.0.0:0', '--bootstrap-token-file', tokenFile] });
  c.apiUrl = c.apiUrl.replace('0.0.0.0', '127.0.0.1');
  admin = readFileSync(tokenFile, 'utf8').trim();
  paymentsSql = await createToken({ name: 'payments-sql', scopes: ['read', 'sql'], services: ['payments'] });
  readOnly = await createToken({ name: 'reader', scopes: ['read'] });
  for (const [service, count] of Object.entries(SENT)) {
    const { spans } = await sdkSpans(count, service);
    expect(await postTraces(c.httpEndpoint, protobufRequest(spans), 'application/x-protobuf')).toMatchObject({ status: 200, rejected: 0 });
  }
  await waitFor(async () => {
    const res = await fetch(`${c.apiUrl}/api/sql`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ query: 'SELECT count() AS n FROM otel_traces' }) });
    const body = (await res.json()) as { rows?: Array<{ n: string }> };
    return body.rows?.[0]?.n === String(ALL.length) ? true : undefined;
  }, `all ${ALL.length} spans to be stored`);
}, 120_000);
afterAll(cleanup);

describe('flowtrace export', () => {
  it('jsonl: one object per stored span', async () => {
    const out = join(dir, 'all.jsonl');
    const run = await cli(['--format', 'jsonl', '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('wrote 5 rows');
    const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { ServiceName: string; SpanName: string; TraceId: string });
    expect(keys(rows)).toEqual(ALL);
    expect(rows.every((r) => /^[0-9a-f]{32}$/.test(r.TraceId))).toBe(true);
  });

  it('json: the ClickHouse JSON document with the same rows', async () => {
    const out = join(dir, 'all.json');
    expect((await cli(['--format', 'json', '--out', out, '--since', '1h'])).code).toBe(0);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as { data: Array<{ ServiceName: string; SpanName: string }>; rows: number };
    expect(doc.rows).toBe(5);
    expect(keys(doc.data)).toEqual(ALL);
  });

  it('csv: a header line and the selected rows', async () => {
    const out = join(dir, 'orders.csv');
    const run = await cli(['--format', 'csv', '--out', out, '--where', "ServiceName = 'orders' AND SpanName != 'root'"]);
    expect(run.code, run.stderr).toBe(0);
    const [header, ...lines] = readFileSync(out, 'utf8').trim().split('\n');
    const columns = header!.split(',').map((h) => JSON.parse(h) as string);
    const service = columns.indexOf('ServiceName');
    const span = columns.indexOf('SpanName');
    expect(service).toBeGreaterThanOrEqual(0);
    // The first columns are simple values: split is enough for them, nested maps come later.
    const rows = lines.map((l) => l.split(',')).map((f) => ({ ServiceName: JSON.parse(f[service]!) as string, SpanName: JSON.parse(f[span]!) as string }));
    expect(keys(rows)).toEqual(['orders/child-1', 'orders/child-2']);
  });

  it('parquet: a file ClickHouse reads back with the same rows', async () => {
    const out = join(dir, 'all.parquet');
    expect((await cli(['--format', 'parquet', '--out', out])).code).toBe(0);
    const result = await queryAsync(`SELECT ServiceName, SpanName FROM file('${out}', 'Parquet')`, { format: 'JSONEachRow' });
    const rows = result.text().trim().split('\n').map((l) => JSON.parse(l) as { ServiceName: string; SpanName: string });
    expect(keys(rows)).toEqual(ALL);
  });

  it('a token limited to one service exports only that service, whatever the where says', async () => {
    const out = join(dir, 'payments.jsonl');
    expect((await cli(['--format', 'jsonl', '--out', out, '--where', "ServiceName IN ('orders', 'payments')"], paymentsSql)).code).toBe(0);
    const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { ServiceName: string; SpanName: string });
    expect(keys(rows)).toEqual(['payments/child-1', 'payments/root']);
  });

  it('refuses a token without the sql scope (403) and leaves no file', async () => {
    expect((await postExport({ format: 'jsonl' }, readOnly)).status).toBe(403);
    const out = join(dir, 'denied.jsonl');
    const run = await cli(['--format', 'jsonl', '--out', out], readOnly);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/403/);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a where the SQL gate refuses (400), and bad formats, since and fields', async () => {
    for (const [body, message] of [
      [{ format: 'jsonl', where: 'SpanName IN (SELECT Secret FROM flowtrace_api_tokens)' }, /flowtrace_api_tokens/],
      [{ format: 'jsonl', where: "1) UNION ALL SELECT * FROM otel_traces WHERE (1" }, /parenthesis/],
      [{ format: 'xml' }, /format: expected one of jsonl, json, csv, parquet/],
      [{ format: 'jsonl', since: 'yesterday' }, /since/],
      [{ format: 'jsonl', query: 'SELECT 1' }, /unknown field "query"/],
    ] as const) {
      const res = await postExport(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(message);
    }
    const out = join(dir, 'refused.jsonl');
    const run = await cli(['--format', 'jsonl', '--out', out, '--where', "file('/etc/passwd') != ''"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/function file\(\) is not allowed/);
    expect(existsSync(out)).toBe(false);
  });

  it('streams with the content type of the format', async () => {
    const res = await postExport({ format: 'csv', where: "SpanName = 'root'" });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect((await res.text()).trim().split('\n')).toHaveLength(3);
    expect((await postExport({ format: 'parquet' })).headers.get('content-type')).toBe('application/vnd.apache.parquet');
  });

  it('exits 2 naming a bad format, and refuses to overwrite without --force', async () => {
    const bad = await cli(['--format', 'xml', '--out', join(dir, 'x.xml')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown format 'xml'");
    const out = join(dir, 'existing.jsonl');
    writeFileSync(out, 'keep me');
    const refused = await cli(['--format', 'jsonl', '--out', out]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/exists \(use --force/);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    expect((await cli(['--format', 'jsonl', '--out', out, '--force'])).code).toBe(0);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(5);
  });
});
