/**
 * Alert rules on ANOMALIES and on the DROP LEDGER end to end, on the real collector (API off
 * loopback, so every read needs a token), with a webhook receiver on loopback:
 * - `checkout-latency` (anomaly, 1m windows): twelve backdated minutes of steady shop
 *   `GET /checkout` (RED counts a span in the minute it started), then a slow burst in the
 *   current minute → one `firing` with its evidence; then thousands of fast requests in that
 *   minute bring its p99 back down (or the minute ends) → one `resolved`;
 * - `filtered-spans` (drops, 1m window): spans a filter rule drops → one `firing` to both its
 *   webhooks (one of them refuses connections: failed after its retries); resolved once the
 *   window holds no drops;
 * - `traffic` (RED, request rate ≥ 0 over 60m, no webhook): fires for every series and keeps
 *   firing, so "firing now" has a known answer on every face.
 * Then the faces: `GET /api/alerts` and `/api/alerts/firing` (read rules: a token limited to one
 * service sees only its alerts; environment-limited tokens get 403), `/metrics` (transitions,
 * deliveries ok/failed/retried, evaluation rounds), the MCP `alerts` tool over Streamable HTTP
 * and stdio, and `flowtrace alerts`.
 * No timing assertions: every wait is a bounded poll on a condition. A minute that ends between
 * sending and evaluating (the window moves on) is handled by sending again in the next minute.
 *
 * Build first: `npx tsc -p tsconfig.build.json`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, FLOWTRACE_BIN, newTempDir, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import type { OtlpSpan } from './helpers/otlp-json.js';
import { postTraces } from './helpers/otlp-send.js';

const exec = promisify(execFile);
const MS = 1_000_000n;
const MINUTE = 60_000;
const SERVER = 2;
const PER_MINUTE = 30;
const BASELINE_MINUTES = 12;
const SLOW = 30;

interface Payload {
  text: string;
  flowtrace: {
    rule: string;
    kind: string;
    state: string;
    service: string;
    operation: string;
    series: string;
    value: number;
    threshold: number;
    summary: string;
    details: Record<string, unknown>;
    firingSince: string;
    at: string;
  };
}
interface AlertRow {
  at: string;
  rule: string;
  kind: string;
  state: string;
  series: string;
  service: string;
  operation: string;
  value: number;
  threshold: number;
  firingSince: string;
  summary: string;
  details: Record<string, unknown>;
}

const received: Payload[] = [];
let hookServer: Server;
let c: RunningCollector;
let admin: string;
let shopOnly: string;
let billingOnly: string;
let prodOnly: string;
/** The collector's config and arguments, to restart it on the same store. */
let config = '';
let startArgs: string[] = [];
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const hooks = (rule: string, state: string) => received.filter((h) => h.flowtrace.rule === rule && h.flowtrace.state === state);

function span(name: string, startMs: number, durationMs: number, traceId = randomBytes(16).toString('hex')): OtlpSpan {
  const start = BigInt(startMs) * MS;
  return { traceId, spanId: randomBytes(8).toString('hex'), parentSpanId: '', name, kind: SERVER, startTimeUnixNano: String(start), endTimeUnixNano: String(start + BigInt(durationMs) * MS) };
}

async function send(service: string, spans: OtlpSpan[]): Promise<void> {
  const body = { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeSpans: [{ scope: { name: 'alerts-sources-e2e' }, spans }] }] };
  expect(await postTraces(c.httpEndpoint, JSON.stringify(body), 'application/json')).toMatchObject({ status: 200, rejected: 0 });
}

/**
 * Sends (via `sendNow`, given the current minute's start) and waits for `condition`; when the
 * minute ends first, the rule's one-minute window has moved past what was sent, so it sends
 * again in the new minute. Bounded: three minutes at most.
 */
async function inSomeMinute<T>(what: string, sendNow: (minuteMs: number) => Promise<void>, condition: () => T | undefined): Promise<T> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const minuteMs = Math.floor(Date.now() / MINUTE) * MINUTE;
    await sendNow(minuteMs);
    const outcome = await waitFor(async () => condition() ?? (Date.now() > minuteMs + MINUTE + 1_000 ? ('minute over' as const) : undefined), what, 2 * MINUTE);
    if (outcome !== 'minute over') return outcome;
  }
  throw new Error(`${what}: not seen in three attempts`);
}

