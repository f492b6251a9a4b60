// The VS Code extension's logic (src/core/) against a real collector (`bin/flowtrace.js serve`,
// from dist/: build first with `npx tsc -p tsconfig.build.json`), fed by the Node.js agent's
// example services (test/fixtures/node-services, run under the agent as their users run them)
// and by the official OpenTelemetry SDK (a Java-shaped package path, a same-named file
// elsewhere, hostile names). The workspace the "editor" has open is test/fixtures/node-services.
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAgentBuilt } from '../../../agents/node/test/helpers/ensure-built.mjs';
import { cleanup, newTempDir, startCollector, waitFor, type RunningCollector } from '../../../test/helpers/collector.js';
import { postTraces } from '../../../test/helpers/otlp-send.js';
import { agentEnv, startService, stopService, type Service } from '../../../test/helpers/services.js';
import { protobufRequest } from '../../../test/helpers/spans.js';
import { CollectorError, FlowTraceClient, type CodeMethodsAnswer, type MethodStats } from '../src/core/api-client.js';
import { placeLenses } from '../src/core/code-lens.js';
import { requestPathFor, resolveSpanFile, type FileLookup } from '../src/core/path-mapping.js';
import { sourceLocationOf } from '../src/core/source-location.js';
import { waterfallModel } from '../src/core/waterfall.js';
import { isOpenSourceMessage, newNonce, waterfallHtml } from '../src/core/webview-html.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const WORKSPACE = join(ROOT, 'test/fixtures/node-services');
const CHECKOUT_FILE = join(WORKSPACE, 'gateway/lib/checkout.js');
const CHECKOUT_LINES = readFileSync(CHECKOUT_FILE, 'utf8').split('\n');
const lineOf = (text: string) => CHECKOUT_LINES.findIndex((l) => l.includes(text));
const GOOD_CARD = '4111 1111 1111 1111';
const EVIL = '<img src=x onerror=alert(1)></script><script>alert(2)</script>';

let c: RunningCollector;
let admin: string;
let gatewayReader: string;
let ingestOnly: string;
const services: Service[] = [];
let gateway: Service;
let requestTraceId = '';
let evilTraceId = '';

async function createToken(body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${c.apiUrl}/api/tokens`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

async function adminSql<T>(query: string): Promise<T[]> {
  const res = await fetch(`${c.apiUrl}/api/sql`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  const body = (await res.json()) as { rows?: T[]; error?: string };
  if (!res.ok) throw new Error(`SQL failed (${res.status}): ${body.error}`);
  return body.rows!;
}

const client = (token?: string) => new FlowTraceClient({ baseUrl: c.apiUrl, token });

async function checkout(cardNumber: string, requestId: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${gateway.port}/checkout`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': requestId },
    body: JSON.stringify({ customer: 'ada', cardNumber, items: [{ sku: 'apple', qty: 2 }], note: 'door' }),
  });
  await res.arrayBuffer();
  return res.status;
}

/** Spans made by the official SDK: one method span per (service, code.file.path), and a trace with hostile names. */
async function sdkSpans(): Promise<{ spans: ReadableSpan[]; evilTraceId: string }> {
  const all: ReadableSpan[] = [];
  let evil = '';
  for (const [service, filePath, line] of [
    ['shop-java', 'com/acme/shop/CheckoutService.java', 42],
    ['elsewhere', '/srv/other/lib/checkout.js', 9],
    [EVIL, EVIL, 1],
  ] as const) {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': service }), spanProcessors: [new SimpleSpanProcessor(memory)] });
    const tracer = provider.getTracer('vscode-extension-test');
    const root = tracer.startSpan(service === EVIL ? EVIL : 'GET /orders', { kind: SpanKind.SERVER });
    const method = tracer.startSpan(
      service === EVIL ? EVIL : 'CheckoutService.placeOrder',
      { attributes: { 'code.file.path': filePath, 'code.line.number': line, 'code.function.name': service === EVIL ? EVIL : 'placeOrder' } },
      trace.setSpan(context.active(), root),
    );
    method.setStatus({ code: SpanStatusCode.ERROR, message: EVIL });
    method.end();
    root.end();
    if (service === EVIL) evil = root.spanContext().traceId;
    await provider.forceFlush();
    all.push(...memory.getFinishedSpans());
    await provider.shutdown();
  }
  return { spans: all, evilTraceId: evil };
}

