/**
 * The dashboard's `/flame` page in a real browser (Debian's chromium, headless) against a real
 * collector filled over OTLP with method-level spans: the seeded hot method tops the table of
 * frames by self time, a click on the canvas zooms into it, Escape zooms out, the keyboard
 * reaches it, the filter is a deep link, and the API's refusals show with their message.
 * Screenshots go under test-output/screenshots/flame.e2e/.
 */
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { cleanup, startCollector, waitFor, type RunningCollector } from '../helpers/collector.js';
import type { OtlpSpan } from '../helpers/otlp-json.js';
import { postTraces } from '../helpers/otlp-send.js';

const SERVICE = 'dash-report';
const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const traceIds = [hex(16), hex(16), hex(16)];
/** Span data is untrusted: markup in a method name must show as text. */
const XSS_METHOD = '<img src=x onerror="window.__xss=1">';

/**
 * One request: GET /report 1000 ms → Report.build 950 ms → Cold.format 50 ms, then
 * Hot.compute 800 ms (the hot method: most self time), and an internal span named with markup.
 */
function request(traceId: string, startMsAgo: number): OtlpSpan[] {
  const t0 = BigInt(Date.now() - startMsAgo) * 1_000_000n;
  const ms = (n: number) => (t0 + BigInt(n) * 1_000_000n).toString();
  const server = hex(8);
  const build = hex(8);
  const method = (namespace: string, fn: string) => [
    { key: 'code.namespace', value: { stringValue: namespace } },
    { key: 'code.function.name', value: { stringValue: fn } },
  ];
  return [
    { traceId, spanId: server, name: 'GET /report', kind: 2, startTimeUnixNano: ms(0), endTimeUnixNano: ms(1000), attributes: [], status: {} },
    { traceId, spanId: build, parentSpanId: server, name: 'build', kind: 1, startTimeUnixNano: ms(20), endTimeUnixNano: ms(970), attributes: method('Report', 'build'), status: {} },
    { traceId, spanId: hex(8), parentSpanId: build, name: 'format', kind: 1, startTimeUnixNano: ms(30), endTimeUnixNano: ms(80), attributes: method('Cold', 'format'), status: {} },
    { traceId, spanId: hex(8), parentSpanId: build, name: 'compute', kind: 1, startTimeUnixNano: ms(100), endTimeUnixNano: ms(900), attributes: method('Hot', 'compute'), status: {} },
    { traceId, spanId: hex(8), parentSpanId: server, name: XSS_METHOD, kind: 1, startTimeUnixNano: ms(975), endTimeUnixNano: ms(976), attributes: [], status: {} },
  ];
}

async function seed(collector: RunningCollector): Promise<void> {
  const spans = traceIds.flatMap((id, i) => request(id, 60_000 + i * 5_000));
  const outcome = await postTraces(
    collector.httpEndpoint,
    JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: SERVICE } }] }, scopeSpans: [{ scope: { name: 'flame-test' }, spans }] }] }),
    'application/json',
  );
  expect(outcome).toMatchObject({ status: 200, rejected: 0 });
  await waitFor(async () => {
    const res = await fetch(`${collector.apiUrl}/api/flame?service=${SERVICE}`);
    const body = (await res.json()) as { traceCount: number; spanCount: number };
    return body.traceCount === 3 && body.spanCount === 15 ? true : undefined;
  }, 'the seeded traces to be merged');
}

/** The table of top frames: [method, service] per row, heaviest self time first. */
async function topFrames(page: Page): Promise<string[][]> {
  await page.locator('.flame-table tbody tr').first().waitFor();
  return page.locator('.flame-table tbody tr').evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-method') ?? '', r.getAttribute('data-service') ?? '']));
}

const focusMethod = (page: Page) => page.locator('.flame-figure').getAttribute('data-focus-method');

