/**
 * Alerts end to end, on the real collector: an error-rate rule on RED (flushed every 200 ms,
 * evaluated every 300 ms) fires once after failing requests, resolves after successful ones,
 * each delivered to a webhook receiver on loopback with the header secret taken from the
 * environment; `GET /api/alerts` lists both transitions, filters by state, and a token limited
 * to another service sees none of them.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, newTempDir, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import type { OtlpSpan } from './helpers/otlp-json.js';
import { postTraces } from './helpers/otlp-send.js';

interface Hook {
  headers: IncomingHttpHeaders;
  body: { text: string; flowtrace: { rule: string; state: string; service: string; operation: string; value: number; threshold: number } };
}
interface AlertRow {
  rule: string;
  state: string;
  service: string;
  operation: string;
  value: number;
  summary: string;
}

const MS = 1_000_000n;
const received: Hook[] = [];
let hookServer: Server;
let c: RunningCollector;
let admin: string;
let billingOnly: string;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** `n` single-span traces of shop `POST /pay` (server), failing when `error`. */
function request(n: number, error: boolean): string {
  const now = BigInt(Date.now()) * MS;
  const spans: OtlpSpan[] = [];
  for (let i = 0; i < n; i++) {
    spans.push({
      traceId: randomBytes(16).toString('hex'),
      spanId: randomBytes(8).toString('hex'),
      parentSpanId: '',
      name: 'POST /pay',
      kind: 2,
      startTimeUnixNano: String(now - 5n * MS),
      endTimeUnixNano: String(now),
      ...(error ? { status: { code: 2, message: 'declined' } } : {}),
    });
  }
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] }, scopeSpans: [{ spans }] }] });
}

async function alerts(query: string, token = admin): Promise<{ status: number; body: { alerts: AlertRow[]; error?: string } }> {
  const res = await fetch(`${c.apiUrl}/api/alerts${query}`, { headers: bearer(token) });
  return { status: res.status, body: (await res.json()) as { alerts: AlertRow[]; error?: string } };
}

beforeAll(async () => {
  hookServer = createServer((req, res) => {
    let data = '';
    req.on('data', (d: Buffer) => (data += d.toString()));
    req.on('end', () => {
      received.push({ headers: req.headers, body: JSON.parse(data) as Hook['body'] });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
  const hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/slack`;
  const config = `
red:
  flush_interval_ms: 200
alerts:
  interval_ms: 300
  refire_after_ms: 0
  webhooks:
    chat:
      url: ${hookUrl}
      headers:
        authorization: "Bearer \${env:FT_ALERT_HOOK_TOKEN}"
      timeout_ms: 2000
      retries: 1
      backoff_ms: 50
  rules:
    - name: pay-errors
      kind: red
      service: shop
      metric: error_rate
      op: ">"
      threshold: 0.5
      window_minutes: 1
      min_requests: 5
      webhooks: [chat]
`;
  const tokenFile = join(newTempDir('ft-alerts-boot-'), 'admin.token');
  c = await startCollector({ config, args: ['--api', '0.0.0.0:0', '--bootstrap-token-file', tokenFile], env: { FT_ALERT_HOOK_TOKEN: 'hook-secret' } });
  c.apiUrl = c.apiUrl.replace('0.0.0.0', '127.0.0.1');
  admin = readFileSync(tokenFile, 'utf8').trim();
  const res = await fetch(`${c.apiUrl}/api/tokens`, {
    method: 'POST',
    headers: { ...bearer(admin), 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'billing-only', scopes: ['read'], services: ['billing'] }),
  });
  expect(res.status).toBe(201);
  billingOnly = ((await res.json()) as { token: string }).token;
}, 90_000);

afterAll(async () => {
  await c?.stop();
  hookServer?.closeAllConnections();
  await new Promise((resolve) => hookServer?.close(resolve));
  await cleanup();
});

describe('alerts on the real collector', () => {
  it('fires once after failing requests, and resolves after successful ones', async () => {
    expect(await postTraces(c.httpEndpoint, request(20, true), 'application/json')).toMatchObject({ status: 200, rejected: 0 });
    const firing = await waitFor(async () => received.find((h) => h.body.flowtrace.state === 'firing'), 'a firing notification', 30_000);
    expect(firing.headers.authorization).toBe('Bearer hook-secret');
    expect(firing.body.flowtrace).toMatchObject({ rule: 'pay-errors', state: 'firing', service: 'shop', operation: 'POST /pay', value: 1, threshold: 0.5 });
    expect(firing.body.text).toContain('FIRING [pay-errors] shop POST /pay');

    // 20 errors in 220 requests: 0.09, under the threshold.
    expect(await postTraces(c.httpEndpoint, request(200, false), 'application/json')).toMatchObject({ status: 200, rejected: 0 });
    const resolved = await waitFor(async () => received.find((h) => h.body.flowtrace.state === 'resolved'), 'a resolved notification', 30_000);
    expect(resolved.body.flowtrace).toMatchObject({ rule: 'pay-errors', service: 'shop', operation: 'POST /pay' });
    expect(resolved.body.text).toContain('RESOLVED [pay-errors]');
    // Deduplicated: many rounds ran while it fired, one notification each way.
    expect(received.map((h) => h.body.flowtrace.state)).toEqual(['firing', 'resolved']);
  });

  it('lists both transitions in the history, newest first, filtered by state', async () => {
    const all = await waitFor(async () => {
      const r = await alerts('?since=10m');
      return r.body.alerts.length >= 2 ? r : undefined;
    }, 'both transitions in /api/alerts');
    expect(all.status).toBe(200);
    expect(all.body.alerts.map((a) => [a.rule, a.state, a.service, a.operation])).toEqual([
      ['pay-errors', 'resolved', 'shop', 'POST /pay'],
      ['pay-errors', 'firing', 'shop', 'POST /pay'],
    ]);
    expect((await alerts('?state=firing&since=10m')).body.alerts.map((a) => a.state)).toEqual(['firing']);
    expect((await alerts('?state=resolved&since=10m')).body.alerts.map((a) => a.state)).toEqual(['resolved']);
  });

  it('applies read rules and refuses bad parameters', async () => {
    expect(await alerts('?since=10m', billingOnly)).toEqual({ status: 200, body: { alerts: [] } });
    const bad = await alerts('?state=burning');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/state/);
    expect((await fetch(`${c.apiUrl}/api/alerts`)).status).toBe(401);
  });
});
