/**
 * The trace page (`/traces/:traceId`) in a real browser (Debian's chromium, headless) against a
 * real collector filled over OTLP: a server span with nested method spans, an N+1 of 10
 * identical queries (one group row), a failing method with an exception, a call into a second
 * service. Every span name is shown, methods nest, the critical path is marked, details load on
 * demand, next error and search jump, insights link to their spans, and refusals read clearly.
 * Screenshots go under test-output/screenshots/trace.e2e/.
 */
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { cleanup, startCollector, waitFor, type RunningCollector } from '../helpers/collector.js';
import type { OtlpKeyValue, OtlpRequest, OtlpSpan } from '../helpers/otlp-json.js';
import { postTraces } from '../helpers/otlp-send.js';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const TRACE = hex(16);
const CORRELATION_ID = `order-${hex(6)}`;
const QUERY = 'SELECT * FROM items WHERE order_id = ?';
const STACK = 'java.lang.IllegalStateException: no price for item 7\n\tat com.shop.PriceService.compute(PriceService.java:42)\n\tat com.shop.OrderController.get(OrderController.java:17)';
const ids = {
  root: hex(8),
  controller: hex(8),
  cache: hex(8),
  load: hex(8),
  price: hex(8),
  client: hex(8),
  server: hex(8),
  repo: hex(8),
  queries: Array.from({ length: 10 }, () => hex(8)),
};
const NAMES = ['GET /orders/{id}', 'OrderController.get', 'Cache.lookup', 'OrderService.load', QUERY, 'PriceService.compute', 'GET /inventory', 'InventoryRepo.count'];
const SPAN_COUNT = 18;
/** Span data is untrusted: markup in an attribute value must show as text, never run. */
const XSS = '<img src=x onerror="window.__xss=1">';
/** A second trace whose middle span never arrived: its child is an orphan. */
const ORPHAN_TRACE = hex(16);
const LOST_PARENT = hex(8);

const str = (key: string, value: string): OtlpKeyValue => ({ key, value: { stringValue: value } });

function seedRequest(): OtlpRequest {
  const t0 = BigInt(Date.now() - 60_000) * 1_000_000n;
  const at = (ms: number) => (t0 + BigInt(Math.round(ms * 1_000_000))).toString();
  const span = (spanId: string, parent: string, name: string, kind: number, fromMs: number, toMs: number, extra: Partial<OtlpSpan> = {}): OtlpSpan => ({
    traceId: TRACE,
    spanId,
    ...(parent ? { parentSpanId: parent } : {}),
    name,
    kind,
    startTimeUnixNano: at(fromMs),
    endTimeUnixNano: at(toMs),
    ...extra,
  });
  const method = (cls: string, fn: string, more: OtlpKeyValue[] = []) => [str('code.namespace', `com.shop.${cls}`), str('code.function.name', fn), ...more];
  const orders: OtlpSpan[] = [
    span(ids.root, '', 'GET /orders/{id}', 2, 0, 100, { attributes: [str('http.route', '/orders/{id}'), str('flowtrace.correlation_id', CORRELATION_ID)] }),
    span(ids.controller, ids.root, 'OrderController.get', 1, 1, 95, {
      attributes: method('OrderController', 'get', [str('flowtrace.args.0', '42'), str('flowtrace.return', 'Order{id=42, items=10}'), { key: 'retry.count', value: { intValue: 3 } }, str('note', XSS)]),
    }),
    // Overlapped by OrderService.load, which ends later: not on the critical path.
    span(ids.cache, ids.controller, 'Cache.lookup', 1, 2, 4, { attributes: method('Cache', 'lookup') }),
    span(ids.load, ids.controller, 'OrderService.load', 1, 3, 60, { attributes: method('OrderService', 'load', [str('flowtrace.args.0', '42')]) }),
    ...ids.queries.map((id, i) => span(id, ids.load, QUERY, 3, 5 + i * 5, 9 + i * 5, { attributes: [str('db.system', 'postgresql'), str('db.query.text', QUERY)] })),
    span(ids.price, ids.controller, 'PriceService.compute', 1, 61, 90, {
      attributes: method('PriceService', 'compute'),
      status: { code: 2, message: 'no price for item 7' },
      events: [
        {
          timeUnixNano: at(89),
          name: 'exception',
          attributes: [str('exception.type', 'java.lang.IllegalStateException'), str('exception.message', 'no price for item 7'), str('exception.stacktrace', STACK)],
        },
      ],
    }),
    span(ids.client, ids.price, 'GET /inventory', 3, 62, 80, { attributes: [str('http.request.method', 'GET')] }),
  ];
  const inventory: OtlpSpan[] = [
    span(ids.server, ids.client, 'GET /inventory', 2, 63, 79, { attributes: [str('flowtrace.correlation_id', CORRELATION_ID)] }),
    span(ids.repo, ids.server, 'InventoryRepo.count', 1, 64, 78, { attributes: method('InventoryRepo', 'count') }),
  ];
  const resource = (service: string, spans: OtlpSpan[]) => ({ resource: { attributes: [str('service.name', service)] }, scopeSpans: [{ scope: { name: 'trace-e2e' }, spans }] });
  const orphanRoot = hex(8);
  const broken: OtlpSpan[] = [
    { ...span(orphanRoot, '', 'GET /broken', 2, 0, 50), traceId: ORPHAN_TRACE },
    { ...span(hex(8), LOST_PARENT, 'Orphan.work', 1, 10, 20, { attributes: method('Orphan', 'work') }), traceId: ORPHAN_TRACE },
  ];
  return { resourceSpans: [resource('dash-orders', [...orders, ...broken]), resource('dash-inventory', inventory)] };
}