/** Where row `row` (0: the top) is drawn, at `fraction` of the width, in page coordinates. */
async function pointOnGraph(page: Page, row: number, fraction: number): Promise<{ x: number; y: number }> {
  const box = (await page.locator('.flame-canvas').boundingBox())!;
  return { x: box.x + box.width * fraction, y: box.y + row * 18 + 9 };
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

describe('flame page', () => {
  it('shows the seeded hot method first by self time, with its example trace', async () => {
    const { page, errors } = await browser.newPage();
    await page.goto(`${collector.apiUrl}/flame?service=${SERVICE}`);
    await page.getByRole('heading', { name: 'Flame graph' }).waitFor();
    const frames = await topFrames(page);
    expect(frames[0]).toEqual(['Hot.compute', SERVICE]);
    expect(frames.map((f) => f[0])).toEqual(expect.arrayContaining(['Report.build', 'Cold.format', 'GET /report']));
    const hot = page.locator('.flame-table tr[data-method="Hot.compute"]');
    // 3 calls of 800 ms each.
    expect(await hot.locator('td').nth(2).innerText()).toBe('2.4 s');
    expect(await hot.locator('td').nth(4).innerText()).toBe('3');
    const example = await hot.getByRole('link', { name: 'Example trace of Hot.compute' }).getAttribute('href');
    expect(traceIds.map((id) => `/traces/${id}`)).toContain(example);
    await page.getByText('3 traces, 15 spans').waitFor();
    // The canvas drew frames; nothing was folded or skipped here, so no note says so.
    await expect.poll(async () => Number(await page.locator('.flame-canvas').getAttribute('data-frames-drawn'))).toBeGreaterThanOrEqual(5);
    expect(await page.locator('.flame-notes').count()).toBe(0);
    await browser.screenshot(page, 'flame-service');
    expect(errors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
  });

  it('zooms into the hot method on click, shows a tooltip on hover, and zooms out with Escape', async () => {
    const { page } = await browser.newPage();
    await page.goto(`${collector.apiUrl}/flame?service=${SERVICE}`);
    await topFrames(page);
    expect(await focusMethod(page)).toBe('(all)');
    // Rows: (all), GET /report, Report.build, then Cold.format (5 %) and Hot.compute (80 %) side by side.
    const hot = await pointOnGraph(page, 3, 0.5);
    await page.mouse.move(hot.x, hot.y);
    const tooltip = page.getByRole('tooltip');
    await tooltip.waitFor();
    expect(await tooltip.innerText()).toMatch(/dash-report · Hot\.compute\s+total 2\.4 s \(\d+\.\d %\)\s+self 2\.4 s \(\d+\.\d %\)\s+3 calls/);
    await page.mouse.click(hot.x, hot.y);
    await expect.poll(() => focusMethod(page)).toBe('Hot.compute');
    expect(await page.locator('.flame-breadcrumbs').innerText()).toMatch(/\(all\)\s*›\s*GET \/report\s*›\s*Report\.build\s*›\s*Hot\.compute/);
    expect(await page.locator('#flame-selected').innerText()).toMatch(/^dash-report · Hot\.compute · total 2\.4 s/);
    expect(traceIds.map((id) => `/traces/${id}`)).toContain(await page.getByRole('link', { name: 'Open the trace with its longest call' }).getAttribute('href'));
    await browser.screenshot(page, 'flame-zoomed');

    await page.keyboard.press('Escape');
    await expect.poll(() => focusMethod(page)).toBe('Report.build');
    // A click on an ancestor drawn above zooms out to it.
    const top = await pointOnGraph(page, 0, 0.5);
    await page.mouse.click(top.x, top.y);
    await expect.poll(() => focusMethod(page)).toBe('(all)');
  });

  it('is reachable by keyboard: arrows select, Enter zooms, and the table zooms too', async () => {
    const { page } = await browser.newPage({ colorScheme: 'dark' });
    await page.goto(`${collector.apiUrl}/flame?service=${SERVICE}`);
    await topFrames(page);
    await page.locator('.flame-box').focus();
    for (const key of ['ArrowDown', 'ArrowDown', 'ArrowDown']) await page.keyboard.press(key);
    // Down follows the widest child: the hot path.
    expect(await page.locator('.flame-figure').getAttribute('data-selected-method')).toBe('Hot.compute');
    await page.keyboard.press('ArrowLeft');
    expect(await page.locator('.flame-figure').getAttribute('data-selected-method')).toBe('Cold.format');
    await page.keyboard.press('ArrowRight');
    expect(await page.locator('.flame-figure').getAttribute('data-selected-method')).toBe('Hot.compute');
    await page.keyboard.press('Enter');
    await expect.poll(() => focusMethod(page)).toBe('Hot.compute');
    await browser.screenshot(page, 'flame-keyboard-dark');
    await page.getByRole('button', { name: 'Reset zoom' }).click();
    await expect.poll(() => focusMethod(page)).toBe('(all)');
    await page.getByRole('button', { name: 'Zoom into Report.build' }).click();
    await expect.poll(() => focusMethod(page)).toBe('Report.build');
  });

  it('highlights a search, shows markup in method names as text, and keeps the filter in the URL', async () => {
    const { page } = await browser.newPage();
    await page.goto(`${collector.apiUrl}/flame`);
    await topFrames(page);
    await page.getByLabel('Highlight').fill('hot.');
    await page.getByText('1 frame matches, 80.0 % of the time').waitFor();
    const methods = await page.locator('.flame-table tbody tr').evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-method'), r.querySelector('td')?.textContent]));
    expect(methods).toContainEqual([XSS_METHOD, XSS_METHOD]);
    expect(await page.locator('.flame img').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();

    await page.getByLabel('Operation').fill('GET /report');
    await page.getByLabel('Time range').selectOption('6h');
    await page.getByRole('button', { name: 'Show flame graph' }).click();
    await page.waitForURL((url) => url.searchParams.get('operation') === 'GET /report' && url.searchParams.get('range') === '6h');
    await page.getByText('3 traces, 15 spans').waitFor();
    await page.goBack();
    await page.waitForURL((url) => url.pathname === '/flame' && url.search === '');
    expect(await page.getByLabel('Operation').inputValue()).toBe('');
  });

  it('says plainly when frames were folded into "(other)"', async () => {
    const { page } = await browser.newPage();
    await page.goto(`${collector.apiUrl}/flame?service=${SERVICE}&frames=3`);
    const notes = page.getByRole('list', { name: 'What the graph leaves out' });
    await notes.waitFor();
    expect(await notes.innerText()).toMatch(/^Truncated: the call tree has 5 frames; the [1-4] lightest are folded into "\(other\)" frames \(their time is kept, their names are not\)\.$/);
    expect(await page.getByLabel('Frames at most').inputValue()).toBe('3');
    // "(other)" is drawn but is no frame of a service: the table leaves it out.
    expect((await topFrames(page)).map((f) => f[0])).not.toContain('(other)');
    await browser.screenshot(page, 'flame-truncated');
  });

  it("shows the API's message for a bad filter, and an empty result as such", async () => {
    const { page } = await browser.newPage();
    await page.goto(`${collector.apiUrl}/flame?range=custom&start=yesterday`);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(/Flame graph refused \(400\):\s+start: /);
    await browser.screenshot(page, 'flame-bad-input');
    await page.goto(`${collector.apiUrl}/flame?frames=1`);
    await page.getByText(/Flame graph refused \(400\):\s+maxNodes: expected a whole number from 2 to 20000/).waitFor();
    await page.goto(`${collector.apiUrl}/flame?service=no-such-service`);
    await page.getByText('No trace matches these filters in this time range.').waitFor();
  });
});
