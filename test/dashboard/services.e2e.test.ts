/**
 * The dashboard's service pages in a real browser (Debian's chromium, headless) against a real
 * collector filled over OTLP: a client span of `checkout` calling a server span of `payments`
 * (the stitch processor writes the edge), a method span under it (the hotspot), failing calls,
 * one slow request, and a latency spike on another operation of `payments` (the anomaly).
 * `/services` shows the edge with its call count, a click on a node opens its RED panel, and
 * `/services/payments` shows its charts, anomaly, hotspots and slowest and failing traces.
 * Screenshots go under test-output/screenshots/services.e2e/.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { cleanup, newTempDir, startCollector, waitFor, type RunningCollector } from '../helpers/collector.js';
import type { OtlpKeyValue, OtlpRequest, OtlpSpan } from '../helpers/otlp-json.js';
import { postTraces } from '../helpers/otlp-send.js';

/** Names of different hues in the flame palette, so that the screenshots tell them apart. */
const WEB = 'checkout';
const API = 'payments';
/** Span data is untrusted: markup in a service name must show as text, never run. */
const XSS_SERVICE = '<img src=x onerror="window.__xss=1">';
const CALLS = 12;
const failing = (i: number) => i % 4 === 0;
const FAILING = Array.from({ length: CALLS }, (_, i) => i).filter(failing).length;
const SLOW = 5;
const METHOD_NAMESPACE = 'com.shop.Charges';
const METHOD_FUNCTION = 'charge';
/** Side tables and RED minutes flushed every 200 ms: the waits below stay short. */
const CONFIG = 'processors:\n  stitch:\n    decision_wait_ms: 200\n    flush:\n      interval_ms: 200\nred:\n  flush_interval_ms: 200\n';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const ms = 1_000_000n;
const kv = (key: string, value: string): OtlpKeyValue => ({ key, value: { stringValue: value } });
const callTraces = Array.from({ length: CALLS }, () => hex(16));
/** The spike: 30 requests a minute for ten minutes ending six minutes ago, the last minute twenty times slower. */
const SPIKE_MINUTE_S = Math.floor(Date.now() / 60_000) * 60 - 6 * 60;
const spikeTraces: string[] = [];

function span(traceId: string, spanId: string, parent: string | undefined, name: string, kind: number, startNs: bigint, durNs: bigint, extra: Partial<OtlpSpan> = {}): OtlpSpan {
  return { traceId, spanId, parentSpanId: parent, name, kind, startTimeUnixNano: startNs.toString(), endTimeUnixNano: (startNs + durNs).toString(), ...extra };
}

/** One request: web GET /checkout → web client POST /charge → api server POST /charge → method → SELECT. */
function call(i: number, nowNs: bigint): { web: OtlpSpan[]; api: OtlpSpan[] } {
  const traceId = callTraces[i]!;
  const start = nowNs - (120_000n + BigInt(i) * 5_000n) * ms;
  const total = BigInt(i === SLOW ? 1500 : 100 + i * 10) * ms;
  const [root, client, server, method, db] = [hex(8), hex(8), hex(8), hex(8), hex(8)];
  const failed = failing(i) ? { status: { code: 2, message: 'card declined' } } : {};
  return {
    web: [span(traceId, root, undefined, 'GET /checkout', 2, start, total), span(traceId, client, root, 'POST /charge', 3, start + 2n * ms, total - 4n * ms)],
    api: [
      span(traceId, server, client, 'POST /charge', 2, start + 3n * ms, total - 6n * ms, failed),
      span(traceId, method, server, 'Charges.charge', 1, start + 4n * ms, total - 8n * ms, { attributes: [kv('code.namespace', METHOD_NAMESPACE), kv('code.function.name', METHOD_FUNCTION)] }),
      span(traceId, db, method, 'SELECT payment', 3, start + 5n * ms, 2n * ms),
    ],
  };
}