async function api<T>(path: string, token = admin): Promise<{ status: number; body: T }> {
  const res = await fetch(`${c.apiUrl}${path}`, { headers: bearer(token) });
  return { status: res.status, body: (await res.json()) as T };
}

async function createToken(body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${c.apiUrl}/api/tokens`, { method: 'POST', headers: { ...bearer(admin), 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

beforeAll(async () => {
  hookServer = createServer((req, res) => {
    let data = '';
    req.on('data', (d: Buffer) => (data += d.toString()));
    req.on('end', () => {
      received.push(JSON.parse(data) as Payload);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
  const hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/slack`;
  // A port that refuses connections: bound, then closed.
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const deadPort = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));

  config = `
processors:
  filter:
    exclude:
      - span_name: { prefix: healthcheck }
  stitch:
    decision_wait_ms: 200
red:
  flush_interval_ms: 200
alerts:
  interval_ms: 300
  refire_after_ms: 0
  webhooks:
    chat: { url: "${hookUrl}", timeout_ms: 2000, retries: 1, backoff_ms: 50 }
    dead: { url: "http://127.0.0.1:${deadPort}/hook", timeout_ms: 500, retries: 2, backoff_ms: 10 }
  rules:
    - { name: checkout-latency, kind: anomaly, service: shop, operation: GET /checkout, metric: latency_p99, window_minutes: 1, baseline_windows: 8, threshold: 5, min_requests: 20, webhooks: [chat] }
    - { name: filtered-spans, kind: drops, stage: filter, reason: filtered, threshold: 0, window_minutes: 1, webhooks: [chat, dead] }
    - { name: traffic, kind: red, metric: request_rate, op: ">=", threshold: 0, window_minutes: 60, min_requests: 1 }
`;
  const tokenFile = join(newTempDir('ft-alerts-src-boot-'), 'admin.token');
  startArgs = ['--api', '0.0.0.0:0', '--bootstrap-token-file', tokenFile];
  c = await startCollector({ config, args: startArgs });
  c.apiUrl = c.apiUrl.replace('0.0.0.0', '127.0.0.1');
  admin = readFileSync(tokenFile, 'utf8').trim();
  shopOnly = await createToken({ name: 'shop-only', scopes: ['read'], services: ['shop'] });
  billingOnly = await createToken({ name: 'billing-only', scopes: ['read'], services: ['billing'] });
  prodOnly = await createToken({ name: 'prod-only', scopes: ['read'], environments: ['prod'] });

  // The baseline: twelve past minutes of steady, slightly noisy checkouts (slowest 39 ms ± 1), and some billing traffic.
  const nowMinuteMs = Math.floor(Date.now() / MINUTE) * MINUTE;
  const steady: OtlpSpan[] = [];
  for (let m = BASELINE_MINUTES; m >= 1; m--) {
    for (let i = 0; i < PER_MINUTE; i++) steady.push(span('GET /checkout', nowMinuteMs - m * MINUTE + 1_000 + i * 100, 10 + i + (m % 3) - 1));
  }
  await send('shop', steady);
  await send('billing', [0, 1, 2].map((i) => span('POST /charge', nowMinuteMs - 2 * MINUTE + i * 1_000, 20)));
  // The RED rule sees both services once their minutes are flushed.
  await waitFor(async () => {
    const { body } = await api<{ firing: AlertRow[] }>('/api/alerts/firing?rule=traffic');
    const services = new Set(body.firing.map((a) => a.service));
    return services.has('shop') && services.has('billing') ? true : undefined;
  }, 'the traffic rule firing for shop and billing', 60_000);
}, 150_000);

afterAll(async () => {
  await c?.stop();
  hookServer?.closeAllConnections();
  await new Promise((resolve) => hookServer?.close(resolve));
  await cleanup();
});

