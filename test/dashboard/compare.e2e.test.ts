/**
 * The dashboard's compare page in a real browser (Debian's chromium, headless) against a real
 * collector filled over OTLP: two traces of one operation with a known difference (a query run
 * five times instead of once, a cache call gone, a new downstream service) show it, marked, with
 * the summary and links to both traces; the form when IDs are missing; the API's refusals; the
 * typical shape. Screenshots go under test-output/screenshots/compare.e2e/.
 */
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { cleanup, startCollector, waitFor, type RunningCollector } from '../helpers/collector.js';
import type { OtlpKeyValue, OtlpRequest, OtlpSpan } from '../helpers/otlp-json.js';
import { postTraces } from '../helpers/otlp-send.js';

const SHOP = 'cmp-shop';
const PRICING = 'cmp-pricing';
const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const traceA = hex(16);
const traceB = hex(16);
const MS = 1_000_000n;
const str = (key: string, value: string): OtlpKeyValue => ({ key, value: { stringValue: value } });

interface Seeded {
  shop: OtlpSpan[];
  pricing: OtlpSpan[];
}

/**
 * GET /orders, whose query `SELECT orders` (method OrderRepo.load) runs `queries` times for
 * 2 ms each; with `cache` a 1 ms cache.get; with `pricing` a 30 ms call to the pricing service.
 */
function orders(traceId: string, startMsAgo: number, options: { queries: number; cache: boolean; pricing: boolean }): Seeded {
  const start = BigInt(Date.now() - startMsAgo) * MS;
  const rootId = hex(8);
  const shop: OtlpSpan[] = [];
  const pricing: OtlpSpan[] = [];
  let t = start + MS;
  const child = (name: string, ms: number, attributes: OtlpKeyValue[] = [], kind = 1): OtlpSpan => {
    const span = { traceId, spanId: hex(8), parentSpanId: rootId, name, kind, startTimeUnixNano: t.toString(), endTimeUnixNano: (t + BigInt(ms) * MS).toString(), attributes };
    t += BigInt(ms) * MS;
    return span;
  };
  for (let i = 0; i < options.queries; i++) shop.push(child('SELECT orders', 2, [str('db.system', 'postgresql'), str('code.namespace', 'OrderRepo'), str('code.function.name', 'load')], 3));
  if (options.cache) shop.push(child('cache.get', 1));
  if (options.pricing) {
    const call = child('POST /price', 30, [], 3);
    shop.push(call);
    pricing.push({ ...call, spanId: hex(8), parentSpanId: call.spanId, kind: 2, name: 'POST /price' });
  }
  shop.unshift({ traceId, spanId: rootId, name: 'GET /orders', kind: 2, startTimeUnixNano: start.toString(), endTimeUnixNano: (t + MS).toString(), attributes: [str('http.route', '/orders')] });
  return { shop, pricing };
}

async function seed(collector: RunningCollector): Promise<void> {
  const a = orders(traceA, 60_000, { queries: 1, cache: true, pricing: false });
  const b = orders(traceB, 30_000, { queries: 5, cache: false, pricing: true });
  const request: OtlpRequest = {
    resourceSpans: [
      { resource: { attributes: [str('service.name', SHOP)] }, scopeSpans: [{ scope: { name: 'compare-test' }, spans: [...a.shop, ...b.shop] }] },
      { resource: { attributes: [str('service.name', PRICING)] }, scopeSpans: [{ scope: { name: 'compare-test' }, spans: b.pricing }] },
    ],
  };
  expect(await postTraces(collector.httpEndpoint, JSON.stringify(request), 'application/json')).toMatchObject({ status: 200, rejected: 0 });
  await waitFor(async () => {
    const res = await fetch(`${collector.apiUrl}/api/compare?a=${traceA}&b=${traceB}`);
    if (res.status !== 200) return undefined;
    const body = (await res.json()) as { a: { spanCount: number }; b: { spanCount: number } };
    return body.a.spanCount === 3 && body.b.spanCount === 8 ? true : undefined;
  }, 'both seeded traces to be stored whole');
}

const cspViolations = (errors: string[]) => errors.filter((e) => /Content Security Policy/i.test(e));

/** The rows of the comparison table: kind, the step's visible text, and the two delta cells. */
async function tableRows(page: Page): Promise<Array<{ kind: string; path: string; deltaCount: string; deltaTotal: string }>> {
  await page.locator('table.compare-table').waitFor();
  return page.locator('table.compare-table tbody tr').evaluateAll((rows) =>
    rows.map((r) => ({
      kind: r.getAttribute('data-kind') ?? '',
      path: r.getAttribute('data-path') ?? '',
      deltaCount: r.querySelector('.delta-count')?.textContent ?? '',
      deltaTotal: r.querySelector('.delta-total')?.textContent ?? '',
    })),
  );
}

let browser: TestBrowser;
let collector: RunningCollector;

beforeAll(async () => {
  browser = await launchBrowser(import.meta.filename);
  collector = await startCollector();
  await seed(collector);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await collector?.stop();
  await cleanup();
});