/** The file system, as the editor adapter's lookup sees it (fs.stat; a bounded walk for suffix search). */
const nodeLookup = (roots: readonly string[]): FileLookup => ({
  async exists(path) {
    try {
      return statSync(path).isFile();
    } catch {
      return false;
    }
  },
  async findBySuffix(suffix, max) {
    const found: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        if (found.length >= max || name === 'node_modules' || name.startsWith('.')) continue;
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (path.endsWith(`/${suffix}`)) found.push(path);
      }
    };
    for (const root of roots) walk(root);
    return found.slice(0, max);
  },
});

const byFunction = (answer: CodeMethodsAnswer, fn: string): MethodStats[] => answer.methods.filter((m) => m.function === fn);

beforeAll(async () => {
  await ensureAgentBuilt();
  const tokenFile = join(newTempDir('ft-vscode-boot-'), 'admin.token');
  // Listening beyond loopback: every request needs a token, as on a shared collector.
  c = await startCollector({ args: ['--api', '0.0.0.0:0', '--bootstrap-token-file', tokenFile] });
  c.apiUrl = c.apiUrl.replace('0.0.0.0', '127.0.0.1');
  admin = readFileSync(tokenFile, 'utf8').trim();
  gatewayReader = await createToken({ name: 'gateway-reader', scopes: ['read'], services: ['gateway'] });
  ingestOnly = await createToken({ name: 'ingest-only', scopes: ['ingest'] });

  const orders = await startService('orders', process.execPath, ['--import', '@flowtrace/agent-node/register', 'server.js'], join(WORKSPACE, 'orders'), agentEnv('orders', c.grpcEndpoint));
  services.push(orders);
  gateway = await startService('gateway', process.execPath, ['--require', '@flowtrace/agent-node/register', 'server.js'], join(WORKSPACE, 'gateway'), agentEnv('gateway', c.grpcEndpoint, { ORDERS_URL: `http://127.0.0.1:${orders.port}` }));
  services.push(gateway);

  const requestId = `vscode-${randomUUID()}`;
  expect(await checkout(GOOD_CARD, requestId)).toBe(201);
  expect(await checkout(GOOD_CARD, `vscode-${randomUUID()}`)).toBe(201);
  expect(await checkout('12', `vscode-${randomUUID()}`)).toBe(502); // card declined: placeOrder throws

  const sdk = await sdkSpans();
  evilTraceId = sdk.evilTraceId;
  expect(await postTraces(c.httpEndpoint, protobufRequest(sdk.spans), 'application/x-protobuf')).toMatchObject({ status: 200, rejected: 0 });

  await waitFor(async () => {
    const answer = await client(admin).codeMethods({ path: 'gateway/lib/checkout.js' });
    const calls = (fn: string) => byFunction(answer, fn).reduce((n, m) => n + m.calls, 0);
    return calls('CheckoutService.placeOrder') === 3 && calls('CheckoutService.cardLooksValid') === 3 ? answer : undefined;
  }, 'the three requests’ method spans');
  requestTraceId = await waitFor(async () => {
    const rows = await adminSql<{ TraceId: string; n: string }>(
      `SELECT TraceId, count() AS n FROM otel_traces WHERE SpanAttributes['flowtrace.correlation_id'] = '${requestId}' GROUP BY TraceId`,
    );
    return rows.length === 1 && Number(rows[0]!.n) >= 6 ? rows[0]!.TraceId : undefined;
  }, 'the first request’s trace');
  await waitFor(async () => ((await client(admin).skeleton(evilTraceId)).spanCount === 2 ? true : undefined), 'the SDK trace with hostile names');
});

