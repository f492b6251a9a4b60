/**
 * `flowtrace bench` against a real collector: the accepted and stored counts it prints are what
 * the store holds (OTLP/HTTP and OTLP/gRPC), and with an API that needs a token it counts only
 * with one allowed to run SQL, saying why otherwise, never printing a token.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, FLOWTRACE_BIN, newTempDir, sql, startCollector, type RunningCollector } from './helpers/collector.js';

const exec = promisify(execFile);

async function bench(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = { ...process.env, FLOWTRACE_TOKEN: '', FLOWTRACE_INGEST_TOKEN: '', FLOWTRACE_API_URL: '', ...env };
  try {
    const { stdout, stderr } = await exec(process.execPath, [FLOWTRACE_BIN, 'bench', ...args], { env: clean, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const number = (text: string) => Number(text.replace(/,/g, ''));

async function storedOfRun(apiUrl: string, runId: string): Promise<number> {
  const [row] = await sql<{ n: string }>(apiUrl, `SELECT count() AS n FROM otel_traces WHERE ResourceAttributes['flowtrace.bench.run'] = '${runId}'`);
  return Number(row!.n);
}

describe('flowtrace bench on loopback', () => {
  let c: RunningCollector;
  beforeAll(async () => {
    c = await startCollector();
  }, 120_000);
  afterAll(async () => {
    await c?.stop();
    await cleanup();
  });

  it('--spans 5000 over OTLP/HTTP: prints accepted and stored counts equal to what the store holds', async () => {
    const { code, stdout, stderr } = await bench(['--endpoint', c.httpEndpoint, '--api', c.apiUrl, '--spans', '5000', '--spread', '2h', '--services', '3']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const runId = /run ([0-9a-f]{16})/.exec(stdout)![1]!;
    const accepted = number(/accepted\s+([\d,]+) spans/.exec(stdout)![1]!);
    const stored = number(/stored\s+([\d,]+) spans/.exec(stdout)![1]!);
    expect(accepted).toBeGreaterThanOrEqual(5000);
    expect(accepted).toBeLessThan(5000 + 4 * 600); // at most one request per client beyond the target
    expect(stored).toBe(accepted);
    expect(await storedOfRun(c.apiUrl, runId)).toBe(accepted);
    expect(stdout).toMatch(/accepted .* [\d,]+ spans\/s/);
    expect(stdout).toMatch(/stored .* [\d,]+ spans\/s/);
    // Spread over the last 2 h, with the services asked for.
    const [window] = await sql<{ services: string; earliest: string; latest: string }>(
      c.apiUrl,
      `SELECT uniqExact(ServiceName) AS services, toUnixTimestamp(min(Timestamp)) AS earliest, toUnixTimestamp(max(Timestamp)) AS latest
       FROM otel_traces WHERE ResourceAttributes['flowtrace.bench.run'] = '${runId}'`,
    );
    expect(Number(window!.services)).toBe(3);
    const now = Date.now() / 1000;
    expect(Number(window!.earliest)).toBeGreaterThan(now - 2 * 3600 - 120);
    expect(Number(window!.latest) - Number(window!.earliest)).toBeGreaterThan(3600);
  }, 180_000);

  it('over OTLP/gRPC for a time, --json: the same figures as JSON', async () => {
    const grpc = c.grpcEndpoint.replace('http://', 'grpc://');
    const { code, stdout } = await bench(['--endpoint', grpc, '--api', c.apiUrl, '--seconds', '2', '--clients', '2', '--json']);
    expect(code).toBe(0);
    const figures = JSON.parse(stdout) as { runId: string; acceptedSpans: number; stored: { spans: number; complete: boolean } };
    expect(figures.acceptedSpans).toBeGreaterThan(0);
    expect(figures.stored).toMatchObject({ spans: figures.acceptedSpans, complete: true });
    expect(await storedOfRun(c.apiUrl, figures.runId)).toBe(figures.acceptedSpans);
  }, 180_000);
});

describe('flowtrace bench with an API that needs a token', () => {
  let c: RunningCollector;
  let api: string;
  let sqlToken: string;
  let readToken: string;
  beforeAll(async () => {
    const tokenFile = join(newTempDir('ft-bench-boot-'), 'admin.token');
    c = await startCollector({ args: ['--api', '0.0.0.0:0', '--bootstrap-token-file', tokenFile] });
    api = c.apiUrl.replace('0.0.0.0', '127.0.0.1');
    const admin = readFileSync(tokenFile, 'utf8').trim();
    const create = async (name: string, scopes: string[]) => {
      const res = await fetch(`${api}/api/tokens`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ name, scopes }) });
      expect(res.status).toBe(201);
      return ((await res.json()) as { token: string }).token;
    };
    sqlToken = await create('bench-sql', ['sql']);
    readToken = await create('bench-read', ['read']);
  }, 120_000);
  afterAll(async () => {
    await c?.stop();
    await cleanup();
  });

  it('without a token: prints accepted, and why stored was not measured', async () => {
    const { code, stdout } = await bench(['--endpoint', c.httpEndpoint, '--api', api, '--spans', '500', '--clients', '1']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/accepted\s+[\d,]+ spans/);
    expect(stdout).toMatch(/stored\s+not measured: the query API at .* could not count them \(401: .*\); set FLOWTRACE_TOKEN or --token-file to a token that may run SQL/);
  }, 180_000);

  it('with a token that may not run SQL: says so; with one that may, counts, never printing either', async () => {
    const refused = await bench(['--endpoint', c.httpEndpoint, '--api', api, '--spans', '500', '--clients', '1'], { FLOWTRACE_TOKEN: readToken });
    expect(refused.code).toBe(0);
    expect(refused.stdout).toMatch(/stored\s+not measured: the query API .* \(403: /);
    const counted = await bench(['--endpoint', c.httpEndpoint, '--api', api, '--spans', '500', '--clients', '1'], { FLOWTRACE_TOKEN: sqlToken });
    expect(counted.code).toBe(0);
    const accepted = number(/accepted\s+([\d,]+) spans/.exec(counted.stdout)![1]!);
    expect(number(/stored\s+([\d,]+) spans/.exec(counted.stdout)![1]!)).toBe(accepted);
    for (const out of [refused.stdout + refused.stderr, counted.stdout + counted.stderr]) {
      expect(out).not.toContain(sqlToken);
      expect(out).not.toContain(readToken);
    }
  }, 180_000);
});
