/**
 * Issue 14's "Done when", in a real browser (Debian's chromium, headless) against a real
 * collector filled over OTLP with the demo shop (test/helpers/demo-data.ts, the data of the docs
 * screenshots): someone who knows no trace ID opens `/`, finds the slow request through the UI
 * only, sees the method that made it slow and the services it crossed; and finds a failed
 * request and its exception. The test knows the seed only to check that what the UI led to is
 * the right answer. Screenshots go under test-output/screenshots/newcomer.e2e/.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { cleanup, startCollector, type RunningCollector } from '../helpers/collector.js';
import { DEMO_CONFIG, DEMO_SERVICES, SLOW_METHOD, seedDemo, type DemoData } from '../helpers/demo-data.js';

let browser: TestBrowser;
let collector: RunningCollector;
let demo: DemoData;

beforeAll(async () => {
  browser = await launchBrowser(import.meta.filename);
  collector = await startCollector({ config: DEMO_CONFIG });
  demo = await seedDemo(collector);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await collector?.stop();
  await cleanup();
});

/** Searches the last hour with the form as a person would: the given fields, then "Find traces". */
async function search(page: Page, fill: (page: Page) => Promise<void>): Promise<void> {
  await page.goto(`${collector.apiUrl}/`);
  await page.getByRole('heading', { name: 'Search traces' }).waitFor();
  await fill(page);
  await page.getByRole('button', { name: 'Find traces' }).click();
  await page.locator('table.results tbody tr').first().waitFor();
}

const cspViolations = (errors: string[]) => errors.filter((e) => /Content Security Policy/i.test(e));

describe('a newcomer, with no trace ID and no docs', () => {
  it('finds the slow request on the search page, sees the method that made it slow and the services it crossed', async () => {
    const { page, errors } = await browser.newPage();
    // The newest 20 of the last hour are shown first; ask for every request of the hour.
    await search(page, (p) => p.getByRole('combobox', { name: 'Results' }).selectOption('100').then(() => undefined));
    await page.waitForURL((url) => url.pathname === '/' && url.searchParams.get('limit') === '100');
    await expect.poll(() => page.locator('table.results tbody tr').count()).toBe(demo.traceCount);
    await page.locator(`.scatter[data-points="${demo.traceCount}"]`).waitFor();

    // The slow request stands out: the highest point of the duration scatter…
    const points = await page.locator('.scatter-point').evaluateAll((all) => all.map((p) => ({ id: (p as HTMLElement).dataset.traceId ?? '', top: parseFloat((p as HTMLElement).style.top) })));
    const highest = points.reduce((a, b) => (b.top < a.top ? b : a));
    // …and the longest duration in the list agrees.
    const rows = await page.locator('table.results tbody tr').evaluateAll((all) =>
      all.map((r) => ({ id: r.getAttribute('data-trace-id') ?? '', ns: BigInt((r.querySelectorAll('td')[3]?.getAttribute('title') ?? '0 ns').replace(' ns', '')).toString() })),
    );
    const longest = rows.reduce((a, b) => (BigInt(b.ns) > BigInt(a.ns) ? b : a));
    expect(highest.id).toBe(longest.id);
    expect(highest.id).toBe(demo.slowTraceId);
    await browser.screenshot(page, '1-search-the-outlier');

    await page.locator(`.scatter-point[data-trace-id="${highest.id}"]`).click();
    await page.waitForURL(`**/traces/${demo.slowTraceId}`);
    await page.locator('.waterfall[data-ready="true"]').waitFor();
    expect(await page.locator('h1').innerText()).toBe('gateway POST /api/checkout');
    expect(await page.locator('.trace-duration').innerText()).toMatch(/^1\.\d+ s$/);

    // The services it crossed, in the header.
    expect(await page.locator('.trace-service-count').innerText()).toBe(String(DEMO_SERVICES.length));
    expect((await page.locator('.trace-service-count').getAttribute('title'))!.split(', ').sort()).toEqual([...DEMO_SERVICES].sort());

    // The method that made it slow: named by the insights, one click away, on the critical path.
    const slow = page.locator('.insights li[data-rule="slow-method"]');
    await slow.waitFor();
    expect(await slow.innerText()).toMatch(new RegExp(`Slow method .*${SLOW_METHOD.replace('.', '\\.')} \\(orders\\) holds 9\\d% of the trace's self time`));
    await slow.getByRole('link', { name: 'show span' }).click();
    await page.waitForURL((url) => url.searchParams.get('span') === demo.slowMethodSpanId);
    await page.locator('.trace-page[data-critical-path="api"]').waitFor();
    const row = page.locator(`[role="treeitem"][data-span-id="${demo.slowMethodSpanId}"]`);
    expect(await row.getAttribute('data-name')).toBe(SLOW_METHOD);
    expect(await row.getAttribute('data-critical')).toBe('true');
    // Its captured arguments say what it was working on.
    const captured = page.locator('.span-panel .captured');
    await captured.waitFor();
    expect(await captured.innerText()).toContain('SPRING-ALL-37');
    await browser.screenshot(page, '2-trace-slow-method');

    // The self-time table names it first, and lists every service crossed.
    await page.getByRole('tab', { name: 'Self time' }).click();
    const top = page.locator('table[data-table="operation"] tbody tr').first();
    await top.waitFor();
    const [service, operation] = await top.locator('td').allInnerTexts();
    expect(service).toBe('orders');
    expect(operation).toMatch(new RegExp(`^${SLOW_METHOD.replace('.', '\\.')}\\s*method$`));
    expect((await page.locator('table[data-table="service"] tbody tr td:first-child').allInnerTexts()).sort()).toEqual([...DEMO_SERVICES].sort());
    await browser.screenshot(page, '3-trace-self-time');
    expect(cspViolations(errors)).toEqual([]);
  });

  it('finds a failed request with "Errors only" and goes from its error origin to the exception', async () => {
    const { page } = await browser.newPage();
    await search(page, (p) => p.getByLabel('Errors only').check());
    const failing = await page.locator('table.results tbody tr').evaluateAll((all) => all.map((r) => r.getAttribute('data-trace-id')));
    expect(failing).toContain(demo.errorTraceId);
    expect(await page.locator('table.results tbody tr .error-count').count()).toBe(failing.length);

    await page.locator('table.results tbody tr').first().locator('a.trace-link').click();
    await page.waitForURL('**/traces/*');
    await page.locator('.waterfall[data-ready="true"]').waitFor();
    const origin = page.locator('.insights li[data-rule="error-origin"]');
    await origin.waitFor();
    expect(await origin.innerText()).toContain('PaymentService.charge');
    await origin.locator('a.insight-span').first().click();
    await page.waitForURL((url) => url.searchParams.has('span'));
    expect(await page.locator('.span-panel h2').innerText()).toBe('PaymentService.charge');
    const stack = page.locator('.span-panel .exceptions pre.stacktrace');
    await stack.waitFor();
    expect(await stack.innerText()).toMatch(/^com\.shop\.payments\.CardDeclinedException: card declined by issuer/);
    await browser.screenshot(page, '4-trace-exception');
  });
});