describe('alert rules on the drop ledger and anomalies, on the real collector', () => {
  it('a drops rule fires once on spans a filter dropped, to each of its webhooks', async () => {
    const firing = await inSomeMinute(
      'the drops rule firing',
      (minuteMs) => send('shop', Array.from({ length: 10 }, (_, i) => span('healthcheck', Math.max(minuteMs, Date.now() - 500) + i, 1))),
      () => hooks('filtered-spans', 'firing')[0],
    );
    expect(firing.flowtrace).toMatchObject({ rule: 'filtered-spans', kind: 'drops', state: 'firing', service: 'shop', operation: '', threshold: 0, details: { stage: 'filter', reason: 'filtered' } });
    expect(firing.flowtrace.series).toBe(JSON.stringify(['filter', 'filtered', 'shop']));
    expect(firing.flowtrace.value).toBeGreaterThanOrEqual(10);
    expect(firing.text).toMatch(/^:rotating_light: FIRING \[filtered-spans\] shop: \d+ spans dropped at filter \(filtered\) > 0 over the last 1m$/);
  });

  it('an anomaly rule fires once on a latency spike over its baseline, with the evidence, and resolves once the window is normal again', async () => {
    let spikeMinuteMs = 0;
    const firing = await inSomeMinute(
      'the anomaly rule firing',
      async (minuteMs) => {
        spikeMinuteMs = minuteMs;
        // Slow requests (200…229 ms) started between the minute's start and now: in the current window.
        const from = Math.max(minuteMs, Date.now() - 2_000);
        await send('shop', Array.from({ length: SLOW }, (_, i) => span('GET /checkout', from + Math.floor((i * (Date.now() - from)) / SLOW), 200 + i)));
      },
      () => hooks('checkout-latency', 'firing')[0],
    );
    expect(firing.flowtrace).toMatchObject({ rule: 'checkout-latency', kind: 'anomaly', state: 'firing', service: 'shop', operation: 'GET /checkout', threshold: 5 });
    expect(firing.flowtrace.series).toBe(JSON.stringify(['shop', 'GET /checkout', 'Server', 'latency_p99']));
    // p99 of 200…229 ms against a baseline of ~39 ms, each within the histogram's ~9 %.
    expect(firing.flowtrace.value).toBeGreaterThan(229 * 0.9);
    expect(firing.flowtrace.value).toBeLessThan(229 * 1.1);
    const details = firing.flowtrace.details as { metric: string; baselineMedian: number; score: number; exampleTraceIds: string[] };
    expect(details.metric).toBe('latency_p99');
    expect(details.baselineMedian).toBeGreaterThan(38 * 0.9);
    expect(details.baselineMedian).toBeLessThan(40 * 1.1);
    expect(details.score).toBeGreaterThanOrEqual(5);
    expect(Array.isArray(details.exampleTraceIds)).toBe(true);
    expect(firing.text).toMatch(/^:rotating_light: FIRING \[checkout-latency\] shop GET \/checkout: p99 [\d.]+ ms against a baseline median of [\d.]+ \(score [\d.]+ ≥ 5\)$/);

    // 5,000 fast requests in the spike's minute: the 30 slow ones are under 1 %, so its p99 is back to normal.
    for (let part = 0; part < 2; part++) {
      await send('shop', Array.from({ length: 2_500 }, (_, i) => span('GET /checkout', spikeMinuteMs + ((i * 20) % 59_000), 10 + (i % 30))));
    }
    const resolved = await waitFor(async () => hooks('checkout-latency', 'resolved')[0], 'the anomaly rule resolved', 2 * MINUTE);
    // The resolved notice carries the value it fired with and when it started firing.
    expect(resolved.flowtrace).toMatchObject({ rule: 'checkout-latency', state: 'resolved', service: 'shop', operation: 'GET /checkout', firingSince: firing.flowtrace.firingSince });
    expect(resolved.text).toMatch(/^:white_check_mark: RESOLVED \[checkout-latency\] shop GET \/checkout: /);
    expect(hooks('checkout-latency', 'firing')).toHaveLength(1);
  }, 6 * MINUTE);

  it('the drops rule resolves once its window holds no drops, after a single firing', async () => {
    const resolved = await waitFor(async () => hooks('filtered-spans', 'resolved')[0], 'the drops rule resolved', 2 * MINUTE);
    expect(resolved.flowtrace).toMatchObject({ rule: 'filtered-spans', kind: 'drops', service: 'shop', details: { stage: 'filter', reason: 'filtered' } });
    expect(resolved.text).toMatch(/^:white_check_mark: RESOLVED \[filtered-spans\] shop: /);
    expect(hooks('filtered-spans', 'firing')).toHaveLength(1);
    // The stored-only rule never reached a webhook.
    expect(received.filter((h) => h.flowtrace.rule === 'traffic')).toEqual([]);
  }, 3 * MINUTE);
});

