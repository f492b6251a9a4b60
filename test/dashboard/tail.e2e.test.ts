/**
 * The dashboard's `/tail` page in a real browser (Debian's chromium, headless) against a real
 * collector: spans sent over OTLP while the page is open appear (filtered as the URL says),
 * pausing holds them back and resuming shows them, a click opens the trace, a bad filter shows
 * the API's message, and the stream authenticates with the browser session's cookie when the
 * API requires credentials. Screenshots go under test-output/screenshots/tail.e2e/.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { cleanup, newTempDir, startCollector, type RunningCollector } from '../helpers/collector.js';
import { postTraces } from '../helpers/otlp-send.js';

const SERVICE = 'dash-tail';
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** One span per name, in one OTLP request; returns the trace ID. */
async function send(collector: RunningCollector, service: string, names: string[], options: { error?: boolean; durationMs?: number } = {}): Promise<string> {
  const traceId = hex(16);
  const t0 = BigInt(Date.now()) * 1_000_000n;
  const spans = names.map((name) => ({
    traceId,
    spanId: hex(8),
    name,
    kind: 2,
    startTimeUnixNano: t0.toString(),
    endTimeUnixNano: (t0 + BigInt(options.durationMs ?? 5) * 1_000_000n).toString(),
    attributes: [],
    status: options.error ? { code: 2, message: 'boom' } : {},
  }));
  const outcome = await postTraces(
    collector.httpEndpoint,
    JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeSpans: [{ scope: { name: 'tail-test' }, spans }] }] }),
    'application/json',
  );
  expect(outcome).toMatchObject({ status: 200, rejected: 0 });
  return traceId;
}

/** Span names in the list, top (newest) first. */
async function listed(page: Page): Promise<string[]> {
  return page.locator('.tail-item').evaluateAll((items) =>
    items.sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top).map((li) => li.getAttribute('data-span-name') ?? ''),
  );
}

async function openTail(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.locator('.tail-status[data-status="open"]').waitFor();
}

let browser: TestBrowser;

beforeAll(async () => {
  browser = await launchBrowser(import.meta.filename);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await cleanup();
});

describe('live tail (loopback collector, no credentials needed)', () => {
  let collector: RunningCollector;

  beforeAll(async () => {
    collector = await startCollector();
  }, 120_000);

  afterAll(async () => {
    await collector?.stop();
  });

  it('shows spans of the filtered service as they arrive, newest first; a click opens the trace', async () => {
    const { page, errors } = await browser.newPage();
    await openTail(page, `${collector.apiUrl}/tail?service=${SERVICE}`);
    expect(await page.getByLabel('Service').inputValue()).toBe(SERVICE);
    const first = await send(collector, SERVICE, ['GET /one']);
    await send(collector, 'someone-else', ['GET /elsewhere']);
    await page.locator('.tail-item[data-span-name="GET /one"]').waitFor();
    const second = await send(collector, SERVICE, ['GET /two']);
    await page.locator('.tail-item[data-span-name="GET /two"]').waitFor();
    expect(await listed(page)).toEqual(['GET /two', 'GET /one']);
    expect(await page.locator(`.tail-item[data-trace-id="${second}"] .tail-row`).innerText()).toMatch(/dash-tail\s+GET \/two\s+Server\s+5 ms/);
    await expect.poll(() => page.locator('[data-count="received"]').innerText()).toBe('2 received');
    await browser.screenshot(page, 'tail-live');

    await page.locator(`.tail-item[data-trace-id="${first}"] a`).click();
    await page.waitForURL(`**/traces/${first}`);
    expect(errors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
  });

  it('holds new spans back while paused and shows them on resume', async () => {
    const { page } = await browser.newPage({ colorScheme: 'dark' });
    await openTail(page, `${collector.apiUrl}/tail?service=${SERVICE}`);
    await send(collector, SERVICE, ['before pause']);
    await page.locator('.tail-item[data-span-name="before pause"]').waitFor();

    await page.getByRole('button', { name: 'Pause' }).click();
    await send(collector, SERVICE, ['while paused 1', 'while paused 2']);
    await expect.poll(() => page.locator('[data-count="waiting"]').innerText()).toBe('2 waiting while paused');
    expect(await listed(page)).toEqual(['before pause']);
    await page.getByRole('button', { name: 'Resume (2 new)' }).waitFor();
    await browser.screenshot(page, 'tail-paused-dark');

    await page.getByRole('button', { name: 'Resume (2 new)' }).click();
    await expect.poll(() => listed(page)).toEqual(['while paused 2', 'while paused 1', 'before pause']);
    // Live again: the next span goes straight to the top.
    await send(collector, SERVICE, ['after resume']);
    await expect.poll(async () => (await listed(page))[0]).toBe('after resume');
  });

  it('keeps the filters in the URL: errors only and a minimum duration', async () => {
    const { page } = await browser.newPage();
    await openTail(page, `${collector.apiUrl}/tail`);
    await page.getByLabel('Service').fill(SERVICE);
    await page.getByLabel('Min duration').fill('20ms');
    await page.getByLabel('Errors only').check();
    await page.getByRole('button', { name: 'Apply filter' }).click();
    await page.waitForURL((url) => url.searchParams.get('errors') === '1' && url.searchParams.get('minDuration') === '20ms' && url.searchParams.get('service') === SERVICE);
    await page.locator('.tail-status[data-status="open"]').waitFor();
    await send(collector, SERVICE, ['ok and slow'], { durationMs: 50 });
    await send(collector, SERVICE, ['failed and fast'], { error: true, durationMs: 5 });
    await send(collector, SERVICE, ['failed and slow'], { error: true, durationMs: 50 });
    await page.locator('.tail-item[data-span-name="failed and slow"]').waitFor();
    expect(await listed(page)).toEqual(['failed and slow']);
    expect(await page.locator('.tail-row.failed').count()).toBe(1);
  });

  it("shows the API's message when it refuses the stream", async () => {
    const { page } = await browser.newPage();
    await page.goto(`${collector.apiUrl}/tail?minDuration=soon`);
    await page.locator('.tail-status[data-status="closed"]').waitFor();
    const alert = page.getByRole('alert');
    expect(await alert.innerText()).toMatch(/^The live tail stopped \(400\):\s+minDuration: /);
    await browser.screenshot(page, 'tail-refused');
  });
});

describe('live tail (credentials required: the session cookie authenticates the stream)', () => {
  const adminToken = `ft_${randomBytes(32).toString('base64url')}`;
  let collector: RunningCollector;

  beforeAll(async () => {
    const tokenFile = join(newTempDir('ft-dash-tail-'), 'admin-token');
    writeFileSync(tokenFile, `${adminToken}\n`, { mode: 0o600 });
    collector = await startCollector({ config: ['auth:', '  api: { require_credentials: always }', `  bootstrap_token_file: ${JSON.stringify(tokenFile)}`, ''].join('\n') });
  }, 120_000);

  afterAll(async () => {
    await collector?.stop();
  });

  it('refuses the stream without a session, and streams once signed in', async () => {
    expect((await fetch(`${collector.apiUrl}/api/tail`)).status).toBe(401);
    const { page } = await browser.newPage();
    await page.goto(`${collector.apiUrl}/tail?service=${SERVICE}`);
    await page.getByRole('heading', { name: 'Sign in to FlowTrace' }).waitFor();
    await page.getByLabel('Token').fill(adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.tail-status[data-status="open"]').waitFor();
    expect(page.url()).not.toContain(adminToken);
    await send(collector, SERVICE, ['GET /signed-in']);
    await page.locator('.tail-item[data-span-name="GET /signed-in"]').waitFor();
  });
});