function spike(): OtlpSpan[] {
  const spans: OtlpSpan[] = [];
  for (let m = 9; m >= 0; m--) {
    for (let i = 0; i < 30; i++) {
      const traceId = hex(16);
      if (m === 0) spikeTraces.push(traceId);
      const start = (BigInt(SPIKE_MINUTE_S - m * 60) * 1000n + 1000n + BigInt(i) * 100n) * ms;
      spans.push(span(traceId, hex(8), undefined, 'GET /balance', 2, start, BigInt(m === 0 ? 200 + i : 10 + i + (m % 3)) * ms));
    }
  }
  return spans;
}

function request(byService: Record<string, OtlpSpan[]>): string {
  const body: OtlpRequest = {
    resourceSpans: Object.entries(byService).map(([service, spans]) => ({ resource: { attributes: [kv('service.name', service)] }, scopeSpans: [{ scope: { name: 'services-e2e' }, spans }] })),
  };
  return JSON.stringify(body);
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  expect(res.status, url).toBe(200);
  return (await res.json()) as T;
}

interface Edge {
  caller: string;
  callee: string;
  calls: number;
  errors: number;
}

let collector: RunningCollector;
let browser: TestBrowser;
/** The hot method as the hotspots API names it. */
let hotMethod: string;

async function seed(): Promise<void> {
  const nowNs = BigInt(Date.now()) * ms;
  const calls = Array.from({ length: CALLS }, (_, i) => call(i, nowNs));
  const lone = span(hex(16), hex(8), undefined, 'GET /<b>x</b>', 2, nowNs - 60_000n * ms, 5n * ms);
  const body = request({ [WEB]: calls.flatMap((c) => c.web), [API]: [...calls.flatMap((c) => c.api), ...spike()], [XSS_SERVICE]: [lone] });
  expect(await postTraces(collector.httpEndpoint, body, 'application/json')).toMatchObject({ status: 200, rejected: 0 });
  // The edge is written by the stitch processor's own flush, RED by its own: both every 200 ms here.
  await waitFor(
    async () => {
      const graph = await getJson<{ edges: Edge[] }>(`${collector.apiUrl}/api/service-graph?lookback=1h`);
      const edge = graph.edges.find((e) => e.caller === WEB && e.callee === API);
      return edge?.calls === CALLS ? edge : undefined;
    },
    'the service-graph edge',
    60_000,
  );
  await waitFor(
    async () => {
      const { anomalies } = await getJson<{ anomalies: Array<{ operation: string }> }>(`${collector.apiUrl}/api/anomalies?service=${API}&lookback=1h&window=1m`);
      return anomalies.some((a) => a.operation === 'GET /balance') ? true : undefined;
    },
    'the RED minutes of the spike',
    60_000,
  );
  const hotspots = await waitFor(
    async () => {
      const { hotspots: found } = await getJson<{ hotspots: Array<{ method: string }> }>(`${collector.apiUrl}/api/hotspots?service=${API}&lookback=1h`);
      return found.find((h) => h.method.includes(METHOD_FUNCTION) && h.method.includes(METHOD_NAMESPACE));
    },
    'the hot method to be stored',
  );
  hotMethod = hotspots.method;
  await waitFor(async () => {
    const { traces } = await getJson<{ traces: unknown[] }>(`${collector.apiUrl}/api/traces?service=${WEB}&lookback=1h&limit=100`);
    return traces.length === CALLS ? true : undefined;
  }, 'every seeded trace to be searchable');
}

/** Clicks a node of the map on its canvas, where cytoscape drew it. */
async function clickNode(page: Page, service: string): Promise<void> {
  const canvas = page.locator('.service-map-canvas');
  const at = await canvas.evaluate((el, id) => {
    const cy = (el as unknown as { _cyreg: { cy: { getElementById(id: string): { renderedPosition(): { x: number; y: number } } } } })._cyreg.cy;
    return cy.getElementById(id).renderedPosition();
  }, `service:${service}`);
  const box = (await canvas.boundingBox())!;
  await page.mouse.click(box.x + at.x, box.y + at.y);
}