describe('compare page', () => {
  it('shows two traces side by side with the differences marked', async () => {
    const { page, errors } = await browser.newPage();
    await page.goto(`${collector.apiUrl}/compare?a=${traceA}&b=${traceB}`);
    const root = `${SHOP}:GET /orders`;
    expect(await tableRows(page)).toEqual([
      { kind: 'changed', path: root, deltaCount: '±0', deltaTotal: '+37 ms' },
      { kind: 'only-b', path: `${root} > ${SHOP}:POST /price`, deltaCount: '+1', deltaTotal: '+30 ms' },
      { kind: 'changed', path: `${root} > ${SHOP}:SELECT orders(OrderRepo.load)`, deltaCount: '+4', deltaTotal: '+8 ms' },
      { kind: 'only-a', path: `${root} > ${SHOP}:cache.get`, deltaCount: '−1', deltaTotal: '−1 ms' },
    ]);
    // The missing subtree is one row that says how much is under it.
    const priceRow = page.locator('tr[data-kind="only-b"]');
    expect(await priceRow.locator('.badge').innerText()).toBe('only in B');
    expect(await priceRow.locator('.below').innerText()).toContain('+1 below');
    const queryRow = page.locator(`tr[data-path="${root} > ${SHOP}:SELECT orders(OrderRepo.load)"]`);
    expect(await queryRow.locator('.method').innerText()).toBe('OrderRepo.load');
    expect(await queryRow.locator('td').allInnerTexts()).toEqual(['1', '2 ms', '5', '10 ms', '+4', '+8 ms']);
    expect(await queryRow.getAttribute('class')).toContain('count-changed');

    // The summary on top: both sides with their figures, the overall change and the counts.
    expect(await page.locator('.compare-side.side-a').innerText()).toMatch(new RegExp(`A\\s+${traceA}\\s+3 spans, 5 ms`));
    expect(await page.locator('.compare-side.side-b').innerText()).toMatch(new RegExp(`B\\s+${traceB}\\s+8 spans, 42 ms`));
    expect(await page.locator('.compare-overall').innerText()).toBe('+37 ms B is slower\nSwap A and B');
    expect(await page.getByTestId('compare-counts').innerText()).toBe('1 path only in A · 2 paths only in B · 2 paths changed (1 in span count) · 0 unchanged');
    await browser.screenshot(page, 'compare-two-traces');
    expect(cspViolations(errors)).toEqual([]);

    // Each side links to its trace; the back button returns to the comparison.
    await page.locator('a.trace-link[data-side="b"]').click();
    await page.waitForURL(`**/traces/${traceB}`);
    await page.goBack();
    await page.waitForURL((url) => url.pathname === '/compare' && url.searchParams.get('b') === traceB);
    await page.locator('table.compare-table').waitFor();

    // Swapped, every difference turns round.
    await page.getByRole('link', { name: 'Swap A and B' }).click();
    await page.waitForURL((url) => url.searchParams.get('a') === traceB && url.searchParams.get('b') === traceA);
    await page.locator('.compare-overall[data-change="faster"]').waitFor();
    expect((await tableRows(page)).map((r) => [r.kind, r.deltaCount, r.deltaTotal])).toEqual([
      ['changed', '±0', '−37 ms'],
      ['only-a', '−1', '−30 ms'],
      ['changed', '−4', '−8 ms'],
      ['only-b', '+1', '+1 ms'],
    ]);
  });

  it('asks for the IDs when they are missing, checks them, and puts them in the URL', async () => {
    const { page } = await browser.newPage({ colorScheme: 'dark' });
    await page.goto(`${collector.apiUrl}/compare`);
    await page.getByRole('heading', { name: 'Compare traces' }).waitFor();
    expect(await page.locator('table.compare-table').count()).toBe(0);
    // Reached from the top navigation too.
    expect(await page.getByRole('link', { name: 'Compare' }).getAttribute('class')).toBe('active');

    await page.getByLabel('Trace A').fill('not-an-id');
    await page.getByRole('button', { name: 'Compare', exact: true }).click();
    expect(await page.getByRole('alert').innerText()).toBe('A: a trace ID is 32 hex digits\nB: enter a trace ID');
    expect(new URL(page.url()).search).toBe('');

    await page.getByLabel('Trace A').fill(` ${traceA.toUpperCase()} `);
    await page.getByLabel('Trace B').fill(traceB);
    await page.getByRole('button', { name: 'Compare', exact: true }).click();
    await page.waitForURL((url) => url.searchParams.get('a') === traceA && url.searchParams.get('b') === traceB);
    await page.locator('tr[data-kind="only-a"]').waitFor();
    await browser.screenshot(page, 'compare-form-dark');
  });

  it("shows the API's message for an unknown trace", async () => {
    const { page } = await browser.newPage();
    const unknown = hex(16);
    await page.goto(`${collector.apiUrl}/compare?a=${traceA}&b=${unknown}`);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(new RegExp(`^Comparison refused \\(404\\):\\s+b: trace ${unknown} not found$`));
    await browser.screenshot(page, 'compare-unknown-trace');
  });

  it('compares a trace with the typical shape of its operation', async () => {
    const { page } = await browser.newPage();
    await page.goto(`${collector.apiUrl}/compare?a=${traceA}&b=typical`);
    await page.locator('table.compare-table').waitFor();
    // The only other GET /orders trace is B: the typical shape is B's.
    expect((await tableRows(page)).map((r) => [r.kind, r.deltaCount])).toEqual([
      ['changed', '±0'],
      ['only-b', '+1'],
      ['changed', '+4'],
      ['only-a', '−1'],
    ]);
    expect(await page.locator('.compare-side.side-b').innerText()).toMatch(/typical shape of A's operation\s+1 trace, median 8 spans/);
    expect(await page.locator('table.compare-table thead').innerText()).toContain('Typical count');
    expect(await page.locator('a.trace-link[data-side="b"]').count()).toBe(0);
    await browser.screenshot(page, 'compare-typical');
  });
});
