/**
 * Authentication and authorisation of the query API and the receivers, against the real
 * collector (child process) and the embedded engine: tokens and scopes on every route class,
 * the bootstrap token, the refusal to start off loopback without credentials, the Host and
 * CORS checks, tokens never stored or logged in clear, the audit log, the CLI, ingest auth.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClickHouse } from '../../exporters/clickhouse/index.js';
import { cleanup, FLOWTRACE_BIN, newTempDir, startCollector, waitFor, type RunningCollector } from '../helpers/collector.js';
import { status } from '@grpc/grpc-js';
import { grpcExport } from '../helpers/grpc.js';
import { protobufRequest, sdkSpans } from '../helpers/spans.js';

afterAll(cleanup);

const run = promisify(execFile);

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request with exactly these headers (fetch would not let a test set Host). */
function http(url: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const bearer = (token: string | undefined): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});

async function createToken(c: RunningCollector, admin: string, body: Record<string, unknown>): Promise<{ id: string; token: string }> {
  const res = await http(`${c.apiUrl}/api/tokens`, { method: 'POST', headers: { ...bearer(admin), 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status, res.body).toBe(201);
  return JSON.parse(res.body) as { id: string; token: string };
}

/** Runs the CLI; resolves to its exit code and output (never throws on a non-zero exit). */
async function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const { FLOWTRACE_TOKEN: _ignored, ...base } = process.env;
  try {
    const { stdout, stderr } = await run(process.execPath, [FLOWTRACE_BIN, ...args], { env: { ...base, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? filesUnder(path) : e.isFile() ? [path] : [];
  });
}

/** Reads tables of a stopped collector's embedded store directly. */
async function readStopped<T>(dataDir: string, query: string): Promise<T[]> {
  const clients = openClickHouse({ url: '', username: 'default', password: '', database: 'default', tracesTable: 'otel_traces', dataDir, retentionDays: 7, concurrency: 1 });
  try {
    return await (await clients.reader.query({ query, format: 'JSONEachRow' })).json<T>();
  } finally {
    await clients.close();
  }
}

describe('off loopback, with a bootstrap token file', () => {
  let c: RunningCollector;
  let tokenFile: string;
  let admin: string;
  const tokens: Record<string, { id: string; token: string }> = {};

  beforeAll(async () => {
    tokenFile = join(newTempDir('ft-boot-'), 'admin.token');
    c = await startCollector({ args: ['--api', '0.0.0.0:0', '--bootstrap-token-file', tokenFile] });
    c.apiUrl = c.apiUrl.replace('0.0.0.0', '127.0.0.1');
    admin = readFileSync(tokenFile, 'utf8').trim();
    tokens.read = await createToken(c, admin, { name: 'reader', scopes: ['read'] });
    tokens.sql = await createToken(c, admin, { name: 'analyst', scopes: ['sql'] });
    tokens.ingest = await createToken(c, admin, { name: 'agent', scopes: ['ingest'] });
    tokens.revoked = await createToken(c, admin, { name: 'old', scopes: ['admin'] });
    tokens.expired = await createToken(c, admin, { name: 'short', scopes: ['admin'], expiresInSeconds: 1 });
    const revoke = await http(`${c.apiUrl}/api/tokens/${tokens.revoked.id}`, { method: 'DELETE', headers: bearer(admin) });
    expect(revoke.status).toBe(200);
    // Expiry is checked at each request: wait (bounded) until the short-lived token is refused.
    await waitFor(async () => ((await http(`${c.apiUrl}/api/services`, { headers: bearer(tokens.expired!.token) })).status === 401 ? true : undefined), 'the 1 s token to expire', 10_000);
  }, 120_000);

  it('created the bootstrap file with mode 0600 holding an ft_ admin token', () => {
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(admin).toMatch(/^ft_[A-Za-z0-9_-]{43}$/);
  });

  /** Route classes and the scope each needs; /healthz and /readyz are public. */
  const routes: Array<{ name: string; method: string; path: string; body?: unknown; scope: string }> = [
    { name: 'metrics', method: 'GET', path: '/metrics', scope: 'read' },
    { name: 'data', method: 'GET', path: '/api/services', scope: 'read' },
    { name: 'trace', method: 'GET', path: `/api/traces/${'a'.repeat(32)}`, scope: 'read' },
    { name: 'sql', method: 'POST', path: '/api/sql', body: { query: 'SELECT 1' }, scope: 'sql' },
    { name: 'assert', method: 'POST', path: '/api/assert', body: { assertions: [{ name: 'a', select: 'service = x', expect: { kind: 'none' } }] }, scope: 'read' },
    { name: 'tokens', method: 'GET', path: '/api/tokens', scope: 'admin' },
    { name: 'revoke', method: 'DELETE', path: '/api/tokens/0000000000000000', scope: 'admin' },
  ];
  const call = (route: (typeof routes)[number], token: string | undefined, extra: Record<string, string> = {}) =>
    http(`${c.apiUrl}${route.path}`, {
      method: route.method,
      headers: { ...bearer(token), ...(route.body ? { 'content-type': 'application/json' } : {}), ...extra },
      body: route.body ? JSON.stringify(route.body) : undefined,
    });

  it('answers health and readiness without credentials', async () => {
    expect((await http(`${c.apiUrl}/healthz`)).status).toBe(200);
    expect((await http(`${c.apiUrl}/readyz`)).status).toBe(200);
  });

  it('refuses missing, invalid, expired and revoked tokens with 401 on every route class', async () => {
    const forged = 'ft_' + 'A'.repeat(43);
    for (const route of routes) {
      for (const [what, token] of [['missing', undefined], ['invalid', forged], ['not a token', 'garbage'], ['expired', tokens.expired!.token], ['revoked', tokens.revoked!.token]] as const) {
        const res = await call(route, token);
        expect(res.status, `${route.name} with ${what} token`).toBe(401);
        expect(res.headers['www-authenticate'], `${route.name} with ${what} token`).toMatch(/^Bearer/);
        if (token) expect(res.body).not.toContain(token);
      }
    }
  });

  it('answers 403 naming the missing scope, and lets each scope reach its routes', async () => {
    const holders: Record<string, string[]> = { read: ['read', 'admin'], sql: ['sql', 'admin'], admin: ['admin'] };
    for (const route of routes) {
      for (const name of ['read', 'sql', 'ingest', 'admin'] as const) {
        const token = name === 'admin' ? admin : tokens[name]!.token;
        const res = await call(route, token);
        if (holders[route.scope]!.includes(name)) {
          expect([200, 404], `${route.name} with ${name}: ${res.body}`).toContain(res.status);
        } else {
          expect(res.status, `${route.name} with ${name}`).toBe(403);
          expect(JSON.parse(res.body).error).toContain(`"${route.scope}"`);
        }
      }
    }
  });

  it('refuses a Host header that is not its own (DNS rebinding), with a message naming api.allowed_hosts', async () => {
    const res = await http(`${c.apiUrl}/api/services`, { headers: { ...bearer(admin), host: 'rebind.attacker.example:8686' } });
    expect(res.status).toBe(421);
    expect(JSON.parse(res.body).error).toContain('api.allowed_hosts');
    expect((await http(`${c.apiUrl}/api/services`, { headers: { ...bearer(admin), host: 'localhost:8686' } })).status).toBe(200);
  });

  it('has CORS off by default: no preflight answer, no CORS headers', async () => {
    const preflight = await http(`${c.apiUrl}/api/services`, { method: 'OPTIONS', headers: { origin: 'http://ui.example', 'access-control-request-method': 'GET' } });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    const res = await http(`${c.apiUrl}/api/services`, { headers: { ...bearer(admin), origin: 'http://ui.example' } });
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('CLI: tokens create / list / revoke and query, with FLOWTRACE_TOKEN or --token-file', async () => {
    const api = ['--api', c.apiUrl];
    const created = await cli(['tokens', 'create', ...api, '--name', 'cli-made', '--scope', 'read,sql', '--service', 'checkout', '--expires', '30d'], { FLOWTRACE_TOKEN: admin });
    expect(created.code, created.stderr).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^ft_/);
    const id = /created token (\w+)/.exec(created.stderr)![1]!;

    const listed = await cli(['tokens', 'list', ...api, '--json'], { FLOWTRACE_TOKEN: admin });
    expect(listed.code).toBe(0);
    const entry = (JSON.parse(listed.stdout) as Array<{ id: string; scopes: string[]; services: string[]; expiresAt: string }>).find((t) => t.id === id)!;
    expect(entry).toMatchObject({ scopes: ['read', 'sql'], services: ['checkout'] });
    expect(listed.stdout).not.toContain(token);

    const queried = await cli(['query', ...api, '--format', 'json', 'SELECT 41 + 1 AS answer'], { FLOWTRACE_TOKEN: token });
    expect(queried.code, queried.stderr).toBe(0);
    expect(queried.stdout).toContain('42');
    const file = join(newTempDir('ft-cli-'), 'token');
    writeFileSync(file, token + '\n', { mode: 0o600 });
    expect((await cli(['query', ...api, '--token-file', file, 'SELECT 1'], {})).code).toBe(0);

    const anonymous = await cli(['query', ...api, 'SELECT 1'], {});
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/401.*FLOWTRACE_TOKEN/);
    const tooWeak = await cli(['tokens', 'list', ...api], { FLOWTRACE_TOKEN: token });
    expect(tooWeak.code).toBe(1);
    expect(tooWeak.stderr).toContain('403');

    const revoked = await cli(['tokens', 'revoke', ...api, id], { FLOWTRACE_TOKEN: admin });
    expect(revoked.code, revoked.stderr).toBe(0);
    const after = await cli(['query', ...api, 'SELECT 1'], { FLOWTRACE_TOKEN: token });
    expect(after.code).toBe(1);
    expect(after.stderr).toContain('revoked');

    expect((await cli(['query', ...api, '--token', token, 'SELECT 1'], {})).code).toBe(2);
  }, 60_000);

  it('writes audit log lines for queries and failures, never with a token', async () => {
    await call(routes[3]!, tokens.sql!.token);
    const lines = await waitFor(async () => {
      const audit = c.logs.join('\n').split('\n').filter((l) => l.includes('"component":"audit"'));
      return audit.some((l) => l.includes('"action":"sql"')) && audit.some((l) => l.includes('"action":"auth.failure"')) ? audit : undefined;
    }, 'audit lines');
    const sqlLine = JSON.parse(lines.find((l) => l.includes('"action":"sql"'))!) as Record<string, unknown>;
    expect(sqlLine).toMatchObject({ principalName: 'analyst', statement: 'SELECT 1', status: 200, method: 'POST', route: '/api/sql' });
    expect(sqlLine.resultBytes).toBeGreaterThan(0);
    expect(typeof sqlLine.durationMs).toBe('number');
  });

  describe('after stopping', () => {
    let allTokens: string[];
    beforeAll(async () => {
      allTokens = [admin, ...Object.values(tokens).map((t) => t.token)];
      expect(await c.stop()).toBe(0);
    }, 60_000);

    it('stored no token in clear: not in any file of the data directory nor in the token table', async () => {
      for (const file of filesUnder(c.dataDir)) {
        const bytes = readFileSync(file);
        for (const token of allTokens) expect(bytes.includes(token.slice(3)), `${token} in ${file}`).toBe(false);
      }
      const rows = await readStopped<Record<string, unknown>>(c.dataDir, 'SELECT * FROM flowtrace_api_tokens');
      expect(rows.length).toBeGreaterThanOrEqual(allTokens.length);
      const text = JSON.stringify(rows);
      for (const token of allTokens) expect(text).not.toContain(token.slice(3));
    });

    it('logged no token', () => {
      const logs = c.logs.join('\n');
      for (const token of allTokens) expect(logs).not.toContain(token.slice(3));
    });

    it('kept audit rows for queries, SQL, token actions and auth failures', async () => {
      const rows = await readStopped<{ Action: string; PrincipalName: string; Statement: string; Status: number; ResultBytes: string | number; ClientAddress: string }>(
        c.dataDir,
        'SELECT Action, PrincipalName, Statement, Status, ResultBytes, ClientAddress FROM flowtrace_audit',
      );
      const actions = new Set(rows.map((r) => r.Action));
      for (const action of ['query', 'sql', 'token.create', 'token.list', 'token.revoke', 'auth.failure', 'host.refused']) expect(actions, action).toContain(action);
      const sqlRow = rows.find((r) => r.Action === 'sql' && r.PrincipalName === 'analyst')!;
      expect(sqlRow).toMatchObject({ Statement: 'SELECT 1', Status: 200, ClientAddress: '127.0.0.1' });
      expect(Number(sqlRow.ResultBytes)).toBeGreaterThan(0);
      const text = JSON.stringify(rows);
      for (const token of allTokens) expect(text).not.toContain(token.slice(3));
    });

    it('registers the same bootstrap token again on restart (idempotent)', async () => {
      const again = await startCollector({ dataDir: c.dataDir, args: ['--api', '0.0.0.0:0', '--bootstrap-token-file', tokenFile] });
      const api = again.apiUrl.replace('0.0.0.0', '127.0.0.1');
      const res = await http(`${api}/api/tokens`, { headers: bearer(admin) });
      expect(res.status).toBe(200);
      const list = (JSON.parse(res.body) as { tokens: Array<{ name: string }> }).tokens;
      expect(list.filter((t) => t.name === 'bootstrap')).toHaveLength(1);
      expect((await http(`${api}/api/services`, { headers: bearer(tokens.revoked!.token) })).status).toBe(401);
      expect(await again.stop()).toBe(0);
    }, 90_000);
  });
});

describe('refusal to start without a way in', () => {
  it('exits 2 when the API is bound off loopback with no token, no bootstrap file and no OIDC issuer, naming both settings', async () => {
    const failure = startCollector({ args: ['--api', '0.0.0.0:0'] });
    await expect(failure).rejects.toThrow(/exited with 2/);
    const message = String(await failure.catch((err: Error) => err.message));
    expect(message).toContain('--bootstrap-token-file');
    expect(message).toContain('auth.bootstrap_token_file');
    expect(message).toContain('auth.oidc.issuer');
  }, 90_000);

  it('exits 2 on loopback too with auth.api.require_credentials: always', async () => {
    await expect(startCollector({ config: 'auth:\n  api:\n    require_credentials: always\n' })).rejects.toThrow(/exited with 2[\s\S]*auth\.oidc\.issuer/);
  }, 90_000);

  it('exits 2 when the bootstrap file does not hold a token', async () => {
    const file = join(newTempDir('ft-boot-'), 'bad.token');
    writeFileSync(file, 'hunter2\n', { mode: 0o600 });
    await expect(startCollector({ args: ['--bootstrap-token-file', file] })).rejects.toThrow(/exited with 2[\s\S]*does not hold a FlowTrace token/);
  }, 90_000);
});

describe('a bootstrap token chosen by the operator', () => {
  it('is registered as admin from an existing file', async () => {
    const file = join(newTempDir('ft-boot-'), 'admin.token');
    const chosen = 'ft_' + Buffer.from('an operator-chosen secret of enough length!').toString('base64url');
    writeFileSync(file, chosen + '\n', { mode: 0o600 });
    const c = await startCollector({ args: ['--api', '0.0.0.0:0', '--bootstrap-token-file', file] });
    const api = c.apiUrl.replace('0.0.0.0', '127.0.0.1');
    expect((await http(`${api}/api/tokens`, { headers: bearer(chosen) })).status).toBe(200);
    expect(readFileSync(file, 'utf8').trim()).toBe(chosen);
    expect(await c.stop()).toBe(0);
  }, 90_000);
});

describe('loopback defaults, CORS configured, ingest auth required', () => {
  let c: RunningCollector;
  let admin: string;
  beforeAll(async () => {
    const tokenFile = join(newTempDir('ft-boot-'), 'admin.token');
    c = await startCollector({
      args: ['--bootstrap-token-file', tokenFile],
      config: 'api:\n  cors:\n    allowed_origins: [http://ui.example]\nauth:\n  ingest:\n    required: true\n',
    });
    admin = readFileSync(tokenFile, 'utf8').trim();
  }, 90_000);

  it('lets requests without credentials in on a loopback-only API, but still refuses a bad token', async () => {
    expect((await http(`${c.apiUrl}/api/services`)).status).toBe(200);
    expect((await http(`${c.apiUrl}/api/services`, { headers: bearer('ft_' + 'B'.repeat(43)) })).status).toBe(401);
  });

  it('answers CORS preflights for allowed origins only, with credentials allowed', async () => {
    const preflight = (origin: string) =>
      http(`${c.apiUrl}/api/sql`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } });
    const ok = await preflight('http://ui.example');
    expect(ok.status).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe('http://ui.example');
    expect(ok.headers['access-control-allow-credentials']).toBe('true');
    expect((await preflight('http://evil.example')).headers['access-control-allow-origin']).toBeUndefined();
    const res = await http(`${c.apiUrl}/api/services`, { headers: { ...bearer(admin), origin: 'http://ui.example' } });
    expect(res.headers['access-control-allow-origin']).toBe('http://ui.example');
  });

  it('gives a page of another origin no anonymous loopback access', async () => {
    const res = await http(`${c.apiUrl}/api/services`, { headers: { origin: 'http://evil.example' } });
    expect(res.status).toBe(401);
  });

  it('OTLP/HTTP: 401 without a token, 403 without the ingest scope, 200 and stored with an ingest token', async () => {
    const ingest = await createToken(c, admin, { name: 'agent', scopes: ['ingest'] });
    const reader = await createToken(c, admin, { name: 'reader', scopes: ['read'] });
    const { traceId, spans } = await sdkSpans(3, 'auth-ingest');
    const body = protobufRequest(spans);
    const post = (token?: string) => http(`${c.httpEndpoint}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', ...bearer(token) }, body });
    const none = await post();
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expect((await post('ft_' + 'C'.repeat(43))).status).toBe(401);
    expect((await post(reader.token)).status).toBe(403);
    expect((await post(ingest.token)).status).toBe(200);
    const stored = await waitFor(async () => {
      const res = await http(`${c.apiUrl}/api/traces/${traceId}`, { headers: bearer(admin) });
      return res.status === 200 ? (JSON.parse(res.body) as { spans: unknown[] }).spans : undefined;
    }, 'the trace sent with the ingest token');
    expect(stored).toHaveLength(3);
    const count = await http(`${c.apiUrl}/api/sql`, {
      method: 'POST',
      headers: { ...bearer(admin), 'content-type': 'application/json' },
      body: JSON.stringify({ query: "SELECT count() AS n FROM otel_traces WHERE ServiceName = 'auth-ingest'" }),
    });
    expect(JSON.parse(count.body).rows[0].n).toBe('3');
  });

  it('OTLP/gRPC: UNAUTHENTICATED without a token, PERMISSION_DENIED without the ingest scope, stored with an ingest token', async () => {
    const ingest = await createToken(c, admin, { name: 'grpc-agent', scopes: ['ingest'] });
    const reader = await createToken(c, admin, { name: 'grpc-reader', scopes: ['read'] });
    const { traceId, spans } = await sdkSpans(4, 'auth-ingest-grpc');
    const body = protobufRequest(spans);
    expect((await grpcExport(c.grpcEndpoint, body)).error?.code).toBe(status.UNAUTHENTICATED);
    expect((await grpcExport(c.grpcEndpoint, body, { authorization: 'Bearer ft_' + 'D'.repeat(43) })).error?.code).toBe(status.UNAUTHENTICATED);
    expect((await grpcExport(c.grpcEndpoint, body, { authorization: `Bearer ${reader.token}` })).error?.code).toBe(status.PERMISSION_DENIED);
    const accepted = await grpcExport(c.grpcEndpoint, body, { authorization: `Bearer ${ingest.token}`, gzip: true });
    expect(accepted.error).toBeUndefined();
    const stored = await waitFor(async () => {
      const res = await http(`${c.apiUrl}/api/traces/${traceId}`, { headers: bearer(admin) });
      return res.status === 200 ? (JSON.parse(res.body) as { spans: unknown[] }).spans : undefined;
    }, 'the trace sent over gRPC with the ingest token');
    expect(stored).toHaveLength(4);
  });

  afterAll(async () => {
    if (c && existsSync(c.dataDir)) await c.stop();
  });
});