afterAll(async () => {
  await Promise.all(services.map(stopService));
  await cleanup();
});

describe('GET /api/code/methods through the extension’s client', () => {
  it('counts a file’s traced functions asked for by its workspace-relative path, at the lines the agent reported', async () => {
    const path = requestPathFor(CHECKOUT_FILE, [WORKSPACE]);
    expect(path).toBe('gateway/lib/checkout.js');
    const answer = await client(admin).codeMethods({ path, lookback: '1h' });
    const [place] = byFunction(answer, 'CheckoutService.placeOrder');
    const [valid] = byFunction(answer, 'CheckoutService.cardLooksValid');
    expect(place).toMatchObject({ service: 'gateway', namespace: 'CheckoutService', calls: 3, errors: 1, line: lineOf('async placeOrder(') + 1 });
    expect(valid).toMatchObject({ service: 'gateway', calls: 3, errors: 0, line: lineOf('cardLooksValid(cardNumber) {') + 1 });
    expect(place!.filePath).toBe(CHECKOUT_FILE);
    expect(Number(place!.p99Nano)).toBeGreaterThan(0);
    expect(Number(place!.p99Nano)).toBeGreaterThanOrEqual(Number(place!.p50Nano));
    // The slowest call's trace (what clicking the lens opens) holds that call.
    const slowest = waterfallModel(await client(admin).skeleton(place!.slowestTraceId));
    expect(slowest.rows.filter((r) => r.label === 'CheckoutService.placeOrder')).toHaveLength(1);
    // The SDK's /srv/other/lib/checkout.js shares only the file name: not this file.
    expect(answer.methods.map((m) => m.service)).not.toContain('elsewhere');
    // The same by its absolute path.
    const absolute = await client(admin).codeMethods({ path: CHECKOUT_FILE });
    expect(byFunction(absolute, 'CheckoutService.placeOrder')[0]).toMatchObject({ calls: 3, errors: 1 });
  });

  it('matches a package path the agent reported (Java) under a longer workspace path, and an ES module of the other service', async () => {
    const java = await client(admin).codeMethods({ path: 'shop/src/main/java/com/acme/shop/CheckoutService.java' });
    expect(java.methods).toEqual([expect.objectContaining({ service: 'shop-java', function: 'placeOrder', line: 42, calls: 1, errors: 1, filePath: 'com/acme/shop/CheckoutService.java' })]);
    const orders = await client(admin).codeMethods({ path: 'orders/lib/order-service.js' });
    expect(orders.methods.map((m) => [m.service, m.function, m.calls])).toContainEqual(['orders', 'OrderService.create', 2]);
  });

  it('applies the token’s read rules and scope; no error message carries the token', async () => {
    const limited = await client(gatewayReader).codeMethods({ path: 'shop/src/main/java/com/acme/shop/CheckoutService.java' });
    expect(limited.methods).toEqual([]);
    expect(byFunction(await client(gatewayReader).codeMethods({ path: 'gateway/lib/checkout.js' }), 'CheckoutService.placeOrder')[0]).toMatchObject({ calls: 3 });

    const refusal = async (token: string | undefined) => {
      const err = await client(token).codeMethods({ path: 'gateway/lib/checkout.js' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CollectorError);
      return err as CollectorError;
    };
    const forged = `ft_${'A'.repeat(43)}`;
    const none = await refusal(undefined);
    const wrong = await refusal(forged);
    const noRead = await refusal(ingestOnly);
    expect([none.status, wrong.status, noRead.status]).toEqual([401, 401, 403]);
    expect(wrong.message).toMatch(/refused the credentials \(401\)/);
    expect(noRead.message).toMatch(/needs the read scope/);
    for (const e of [wrong, noRead]) {
      expect(e.message).not.toContain(forged);
      expect(e.message).not.toContain(ingestOnly);
      expect(e.message).not.toMatch(/ft_[A-Za-z0-9_-]{20}/);
    }
    // Unreachable: the message names the origin and route, never the token.
    const closed = new FlowTraceClient({ baseUrl: 'http://127.0.0.1:9', token: forged, timeoutMs: 5000 });
    const unreachable = (await closed.status().catch((e: unknown) => e)) as CollectorError;
    expect(unreachable.message).toMatch(/^cannot reach the collector at http:\/\/127\.0\.0\.1:9\/api\/status/);
    expect(unreachable.message).not.toContain(forged);
    // The token never appears in the collector's own log either.
    expect(c.logs.join('\n')).not.toContain(forged);
    expect(c.logs.join('\n')).not.toContain(gatewayReader);
  });

  it('answers bad input with a 400 naming the parameter', async () => {
    const status = async (query: string) => {
      const res = await fetch(`${c.apiUrl}/api/code/methods?${query}`, { headers: { authorization: `Bearer ${admin}` } });
      return { status: res.status, error: ((await res.json()) as { error: string }).error };
    };
    expect(await status('')).toMatchObject({ status: 400, error: expect.stringMatching(/path/) });
    expect(await status('path=gateway/../../etc/passwd')).toEqual({ status: 400, error: "path: '..' segments are not allowed" });
    expect(await status(`path=${'a/'.repeat(600)}x.js`)).toMatchObject({ status: 400, error: expect.stringMatching(/^path: at most 1024 characters/) });
    expect(await status('path=src/')).toEqual({ status: 400, error: 'path: expected a file, not a folder' });
    expect(await status('path=a.js&lookback=169h')).toEqual({ status: 400, error: 'lookback: the window is at most 7 days (168h) wide' });
    expect(await status('path=a.js&limit=5000')).toMatchObject({ status: 400, error: expect.stringMatching(/^limit/) });
    expect(await status('path=a.js&path=b.js')).toMatchObject({ status: 400, error: expect.stringMatching(/^path/) });
  });
});

describe('CodeLens on the real source file', () => {
  it('puts "calls · p99 · errors, last hour" on the lines that define the functions, and follows them when the file is edited', async () => {
    const answer = await client(admin).codeMethods({ path: 'gateway/lib/checkout.js' });
    const { lenses, unplaced } = placeLenses(answer.methods, CHECKOUT_LINES, '1h');
    expect(unplaced).toEqual([]);
    expect(lenses.map((l) => [l.line, l.function])).toEqual([
      [lineOf('async placeOrder('), 'CheckoutService.placeOrder'],
      [lineOf('cardLooksValid(cardNumber) {'), 'CheckoutService.cardLooksValid'],
    ]);
    expect(lenses[0]!.text).toMatch(/^3 calls · p99 [\d.]+ (ms|µs|s) · 1 error, last hour$/);
    expect(lenses[1]!.text).toMatch(/^3 calls · p99 [\d.]+ (ms|µs|s), last hour$/);
    expect(lenses[0]!.tooltip).toContain('gateway: 3 calls');
    expect(lenses[0]!.slowestTraceId).toMatch(/^[0-9a-f]{32}$/);
    // Three lines added above: the reported lines no longer define the functions; the lenses move with them.
    const edited = ['// a', '// b', '// c', ...CHECKOUT_LINES];
    expect(placeLenses(answer.methods, edited, '1h').lenses.map((l) => l.line)).toEqual([lineOf('async placeOrder(') + 3, lineOf('cardLooksValid(cardNumber) {') + 3]);
    // A function removed from the file: no lens rather than one on the wrong line.
    const removed = CHECKOUT_LINES.filter((l) => !l.includes('cardLooksValid'));
    expect(placeLenses(answer.methods, removed, '1h').unplaced).toEqual(['CheckoutService.cardLooksValid']);
  });
});

describe('the trace waterfall and the jump to source', () => {
  it('draws the request’s trace with the dashboard’s model and opens a method span’s file at its line', async () => {
    const api = client(admin);
    const model = waterfallModel(await api.skeleton(requestTraceId));
    expect(model.traceId).toBe(requestTraceId);
    expect(new Set(model.services)).toEqual(new Set(['gateway', 'orders']));
    const place = model.rows.find((r) => r.label === 'CheckoutService.placeOrder')!;
    const server = model.rows.find((r) => r.kind === 'span' && r.spanKind === 'Server' && r.service === 'gateway')!;
    expect(place).toMatchObject({ kind: 'span', method: true, error: false });
    expect(place.depth).toBeGreaterThan(server.depth);
    expect(place.leftPct).toBeGreaterThanOrEqual(0);
    expect(place.leftPct + place.widthPct).toBeLessThanOrEqual(100);
    expect(model.rows.length).toBe(model.spanCount);
    expect(model.omittedRows).toBe(0);

    const nonce = newNonce();
    const html = waterfallHtml(model, { nonce });
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; style-src &#39;nonce-${nonce}&#39;; script-src &#39;nonce-${nonce}&#39;`);
    expect(html.match(/<script\b/g)).toHaveLength(1);
    expect(html).toContain(`<script nonce="${nonce}">`);
    expect(html).not.toMatch(/\bstyle="/);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toContain(`data-span="${place.spanId}"`);

    // The page posts the span; only a span it shows is accepted.
    const shown = new Set(model.rows.map((r) => r.spanId).filter(Boolean));
    expect(isOpenSourceMessage({ type: 'openSource', spanId: place.spanId }, shown)).toBe(true);
    expect(isOpenSourceMessage({ type: 'openSource', spanId: '0'.repeat(16) }, shown)).toBe(false);
    expect(isOpenSourceMessage({ type: 'openSource', spanId: `${place.spanId}/../x` }, shown)).toBe(false);

    const { span } = await api.span(requestTraceId, place.spanId);
    const location = sourceLocationOf(span.attributes)!;
    expect(location).toEqual({ filePath: CHECKOUT_FILE, line: lineOf('async placeOrder(') + 1, function: 'CheckoutService.placeOrder' });
    expect(await resolveSpanFile(location.filePath, [WORKSPACE], nodeLookup([WORKSPACE]))).toEqual({ kind: 'file', path: CHECKOUT_FILE });
    // Recorded on another machine (a CI runner's checkout): found under the workspace folder.
    const elsewhere = `/home/runner/work/flowtrace/flowtrace/test/fixtures/node-services/gateway/lib/checkout.js`;
    expect(await resolveSpanFile(elsewhere, [ROOT], nodeLookup([ROOT]))).toEqual({ kind: 'file', path: CHECKOUT_FILE });
    expect(await resolveSpanFile(elsewhere, [WORKSPACE], nodeLookup([WORKSPACE]))).toEqual({ kind: 'file', path: CHECKOUT_FILE });
    // A relative path (as Java reports) found by a search under the workspace — only when one file matches.
    expect(await resolveSpanFile('node-services/gateway/lib/checkout.js', [ROOT], nodeLookup([ROOT]))).toEqual({ kind: 'file', path: CHECKOUT_FILE });
    const several = await resolveSpanFile('gateway/lib/checkout.js', [ROOT], nodeLookup([ROOT]));
    expect(several.kind).toBe('ambiguous'); // deploy/demo and the Python fixtures have one too: no guess
  });

  it('escapes hostile span and service names in the page', async () => {
    const model = waterfallModel(await client(admin).skeleton(evilTraceId));
    expect(model.rows.map((r) => r.label)).toEqual([EVIL, EVIL]);
    const html = waterfallHtml(model, { nonce: newNonce() });
    expect(html).not.toContain('<img');
    expect(html).not.toContain('alert(2)</script>');
    expect(html.match(/<script\b/g)).toHaveLength(1);
    expect(html.match(/<\/script>/g)).toHaveLength(1);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;');
  });
});