/** The map's edges as cytoscape holds them. */
async function canvasEdges(page: Page): Promise<Array<{ source: string; target: string; calls: number; label: string }>> {
  return page.locator('.service-map-canvas').evaluate((el) => {
    const cy = (el as unknown as { _cyreg: { cy: { edges(): { map<T>(fn: (e: { data(): Record<string, unknown> }) => T): T[] } } } })._cyreg.cy;
    return cy.edges().map((e) => {
      const d = e.data();
      return { source: String(d.source), target: String(d.target), calls: Number(d.calls), label: String(d.label) };
    });
  });
}

const cspViolations = (errors: string[]) => errors.filter((e) => /Content Security Policy/i.test(e));

beforeAll(async () => {
  browser = await launchBrowser(import.meta.filename);
  collector = await startCollector({ config: CONFIG });
  await seed();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await collector?.stop();
  await cleanup();
});

describe('/services: the service map', () => {
  it('shows the seeded edge with its call count, on the canvas and in the table, under the CSP', async () => {
    const { page, errors } = await browser.newPage();
    await page.goto(`${collector.apiUrl}/services`);
    await page.getByRole('heading', { name: 'Service map' }).waitFor();
    await page.locator('.service-map[data-edges="1"]').waitFor();

    const row = page.locator(`table.edge-table tr[data-caller="${WEB}"][data-callee="${API}"]`);
    expect(await row.getAttribute('data-calls')).toBe(String(CALLS));
    expect(await row.locator('td').allInnerTexts()).toEqual([WEB, API, 'POST /charge', String(CALLS), `${FAILING} (25 %)`, expect.stringMatching(/\d (ms|s)$/)]);

    const edges = await canvasEdges(page);
    expect(edges).toEqual([{ source: `service:${WEB}`, target: `service:${API}`, calls: CALLS, label: expect.stringMatching(new RegExp(`^${CALLS} calls · 25 % err\\np99 \\d`)) }]);
    expect(await page.locator('.service-map-canvas canvas').count()).toBeGreaterThan(0);
    // Every service is in the keyboard list, the busiest (api: it also served the spike) first;
    // one with no calls is a node without edges.
    expect(await page.locator('.service-list button').evaluateAll((all) => all.map((b) => b.getAttribute('data-service')))).toEqual([API, WEB, XSS_SERVICE]);
    expect(await page.locator('.service-map').getAttribute('data-nodes')).toBe('3');
    expect(await page.locator('.service-list .service-name').last().innerText()).toBe(XSS_SERVICE);
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    await browser.screenshot(page, 'services-map');
    expect(cspViolations(errors)).toEqual([]);
    // Nothing else went wrong but the session probe's 401 (no session needed on loopback).
    expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
  });

  it('opens the RED panel of a node clicked on the canvas; the back button closes it', async () => {
    const { page, errors } = await browser.newPage();
    await page.goto(`${collector.apiUrl}/services?range=15m`);
    await page.locator('.service-map[data-edges="1"]').waitFor();
    await clickNode(page, API);
    await page.waitForURL((url) => url.searchParams.get('node') === API && url.searchParams.get('range') === '15m');
    const panel = page.getByRole('complementary', { name: `Service ${API}` });
    await panel.waitFor();
    await panel.locator('.time-chart canvas').first().waitFor();
    expect(await panel.locator('.time-chart').evaluateAll((all) => all.map((f) => f.querySelector('figcaption')?.textContent))).toEqual(['Rate', 'Errors', 'Duration']);
    // 15 one-minute steps: the whole range on the grid.
    expect(await panel.locator('.time-chart').first().getAttribute('data-points')).toMatch(/^1[56]$/);
    expect(await panel.locator('.top-operations tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-operation')))).toEqual(['GET /balance', 'POST /charge']);
    expect(await panel.getByRole('button', { name: WEB }).count()).toBe(1);
    expect(await page.locator(`.service-list button[data-service="${API}"]`).getAttribute('aria-pressed')).toBe('true');
    await browser.screenshot(page, 'services-node-panel');

    await page.goBack();
    await page.waitForURL((url) => url.searchParams.get('node') === null);
    await panel.waitFor({ state: 'detached' });
    expect(cspViolations(errors)).toEqual([]);
  });

  it('reaches the nodes by keyboard, and keeps the selection across a range change and a reload', async () => {
    const { page } = await browser.newPage({ colorScheme: 'dark' });
    await page.goto(`${collector.apiUrl}/services`);
    await page.locator('.service-map[data-edges="1"]').waitFor();
    await page.locator(`.service-list button[data-service="${WEB}"]`).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL((url) => url.searchParams.get('node') === WEB);
    await page.getByRole('complementary', { name: `Service ${WEB}` }).waitFor();

    await page.getByLabel('Time range').selectOption('6h');
    await page.waitForURL((url) => url.searchParams.get('range') === '6h' && url.searchParams.get('node') === WEB);
    await page.reload();
    await page.getByRole('complementary', { name: `Service ${WEB}` }).locator('.time-chart canvas').first().waitFor();
    expect(await page.getByLabel('Time range').inputValue()).toBe('6h');
    // The link to the service page keeps the range.
    expect(await page.locator('.open-service').getAttribute('href')).toBe(`/services/${WEB}?range=6h`);
    await browser.screenshot(page, 'services-map-dark');
  });
});

