/**
 * `flowtrace export` interrupted and restarted, as a real process against the real collector
 * (embedded engine). A small proxy in front of the collector's API can cut or stall the export
 * stream, so that the same command line is first interrupted, then run again:
 * - the connection closed mid-stream: exit 1, no file named like the export, no partial file;
 * - the CLI killed mid-stream (SIGKILL: nothing runs): only `FILE.partial`, never `FILE`; the
 *   same command again writes the complete file and removes the partial one;
 * - Ctrl-C (SIGINT): exit 130, no file, no partial file.
 * And `POST /api/export {"count": true}` (what the CLI asks for on a terminal, for its progress
 * bar) sends the row count of exactly what it streams, under the caller's read rules.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, FLOWTRACE_BIN, newTempDir, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import type { OtlpRequest, OtlpSpan } from './helpers/otlp-json.js';

let c: RunningCollector;
let admin: string;
let dir: string;
let proxy: Server;
let proxyUrl: string;
const SPANS = 400;
/** What the proxy does to the next export: pass it on, cut the connection or stall after the first bytes. */
let mode: 'pass' | 'cut' | 'stall' = 'pass';
const stalled: ServerResponse[] = [];

function spans(service: string, count: number): OtlpRequest {
  const end = BigInt(Date.now()) * 1_000_000n;
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            scope: { name: 'e2e' },
            spans: Array.from({ length: count }, (_, i): OtlpSpan => ({
              traceId: (service === 'orders' ? 'a1' : 'b2').repeat(16),
              spanId: (i + 1).toString(16).padStart(16, '0'),
              name: `op-${i}`,
              kind: 2,
              startTimeUnixNano: String(end - 1_000_000n - BigInt(i)),
              endTimeUnixNano: String(end),
              attributes: [{ key: 'pad', value: { stringValue: 'x'.repeat(200) } }],
            })),
          },
        ],
      },
    ],
  };
}

/** Forwards POST /api/export to the collector, then passes, cuts or stalls the answer after its first bytes. */
function startProxy(): Promise<string> {
  const target = new URL(c.apiUrl);
  proxy = createServer((req, res) => {
    const upstream = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      const how = mode;
      let sent = 0;
      answer.on('data', (chunk: Buffer) => {
        if (how === 'pass') return void res.write(chunk);
        if (sent > 0) return;
        // The first bytes only, then the cut or the stall.
        res.write(chunk.subarray(0, 1000));
        sent += 1000;
        answer.destroy();
        if (how === 'cut') setTimeout(() => res.socket?.destroy(), 50);
        else stalled.push(res);
      });
      answer.on('end', () => {
        if (how === 'pass') res.end();
      });
    });
    req.pipe(upstream);
  });
  return new Promise((resolve) => proxy.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`)));
}

/** `flowtrace export` as its own process, through the proxy. */
function exportCli(out: string): { child: ChildProcess; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
  const tokenFile = join(dir, 'admin.token');
  const child = spawn(process.execPath, [FLOWTRACE_BIN, 'export', '--api', proxyUrl, '--token-file', tokenFile, '--format', 'jsonl', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, stderr })));
  return { child, done };
}

const lineCount = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean).length;

beforeAll(async () => {
  dir = newTempDir('ft-export-restart-');
  const tokenFile = join(dir, 'admin.token');
  c = await startCollector({ args: ['--api', '0.0.0.0:0', '--bootstrap-token-file', tokenFile] });
  c.apiUrl = c.apiUrl.replace('0.0.0.0', '127.0.0.1');
  admin = readFileSync(tokenFile, 'utf8').trim();
  writeFileSync(tokenFile, admin, { mode: 0o600 });
  for (const [service, count] of [['orders', SPANS - 100], ['payments', 100]] as const) {
    const res = await fetch(`${c.httpEndpoint}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spans(service, count)) });
    expect(res.status).toBe(200);
  }
  await waitFor(async () => {
    const res = await fetch(`${c.apiUrl}/api/sql`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ query: 'SELECT count() AS n FROM otel_traces' }) });
    return ((await res.json()) as { rows?: Array<{ n: string }> }).rows?.[0]?.n === String(SPANS) ? true : undefined;
  }, `all ${SPANS} spans to be stored`);
  proxyUrl = await startProxy();
}, 120_000);
afterAll(async () => {
  for (const res of stalled) res.destroy();
  proxy?.closeAllConnections();
  await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
  await cleanup();
});

describe('flowtrace export, interrupted and restarted', () => {
  it('exits 1 and leaves no file when the connection closes mid-stream; the same command then writes it whole', async () => {
    const out = join(dir, 'cut.jsonl');
    mode = 'cut';
    const cut = await exportCli(out).done;
    expect(cut.code, cut.stderr).toBe(1);
    expect(cut.stderr).toMatch(/export interrupted after .*cut\.jsonl not written — run the same command again/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(false);
    mode = 'pass';
    const again = await exportCli(out).done;
    expect(again.code, again.stderr).toBe(0);
    expect(lineCount(out)).toBe(SPANS);
  }, 60_000);

  it('leaves only FILE.partial when killed mid-stream, and the same command replaces it with the whole file', async () => {
    const out = join(dir, 'killed.jsonl');
    mode = 'stall';
    const run = exportCli(out);
    await waitFor(async () => (existsSync(`${out}.partial`) && statSync(`${out}.partial`).size > 0 ? true : undefined), 'the first bytes on disk', 20_000);
    run.child.kill('SIGKILL');
    expect((await run.done).signal).toBe('SIGKILL');
    expect(existsSync(out)).toBe(false);
    expect(statSync(`${out}.partial`).size).toBeGreaterThan(0);
    mode = 'pass';
    const again = await exportCli(out).done;
    expect(again.code, again.stderr).toBe(0);
    expect(lineCount(out)).toBe(SPANS);
    expect(existsSync(`${out}.partial`)).toBe(false);
  }, 60_000);

  it('removes the partial file and exits 130 on Ctrl-C', async () => {
    const out = join(dir, 'interrupted.jsonl');
    mode = 'stall';
    const run = exportCli(out);
    await waitFor(async () => (existsSync(`${out}.partial`) && statSync(`${out}.partial`).size > 0 ? true : undefined), 'the first bytes on disk', 20_000);
    run.child.kill('SIGINT');
    const result = await run.done;
    expect(result.code, result.stderr).toBe(130);
    expect(result.stderr).toContain('interrupted (SIGINT); ');
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(false);
    mode = 'pass';
  }, 60_000);

  it('sends the row count it was asked for: the rows it streams, under the caller\'s read rules', async () => {
    const created = await fetch(`${c.apiUrl}/api/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'payments-sql', scopes: ['read', 'sql'], services: ['payments'] }),
    });
    const payments = ((await created.json()) as { token: string }).token;
    const post = (token: string, body: object) =>
      fetch(`${c.apiUrl}/api/export`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    for (const [token, where, expected] of [[admin, '', SPANS], [admin, "SpanName = 'op-7'", 2], [payments, '', 100], [payments, "ServiceName = 'orders'", 0]] as const) {
      const res = await post(token, { format: 'jsonl', where, count: true });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-flowtrace-rows')).toBe(String(expected));
      expect((await res.text()).split('\n').filter(Boolean)).toHaveLength(expected);
    }
    const plain = await post(admin, { format: 'jsonl' });
    expect(plain.headers.get('x-flowtrace-rows')).toBeNull();
    await plain.text();
    const bad = await post(admin, { format: 'jsonl', count: 'yes' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe('count: expected true or false');
  }, 60_000);
});