/** Every row of the virtualised list, by scrolling it from top to bottom: name, kind, depth, critical flag. */
async function allRows(page: Page): Promise<Array<{ name: string; kind: string; depth: number; critical: boolean; spanId: string }>> {
  return page.locator('.waterfall-scroll').evaluate(async (el) => {
    const seen = new Map<string, { name: string; kind: string; depth: number; critical: boolean; spanId: string }>();
    const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    el.scrollTop = 0;
    await frame();
    for (;;) {
      for (const row of el.querySelectorAll<HTMLElement>('[role="treeitem"]')) {
        seen.set(row.id, { name: row.dataset.name ?? '', kind: row.dataset.kind ?? '', depth: Number(row.dataset.depth), critical: row.dataset.critical === 'true', spanId: row.dataset.spanId ?? '' });
      }
      if (el.scrollTop + el.clientHeight >= el.scrollHeight - 1) break;
      el.scrollTop += el.clientHeight / 2;
      await frame();
    }
    return [...seen.entries()].sort((a, b) => Number(a[0].slice(7)) - Number(b[0].slice(7))).map(([, v]) => v);
  });
}

async function openTrace(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.locator('.waterfall[data-ready="true"]').waitFor();
}

const selectedSpan = (page: Page) => new URL(page.url()).searchParams.get('span');

let browser: TestBrowser;
let collector: RunningCollector;

beforeAll(async () => {
  browser = await launchBrowser(import.meta.filename);
  collector = await startCollector();
  const outcome = await postTraces(collector.httpEndpoint, JSON.stringify(seedRequest()), 'application/json');
  expect(outcome).toMatchObject({ status: 200, rejected: 0 });
  await waitFor(async () => {
    const res = await fetch(`${collector.apiUrl}/api/traces/${TRACE}/skeleton`);
    return res.status === 200 && ((await res.json()) as { spanCount: number }).spanCount === SPAN_COUNT ? true : undefined;
  }, 'the seeded trace to be stored');
  await waitFor(async () => ((await fetch(`${collector.apiUrl}/api/traces/${ORPHAN_TRACE}/skeleton`)).status === 200 ? true : undefined), 'the broken trace to be stored');
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await collector?.stop();
  await cleanup();
});