describe('/services/:service', () => {
  it('shows RED per operation with the anomaly marked, hotspots, and the slowest and failing traces', async () => {
    const { page, errors } = await browser.newPage();
    await page.goto(`${collector.apiUrl}/services/${API}`);
    await page.getByRole('heading', { name: API }).waitFor();

    const operations = page.locator('.operation-red');
    await operations.first().waitFor();
    expect(await operations.evaluateAll((all) => all.map((a) => `${a.getAttribute('data-operation')}/${a.getAttribute('data-kind')}`))).toEqual([
      'GET /balance/Server',
      'Charges.charge/Internal',
      'POST /charge/Server',
      'SELECT payment/Client',
    ]);
    // The spike: one latency window marked on the duration chart of GET /balance, none elsewhere.
    const anomaly = page.locator('.anomalies li');
    await anomaly.first().waitFor();
    const balance = page.locator('.operation-red[data-operation="GET /balance"]');
    await balance.locator('.time-chart canvas').first().waitFor();
    expect(await balance.locator('.time-chart').evaluateAll((all) => all.map((f) => f.getAttribute('data-bands')))).toEqual(['0', '0', '1']);
    expect(await page.locator('.operation-red[data-operation="POST /charge"] .time-chart[data-bands="1"]').count()).toBe(0);
    expect(await anomaly.count()).toBe(1);
    expect(await anomaly.innerText()).toMatch(/GET \/balance: p99 \d+(\.\d+)? ms against a usual \d+(\.\d+)? ms/);
    const examples = await anomaly.locator('a.trace-link').evaluateAll((links) => links.map((a) => a.getAttribute('href')!.replace('/traces/', '')));
    expect(examples.length).toBeGreaterThan(0);
    expect(spikeTraces).toEqual(expect.arrayContaining(examples));

    const hotspot = page.locator(`.hotspot-table tr[data-method="${hotMethod}"]`);
    await hotspot.waitFor();
    expect(await hotspot.locator('td').nth(1).innerText()).toBe(String(CALLS));
    expect(await page.getByRole('link', { name: `Open the flame graph of ${API}` }).getAttribute('href')).toBe(`/flame?service=${API}`);

    const slowest = page.locator('.slowest-traces table.results tbody tr');
    await slowest.first().waitFor();
    expect(await slowest.count()).toBe(10);
    expect(await slowest.first().getAttribute('data-trace-id')).toBe(callTraces[SLOW]);
    expect(await slowest.first().locator('td').nth(3).innerText()).toBe('1.5 s');
    const failingRows = page.locator('.failing-traces table.results tbody tr');
    await failingRows.first().waitFor();
    expect((await failingRows.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-trace-id')))).sort()).toEqual(callTraces.filter((_, i) => failing(i)).sort());
    await browser.screenshot(page, 'service-page');
    expect(cspViolations(errors)).toEqual([]);

    // A slow trace opens its waterfall page.
    await slowest.first().locator('a.trace-link').click();
    await page.waitForURL(`**/traces/${callTraces[SLOW]}`);
  });

  it('shows markup in a service or operation name as text, never running it', async () => {
    const { page, errors } = await browser.newPage();
    await page.goto(`${collector.apiUrl}/services/${encodeURIComponent(XSS_SERVICE)}`);
    await page.getByRole('heading', { name: XSS_SERVICE }).waitFor();
    await page.locator('.operation-red[data-operation="GET /<b>x</b>"] h3').waitFor();
    expect(await page.locator('.operation-red h3').first().innerText()).toMatch(/^GET \/<b>x<\/b> Server/);
    expect(await page.locator('main img, main b').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(cspViolations(errors)).toEqual([]);
  });

  it('says when a service has no request in the range, and links back to the map', async () => {
    const { page } = await browser.newPage();
    await page.goto(`${collector.apiUrl}/services/${encodeURIComponent('no such service')}?range=15m`);
    await page.getByText('No request of no such service recorded in the last 15 minutes.').waitFor();
    await page.getByRole('link', { name: '← Service map' }).click();
    await page.waitForURL((url) => url.pathname === '/services' && url.searchParams.get('node') === 'no such service');
    await page.getByText('no such service has no traffic in this range.').waitFor();
    await browser.screenshot(page, 'service-page-empty');
  });
});

describe('empty and refused (credentials required, nothing stored)', () => {
  const adminToken = `ft_${randomBytes(32).toString('base64url')}`;
  let locked: RunningCollector;
  let prodOnly: string;

  beforeAll(async () => {
    const tokenFile = join(newTempDir('ft-dash-services-'), 'admin-token');
    writeFileSync(tokenFile, `${adminToken}\n`, { mode: 0o600 });
    locked = await startCollector({ config: `auth:\n  api: { require_credentials: always }\n  bootstrap_token_file: ${JSON.stringify(tokenFile)}\n` });
    const res = await fetch(`${locked.apiUrl}/api/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'prod-only', scopes: ['read'], environments: ['prod'] }),
    });
    expect(res.status).toBe(201);
    prodOnly = ((await res.json()) as { token: string }).token;
  }, 120_000);

  afterAll(async () => {
    await locked?.stop();
  });

  async function signIn(page: Page, token: string): Promise<void> {
    await page.goto(`${locked.apiUrl}/services`);
    await page.getByRole('heading', { name: 'Sign in to FlowTrace' }).waitFor();
    await page.getByLabel('Token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  it('says how to send the first traces when nothing is stored', async () => {
    const { page } = await browser.newPage();
    await signIn(page, adminToken);
    await page.getByText('No traces yet: point your OTLP exporter at :4317').waitFor();
    expect(await page.locator('.service-map').count()).toBe(0);
    await browser.screenshot(page, 'services-empty');
  });

  it("shows the API's refusal with its status", async () => {
    const { page } = await browser.newPage();
    await signIn(page, prodOnly);
    // Both calls are refused, each with its own message.
    await expect
      .poll(() => page.getByRole('alert').allInnerTexts())
      .toEqual([
        expect.stringMatching(/^The service graph could not be read \(403\):\s+cannot enforce your read rules/),
        expect.stringMatching(/^RED could not be read \(403\):\s+RED metrics are not kept per environment/),
      ]);
    await browser.screenshot(page, 'services-refused');
  });
});