describe('the alert history and what fires now', () => {
  it('/api/alerts lists each transition newest first; /api/alerts/firing what fires now', async () => {
    const history = await api<{ alerts: AlertRow[] }>('/api/alerts?since=1h&limit=1000');
    expect(history.status).toBe(200);
    const of = (rule: string) => history.body.alerts.filter((a) => a.rule === rule).map((a) => a.state);
    expect(of('checkout-latency')).toEqual(['resolved', 'firing']);
    expect(of('filtered-spans')).toEqual(['resolved', 'firing']);
    const ats = history.body.alerts.map((a) => a.at);
    expect(ats).toEqual([...ats].sort().reverse());
    const anomaly = history.body.alerts.find((a) => a.rule === 'checkout-latency' && a.state === 'firing')!;
    expect(anomaly).toMatchObject({ kind: 'anomaly', service: 'shop', operation: 'GET /checkout', threshold: 5, details: { metric: 'latency_p99' } });
    expect(anomaly.at).toBe(anomaly.firingSince);

    const firing = await api<{ firing: AlertRow[] }>('/api/alerts/firing');
    expect(firing.status).toBe(200);
    // Only the traffic rule still fires: one series per service × operation × kind.
    expect(firing.body.firing.map((a) => [a.rule, a.state, a.service, a.operation]).sort()).toEqual([
      ['traffic', 'firing', 'billing', 'POST /charge'],
      ['traffic', 'firing', 'shop', 'GET /checkout'],
    ]);
    expect((await api<{ firing: AlertRow[] }>('/api/alerts/firing?service=billing')).body.firing.map((a) => a.service)).toEqual(['billing']);
    expect((await api<{ firing: AlertRow[] }>('/api/alerts/firing?rule=checkout-latency')).body.firing).toEqual([]);
    expect((await api<{ alerts: AlertRow[] }>('/api/alerts?since=1h&rule=filtered-spans&state=resolved')).body.alerts.map((a) => [a.rule, a.state])).toEqual([['filtered-spans', 'resolved']]);
  });

  it('a token limited to one service sees only alerts about it; an environment-limited one is refused', async () => {
    const mine = await api<{ alerts: AlertRow[] }>('/api/alerts?since=1h&limit=1000', shopOnly);
    expect(mine.status).toBe(200);
    expect(new Set(mine.body.alerts.map((a) => a.service))).toEqual(new Set(['shop']));
    expect(new Set(mine.body.alerts.map((a) => a.rule))).toEqual(new Set(['checkout-latency', 'filtered-spans', 'traffic']));
    const theirs = await api<{ alerts: AlertRow[] }>('/api/alerts?since=1h&limit=1000', billingOnly);
    expect(theirs.body.alerts.map((a) => [a.rule, a.service, a.operation])).toEqual([['traffic', 'billing', 'POST /charge']]);
    // Asking for the other service by name does not widen the read rules.
    expect((await api<{ alerts: AlertRow[] }>('/api/alerts?since=1h&service=shop', billingOnly)).body.alerts).toEqual([]);
    expect((await api<{ firing: AlertRow[] }>('/api/alerts/firing?service=shop', billingOnly)).body.firing).toEqual([]);
    expect((await api<{ firing: AlertRow[] }>('/api/alerts/firing', billingOnly)).body.firing.map((a) => a.service)).toEqual(['billing']);
    for (const path of ['/api/alerts', '/api/alerts/firing']) {
      const refused = await api<{ error: string }>(path, prodOnly);
      expect(refused.status, path).toBe(403);
      expect(refused.body.error).toMatch(/not kept per environment/);
      expect((await fetch(`${c.apiUrl}${path}`)).status, path).toBe(401);
    }
    const bad = await api<{ error: string }>('/api/alerts/firing?limit=0');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/^limit: /);
  });

  it('documents both routes in the OpenAPI document: parameters, the record shape, refusals as {error}', async () => {
    type Op = { parameters?: Array<{ in: string; name: string; schema?: unknown }>; responses: Record<string, { content?: Record<string, { schema?: { properties?: Record<string, { type?: string; items?: { required?: string[] } }> } }> }> };
    const { status, body } = await api<{ paths: Record<string, { get: Op }> }>('/api/openapi.json');
    expect(status).toBe(200);
    for (const [path, list, params] of [
      ['/api/alerts', 'alerts', ['limit', 'rule', 'service', 'since', 'state']],
      ['/api/alerts/firing', 'firing', ['limit', 'rule', 'service']],
    ] as const) {
      const op = body.paths[path]!.get;
      expect(op.parameters!.filter((p) => p.in === 'query' && p.schema !== undefined).map((p) => p.name).sort(), path).toEqual([...params]);
      const ok = op.responses['200']!.content!['application/json']!.schema!.properties![list]!;
      expect(ok.type, path).toBe('array');
      expect(ok.items!.required, path).toEqual(['at', 'rule', 'kind', 'state', 'series', 'service', 'operation', 'value', 'threshold', 'firingSince', 'summary', 'details']);
      for (const code of ['400', '401', '403']) expect(op.responses[code]!.content!['application/json']!.schema!.properties!.error!.type, `${path} ${code}`).toBe('string');
    }
  });

  it('/metrics counts transitions per rule, webhook deliveries ok, failed and retried, and evaluation rounds', async () => {
    // The dead webhook's delivery ends after its retries: wait for it to be counted.
    const text = await waitFor(async () => {
      const res = await fetch(`${c.apiUrl}/metrics`, { headers: bearer(admin) });
      const body = await res.text();
      return /flowtrace_alerts_webhook_deliveries_total\{webhook="dead",outcome="failed"\} 2\b/.test(body) ? body : undefined;
    }, 'both dead-webhook deliveries counted as failed');
    const value = (line: string) => Number(new RegExp(`^${line.replace(/[{}"+]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('flowtrace_alerts_transitions_total{rule="checkout-latency",state="firing"}')).toBe(1);
    expect(value('flowtrace_alerts_transitions_total{rule="checkout-latency",state="resolved"}')).toBe(1);
    expect(value('flowtrace_alerts_transitions_total{rule="filtered-spans",state="firing"}')).toBe(1);
    expect(value('flowtrace_alerts_transitions_total{rule="filtered-spans",state="resolved"}')).toBe(1);
    expect(value('flowtrace_alerts_transitions_total{rule="traffic",state="firing"}')).toBe(2);
    expect(value('flowtrace_alerts_firing{rule="traffic"}')).toBe(2);
    expect(value('flowtrace_alerts_firing{rule="checkout-latency"}')).toBe(0);
    // chat heard all four transitions; dead refused both, each after its 2 retries.
    expect(value('flowtrace_alerts_webhook_deliveries_total{webhook="chat",outcome="ok"}')).toBe(4);
    expect(value('flowtrace_alerts_webhook_retries_total{webhook="dead"}')).toBe(4);
    expect(text).not.toMatch(/flowtrace_alerts_webhook_retries_total\{webhook="chat"\} [1-9]/);
    expect(text).toMatch(/^flowtrace_alerts_notifications_pending 0$/m);
    expect(text).toMatch(/^# TYPE flowtrace_alerts_notifications_dropped_total counter$/m);
    expect(text).not.toMatch(/flowtrace_alerts_notifications_dropped_total\{/);
    expect(value('flowtrace_alerts_last_evaluation_duration_seconds')).toBeGreaterThan(0);
    expect(value('flowtrace_alerts_last_evaluation_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 3_600);
    expect(text).not.toMatch(/flowtrace_alerts_evaluation_errors_total\{/);
  });
});

async function flowtrace(args: string[], token: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [FLOWTRACE_BIN, ...args], { env: { ...process.env, NO_COLOR: '1', FLOWTRACE_TOKEN: token, FLOWTRACE_API_URL: c.apiUrl } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('flowtrace alerts', () => {
  it('prints what fires now, then the history, filtered by state and by the token\'s read rules', async () => {
    const all = await flowtrace(['alerts', '--since', '1h'], admin);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/^firing since\s+rule\s+kind\s+service\s+operation\s+value\s+threshold\s+summary\n/);
    expect(all.stdout).toMatch(/\n\S+\s+traffic\s+red\s+shop\s+GET \/checkout\s+/);
    expect(all.stdout).toContain('\n2 firing now.\n');
    expect(all.stdout).toMatch(/\n\S+\s+resolved\s+checkout-latency\s+anomaly\s+shop\s+GET \/checkout\s+[\d.]+\s+p99 /);
    expect(all.stdout).toMatch(/\n\S+\s+firing\s+filtered-spans\s+drops\s+shop\s+\(filter filtered\)\s+\d+\s+\d+ spans dropped/);
    expect(all.stdout).toMatch(/\n\d+ transitions since 1h, newest first\.\n$/);

    const firing = await flowtrace(['alerts', '--state', 'firing', '--json'], shopOnly);
    expect(firing.code, firing.stderr).toBe(0);
    const view = JSON.parse(firing.stdout) as { firing: AlertRow[]; alerts?: unknown };
    expect(view.alerts).toBeUndefined();
    expect(view.firing.map((a) => [a.rule, a.service, a.operation])).toEqual([['traffic', 'shop', 'GET /checkout']]);

    const resolved = await flowtrace(['alerts', '--state', 'resolved', '--since', '1h', '--rule', 'checkout-latency'], admin);
    expect(resolved.code, resolved.stderr).toBe(0);
    expect(resolved.stdout).not.toContain('firing now');
    expect(resolved.stdout).toMatch(/\n1 transitions since 1h, newest first\.\n$/);

    const billing = await flowtrace(['alerts', '--since', '1h'], billingOnly);
    expect(billing.stdout).not.toMatch(/shop|checkout|filtered/);

    const refused = await flowtrace(['alerts'], prodOnly);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^flowtrace alerts: 403: alerts are not kept per environment/);
    expect((await flowtrace(['alerts', '--state', 'burning'], admin)).code).toBe(2);
  });
});

type Transport = 'http' | 'stdio';
const clients: Client[] = [];
afterAll(async () => {
  for (const client of clients) await client.close().catch(() => undefined);
});

async function connect(transport: Transport, token: string): Promise<Client> {
  const client = new Client({ name: 'alerts-e2e', version: '1.0.0' });
  const channel =
    transport === 'http'
      ? new StreamableHTTPClientTransport(new URL(`${c.apiUrl}/mcp`), { requestInit: { headers: bearer(token) } })
      : new StdioClientTransport({ command: process.execPath, args: [FLOWTRACE_BIN, 'mcp'], env: { PATH: process.env.PATH ?? '', FLOWTRACE_API_URL: c.apiUrl, FLOWTRACE_TOKEN: token }, stderr: 'pipe' });
  try {
    await client.connect(channel);
  } catch (err) {
    await channel.close();
    throw err;
  }
  clients.push(client);
  return client;
}

/** The tool's text; within its 2,000-token budget. */
async function alertsTool(client: Client, args: Record<string, unknown>): Promise<{ text: string; isError: boolean }> {
  const result = (await client.callTool({ name: 'alerts', arguments: args })) as CallToolResult;
  const text = result.content.map((p) => (p.type === 'text' ? p.text : '')).join('');
  expect(Math.ceil(text.length / 4)).toBeLessThanOrEqual(2000);
  return { text, isError: result.isError === true };
}

describe.each<Transport>(['http', 'stdio'])('the MCP alerts tool over %s', (transport) => {
  it('is listed with its schema, and answers what fires now and the history, compactly', async () => {
    const client = await connect(transport, admin);
    const tool = (await client.listTools()).tools.find((t) => t.name === 'alerts');
    expect(tool?.annotations?.readOnlyHint).toBe(true);
    expect(Object.keys(tool!.inputSchema.properties ?? {}).sort()).toEqual(['cursor', 'rule', 'service', 'since', 'state']);

    const all = await alertsTool(client, { since: '1h' });
    expect(all.isError, all.text).toBe(false);
    const lines = all.text.split('\n');
    expect(lines[0]).toBe('# firing now: 2');
    expect(lines[1]).toBe('rule,kind,service,operation,firing_since,value,threshold,summary,examples');
    expect(lines.slice(2, 4).map((l) => l.split(',').slice(0, 4).join(',')).sort()).toEqual(['traffic,red,billing,POST /charge', 'traffic,red,shop,GET /checkout']);
    expect(lines[4]).toMatch(/^# history \S+ \.\. \S+: \d+ transitions, newest first$/);
    expect(lines[5]).toBe('at,rule,state,service,operation,value,threshold,summary,examples');
    expect(all.text).toMatch(/\n\S+,checkout-latency,firing,shop,GET \/checkout,[\d.]+,5,p99 [^\n]+/);
    expect(all.text).toMatch(/\n\S+,filtered-spans,resolved,shop,,\d+,0,/);
    expect(lines.at(-1)).toMatch(/^# end \(\d+ transitions\)$/);

    const firing = await alertsTool(client, { state: 'firing', service: 'shop' });
    expect(firing.text.split('\n').map((l) => l.split(',').slice(0, 4).join(','))).toEqual(['# firing now: 1; service=shop', 'rule,kind,service,operation', 'traffic,red,shop,GET /checkout']);

    const resolved = await alertsTool(client, { state: 'resolved', since: '1h', rule: 'checkout-latency' });
    expect(resolved.text).not.toContain('# firing now');
    expect(resolved.text).toMatch(/^# history \S+ \.\. \S+, resolved only; rule=checkout-latency: 1 transitions, newest first\nat,rule,/);
    expect(resolved.text).toMatch(/\n\S+,checkout-latency,resolved,shop,GET \/checkout,/);

    const none = await alertsTool(client, { rule: 'no-such-rule' });
    expect(none.text).toBe(`# firing now: 0; rule=no-such-rule\n${none.text.split('\n')[1]}\n# none: widen since (7d is 168h), drop a filter, or check the rule name (exact match)`);
    const badCursor = await alertsTool(client, { cursor: 'not-a-cursor' });
    expect(badCursor).toMatchObject({ isError: true });
    expect(badCursor.text).toMatch(/^alerts: cursor: not a cursor from alerts/);
    const badSince = await alertsTool(client, { since: 'yesterday' });
    expect(badSince.isError).toBe(true);
    expect(badSince.text).toMatch(/^alerts: since: /);
  });

  it('shows a token limited to one service only its alerts, and refuses an environment-limited one', async () => {
    const billing = await alertsTool(await connect(transport, billingOnly), { since: '1h' });
    expect(billing.text).toMatch(/^# firing now: 1\n/);
    expect(billing.text).toContain('traffic,red,billing,POST /charge');
    expect(billing.text).not.toMatch(/shop|checkout|filtered/);
    const refused = await alertsTool(await connect(transport, prodOnly), {});
    expect(refused.isError).toBe(true);
    expect(refused.text).toMatch(/^alerts: alerts are not kept per environment/);
  });
});

describe('a restart without one of the rules', () => {
  it('stores a resolved transition for what that rule had firing, notifies nobody, and keeps the other rules\' state', async () => {
    const hooksBefore = received.length;
    expect(await c.stop()).toBe(0);
    c = await startCollector({ dataDir: c.dataDir, config: config.replace(/^ {4}- \{ name: traffic, .*$/m, ''), args: startArgs });
    c.apiUrl = c.apiUrl.replace('0.0.0.0', '127.0.0.1');
    expect((await api<{ firing: AlertRow[] }>('/api/alerts/firing')).body.firing).toEqual([]);
    const history = await api<{ alerts: AlertRow[] }>('/api/alerts?since=1h&rule=traffic&state=resolved');
    expect(history.body.alerts.map((a) => a.service).sort()).toEqual(['billing', 'shop']);
    for (const a of history.body.alerts) expect(a.summary).toMatch(/^resolved: the rule is no longer evaluated \(last: [\d.]+ requests\/s >= 0 over the last 60m\)$/);
    // Evaluation rounds go on (the rules left have nothing to say): no webhook heard of any of it.
    await waitFor(async () => {
      const res = await fetch(`${c.apiUrl}/metrics`, { headers: bearer(admin) });
      return /^flowtrace_alerts_last_evaluation_timestamp_seconds \d/m.test(await res.text()) ? true : undefined;
    }, 'an evaluation round after the restart');
    expect(received.length).toBe(hooksBefore);
  }, 120_000);
});