describe('trace page', () => {
  it('shows every span name, methods nested under their server span, the N+1 as one group row, the critical path marked', async () => {
    const { page, errors } = await browser.newPage();
    await openTrace(page, `${collector.apiUrl}/traces/${TRACE}`);
    expect(await page.locator('h1').innerText()).toBe('dash-orders GET /orders/{id}');
    expect(await page.locator('.trace-span-count').innerText()).toBe(String(SPAN_COUNT));
    expect(await page.locator('.trace-service-count').innerText()).toBe('2');

    // Collapsed at first: the 10 queries are one row with their count, total and max.
    const group = page.locator('[role="treeitem"][data-kind="group"]');
    expect(await group.getAttribute('data-name')).toBe(QUERY);
    expect(await group.innerText()).toMatch(/×10 · total 40\.0 ms · max 4\.00 ms/);

    // The critical path comes from the API (18 spans: under its cap).
    await page.locator('.trace-page[data-critical-path="api"]').waitFor();
    const rows = await allRows(page);
    const byName = new Map(rows.map((r) => [r.name, r]));
    expect(byName.get('GET /orders/{id}')).toMatchObject({ depth: 0, critical: true, kind: 'span' });
    expect(byName.get('OrderController.get')).toMatchObject({ depth: 1, critical: true });
    expect(byName.get('OrderService.load')).toMatchObject({ depth: 2 });
    expect(byName.get('PriceService.compute')).toMatchObject({ depth: 2, critical: true });
    expect(byName.get('InventoryRepo.count')).toMatchObject({ depth: 5, critical: true });
    expect(byName.get('Cache.lookup')).toMatchObject({ depth: 2, critical: false });
    expect(await page.locator('[data-name="OrderController.get"] .wf-method').innerText()).toBe('method');
    await browser.screenshot(page, 'trace-waterfall');

    // Expanding the group shows its members; every span name of the trace is on some row.
    await group.locator('.wf-twisty').click();
    const expanded = await allRows(page);
    expect(expanded.filter((r) => r.kind === 'span')).toHaveLength(SPAN_COUNT);
    expect(new Set(expanded.map((r) => r.name))).toEqual(new Set(NAMES));
    expect(expanded.filter((r) => r.name === QUERY && r.kind === 'span').every((r) => r.depth === 4)).toBe(true);

    // Turning the highlight off clears the marks.
    await page.getByLabel('Critical path').uncheck();
    await expect.poll(() => page.locator('[data-critical="true"]').count()).toBe(0);
    expect(errors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
  });

  it('opens a span in the side panel with its typed attributes and captured arguments; the selection is a deep link', async () => {
    const { page } = await browser.newPage({ colorScheme: 'dark' });
    await openTrace(page, `${collector.apiUrl}/traces/${TRACE}`);
    await page.locator('[data-name="OrderController.get"]').click();
    await page.waitForURL((url) => url.searchParams.get('span') === ids.controller);
    const panel = page.locator('.span-panel');
    await panel.locator('.attributes [data-key="code.function.name"]').waitFor();
    expect(await panel.locator('.attributes [data-key="code.function.name"]').innerText()).toMatch(/^code\.function\.name\s+get string$/);
    expect(await panel.locator('.attributes [data-key="retry.count"]').innerText()).toMatch(/3 int$/);
    expect(await panel.locator('.captured [data-key="flowtrace.args.0"]').innerText()).toMatch(/arg 0\s+42/);
    expect(await panel.locator('.captured [data-key="flowtrace.return"]').innerText()).toMatch(/return\s+Order\{id=42, items=10\}/);
    expect(await panel.locator('.resource [data-key="service.name"]').innerText()).toMatch(/dash-orders string/);
    expect(await panel.locator('.attributes [data-key="note"] code').innerText()).toBe(XSS);
    expect(await panel.locator('img').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    await expect.poll(() => panel.locator('dd[title*="ns since the epoch"]').count()).toBe(2);
    await browser.screenshot(page, 'trace-span-details-dark');

    // Keyboard: ↓ moves the cursor, Enter opens that span.
    await page.locator('.waterfall-scroll').focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.waitForURL((url) => url.searchParams.get('span') === ids.cache);
    // Back: the previous selection again; a reload of the deep link opens it.
    await page.goBack();
    await page.waitForURL((url) => url.searchParams.get('span') === ids.controller);
    await page.reload();
    await page.locator(`.span-panel[data-span-id="${ids.controller}"] .captured`).waitFor();

    // Show as root and back.
    await page.getByRole('button', { name: 'Show this span as root' }).click();
    await page.locator('.root-banner').waitFor();
    await expect.poll(() => page.locator('[role="treeitem"]').first().getAttribute('data-name')).toBe('OrderController.get');
    await page.getByRole('button', { name: 'Back to the whole trace' }).click();
    await expect.poll(() => page.locator('[role="treeitem"]').first().getAttribute('data-name')).toBe('GET /orders/{id}');
  });

  it('jumps to the next error with the button and the key, and shows its exception', async () => {
    const { page } = await browser.newPage();
    await openTrace(page, `${collector.apiUrl}/traces/${TRACE}`);
    await page.getByRole('button', { name: 'Next error ▸' }).click();
    await page.waitForURL((url) => url.searchParams.get('span') === ids.price);
    expect(await page.locator(`[data-span-id="${ids.price}"][role="treeitem"]`).getAttribute('data-error')).toBe('true');
    const stack = page.locator('.span-panel .exceptions pre.stacktrace');
    await stack.waitFor();
    expect(await stack.innerText()).toBe(STACK);
    await browser.screenshot(page, 'trace-next-error');
    // The only error: the key wraps to it again (selection stays).
    await page.locator('.waterfall-scroll').focus();
    await page.keyboard.press('e');
    expect(selectedSpan(page)).toBe(ids.price);
    // Escape closes the details.
    await page.keyboard.press('Escape');
    await page.waitForURL((url) => !url.searchParams.has('span'));
    await expect.poll(() => page.locator('.span-panel').count()).toBe(0);
    // ← on the root collapses the whole tree, → opens it again.
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => page.locator('[role="treeitem"]').count()).toBe(1);
    expect(await page.locator('[role="treeitem"]').getAttribute('aria-expanded')).toBe('false');
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => page.locator('[role="treeitem"]').count()).toBe(9);
  });

  it('search highlights matches, reveals collapsed ones, and Enter jumps to them', async () => {
    const { page } = await browser.newPage();
    await openTrace(page, `${collector.apiUrl}/traces/${TRACE}`);
    // Collapse the controller: the search must reveal what is under it.
    await page.locator('[data-name="OrderController.get"] .wf-twisty').click();
    await expect.poll(() => page.locator('[data-name="InventoryRepo.count"]').count()).toBe(0);
    await page.getByLabel('Find spans').fill('inventory');
    await expect.poll(() => page.locator('[data-match="true"]').count()).toBe(3);
    expect(await page.locator('.search-count').innerText()).toContain('3 matches');
    await page.getByLabel('Find spans').press('Enter');
    await page.waitForURL((url) => url.searchParams.get('span') === ids.client);
    await page.getByLabel('Find spans').press('Enter');
    await page.waitForURL((url) => url.searchParams.get('span') === ids.server);
    await expect.poll(() => page.locator('.search-count').innerText()).toContain('2 of 3');
    await browser.screenshot(page, 'trace-search');
  });

  it('lists the insights linked to their spans, the correlation and compare links, and keeps the clock-skew toggle in the URL', async () => {
    const { page } = await browser.newPage();
    await openTrace(page, `${collector.apiUrl}/traces/${TRACE}`);
    const nPlusOne = page.locator('.insights li[data-rule="n-plus-one"]');
    await nPlusOne.waitFor();
    await nPlusOne.locator('a.insight-span').first().click();
    await page.waitForURL((url) => ids.queries.includes(url.searchParams.get('span') ?? ''));
    // The group opened to show the selected member.
    await page.locator(`[role="treeitem"][data-span-id="${selectedSpan(page)}"]`).waitFor();
    expect(await page.locator('.insights li[data-rule="error-origin"]').count()).toBe(1);

    expect(await page.locator('a.correlation-link').getAttribute('href')).toBe(`/search?correlation=${CORRELATION_ID}`);
    expect(await page.getByRole('link', { name: 'Compare with typical' }).getAttribute('href')).toBe(`/compare?a=${TRACE}&b=typical`);

    // A click, not check(): the page reloads the skeleton, and the checkbox is drawn anew.
    await page.getByLabel('Adjust clock skew').click();
    await page.waitForURL((url) => url.searchParams.get('adjust') === 'clock-skew');
    await page.locator('.waterfall[data-ready="true"]').waitFor();
    expect(await page.getByLabel('Adjust clock skew').isChecked()).toBe(true);

    await page.getByRole('tab', { name: 'Self time' }).click();
    await page.waitForURL((url) => url.searchParams.get('view') === 'self-time');
    await expect.poll(() => page.locator('table[data-table="service"] tbody tr').count()).toBe(2);
    await page.getByRole('tab', { name: 'Flame graph' }).click();
    await page.waitForURL((url) => url.searchParams.get('view') === 'flame');
    await page.locator('.flame canvas').first().waitFor();
    await browser.screenshot(page, 'trace-flame-tab');
  });

  it('shows an orphan under a "missing parent" row, with a banner saying why', async () => {
    const { page } = await browser.newPage();
    await openTrace(page, `${collector.apiUrl}/traces/${ORPHAN_TRACE}`);
    const banner = page.locator('.completeness-banner');
    await banner.waitFor();
    expect(await banner.innerText()).toMatch(/Part of this trace is missing\.[\s\S]*1 span under 1 missing parent/);
    const rows = await allRows(page);
    expect(rows.map((r) => [r.kind, r.name, r.depth])).toEqual([
      ['span', 'GET /broken', 0],
      ['missing-parent', LOST_PARENT, 0],
      ['span', 'Orphan.work', 1],
    ]);
    await browser.screenshot(page, 'trace-missing-parent');
  });

  it('says clearly when the ID is bad or the trace is not there', async () => {
    const { page } = await browser.newPage();
    await page.goto(`${collector.apiUrl}/traces/not-a-trace-id`);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(/^Bad trace ID \(400\):\s+\S/);
    await browser.screenshot(page, 'trace-bad-id');
    await page.goto(`${collector.apiUrl}/traces/${hex(16)}`);
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').innerText()).toMatch(/^Trace not found \(or not readable with your access\) \(404\):/);
  });
});
