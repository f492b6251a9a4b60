/**
 * The dashboard's search page in a real browser (Debian's chromium, headless) against a real
 * collector filled over OTLP: finding a seeded trace by service, tag and errors, the scatter and
 * its links, deep links and the back button, the API's refusals, and the login screen when the
 * API requires credentials. Screenshots go under test-output/screenshots/search.e2e/.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { cleanup, newTempDir, startCollector, waitFor, type RunningCollector } from '../helpers/collector.js';
import { startOidcProvider, type OidcProvider } from '../helpers/oidc-provider.js';
import type { OtlpRequest, OtlpSpan } from '../helpers/otlp-json.js';
import { postTraces } from '../helpers/otlp-send.js';

const SERVICE = 'dash-shop';
const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const cartTrace = hex(16);
const checkoutTrace = hex(16);
/** A value only the cart trace carries, as a span attribute. */
const CART_ROUTE = `/cart/${hex(4)}`;
/** One request's correlation ID, on both traces (as if its traceparent had been lost between them). */
const CORRELATION_ID = `order-${hex(6)}`;
/** Span data is untrusted: markup in a span name must show as text, never run. */
const XSS_SERVICE = 'dash-xss';
const XSS_NAME = '<img src=x onerror="window.__xss=1">';
const xssTrace = hex(16);

/** A server span with one client child; `error` marks the child failed. */
function trace(traceId: string, name: string, durationMs: number, startMsAgo: number, options: { route: string; error?: boolean; correlationId?: string }): OtlpSpan[] {
  const start = BigInt(Date.now() - startMsAgo) * 1_000_000n;
  const end = start + BigInt(durationMs) * 1_000_000n;
  const rootId = hex(8);
  return [
    {
      traceId,
      spanId: rootId,
      name,
      kind: 2,
      startTimeUnixNano: start.toString(),
      endTimeUnixNano: end.toString(),
      attributes: [
        { key: 'http.route', value: { stringValue: options.route } },
        ...(options.correlationId ? [{ key: 'flowtrace.correlation_id', value: { stringValue: options.correlationId } }] : []),
      ],
      status: { code: options.error ? 2 : 1 },
    },
    {
      traceId,
      spanId: hex(8),
      parentSpanId: rootId,
      name: 'SELECT cart',
      kind: 3,
      startTimeUnixNano: (start + 1_000_000n).toString(),
      endTimeUnixNano: (end - 1_000_000n).toString(),
      attributes: [{ key: 'db.system', value: { stringValue: 'postgresql' } }],
      status: options.error ? { code: 2, message: 'deadlock' } : {},
    },
  ];
}

async function seed(collector: RunningCollector): Promise<void> {
  const request: OtlpRequest = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: SERVICE } }] },
        scopeSpans: [
          {
            scope: { name: 'dashboard-test' },
            spans: [
              ...trace(cartTrace, 'GET /cart', 120, 60_000, { route: CART_ROUTE, correlationId: CORRELATION_ID }),
              ...trace(checkoutTrace, 'POST /checkout', 450, 30_000, { route: '/checkout', error: true, correlationId: CORRELATION_ID }),
            ],
          },
        ],
      },
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: XSS_SERVICE } }] },
        scopeSpans: [{ scope: { name: 'dashboard-test' }, spans: trace(xssTrace, XSS_NAME, 10, 20_000, { route: XSS_NAME }) }],
      },
    ],
  };
  const outcome = await postTraces(collector.httpEndpoint, JSON.stringify(request), 'application/json');
  expect(outcome).toMatchObject({ status: 200, rejected: 0 });
  await waitFor(async () => {
    const res = await fetch(`${collector.apiUrl}/api/traces?service=${SERVICE}`);
    const body = (await res.json()) as { traces: unknown[] };
    return body.traces.length === 2 ? true : undefined;
  }, 'the seeded traces to be searchable');
  await waitFor(async () => {
    const res = await fetch(`${collector.apiUrl}/api/correlations/${CORRELATION_ID}`);
    return res.status === 200 && ((await res.json()) as { traces: unknown[] }).traces.length === 2 ? true : undefined;
  }, 'the correlation ID to be recorded');
}

/** Trace IDs of the result rows on the page. */
async function resultIds(page: Page): Promise<string[]> {
  await page.locator('table.results').waitFor();
  return (await page.locator('table.results tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-trace-id') ?? ''))).sort();
}

const cspViolations = (errors: string[]) => errors.filter((e) => /Content Security Policy/i.test(e));

let browser: TestBrowser;

beforeAll(async () => {
  browser = await launchBrowser(import.meta.filename);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await cleanup();
});

describe('search page (loopback collector, no credentials needed)', () => {
  let collector: RunningCollector;

  beforeAll(async () => {
    collector = await startCollector();
    await seed(collector);
  }, 120_000);

  afterAll(async () => {
    await collector?.stop();
  });

  it('the API lists the traces with every field the results need, and filters errors only', async () => {
    const res = await fetch(`${collector.apiUrl}/api/traces?service=${SERVICE}&errorsOnly=true`);
    expect(res.status).toBe(200);
    const { traces } = (await res.json()) as { traces: Array<Record<string, unknown>> };
    expect(traces).toEqual([
      {
        traceId: checkoutTrace,
        rootServiceName: SERVICE,
        rootSpanName: 'POST /checkout',
        startTimeUnixNano: expect.stringMatching(/^\d{19}$/),
        durationNano: '450000000',
        spanCount: 2,
        errorCount: 2,
        services: [SERVICE],
      },
    ]);
    const bad = await fetch(`${collector.apiUrl}/api/traces?errorsOnly=maybe`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'errorsOnly: expected true or false, got "maybe"' });
    // No OIDC client configured: the login page offers no SSO.
    const session = await fetch(`${collector.apiUrl}/api/session`);
    expect(session.status).toBe(401);
    expect(await session.json()).toMatchObject({ oidcLogin: false });
  });

  it('finds the seeded traces by service, with the scatter, under the CSP', async () => {
    const { page, errors } = await browser.newPage();
    await page.goto(`${collector.apiUrl}/`);
    await page.getByRole('heading', { name: 'Search traces' }).waitFor();
    await page.getByLabel('Service').fill(SERVICE);
    await page.getByRole('button', { name: 'Find traces' }).click();
    await page.waitForURL((url) => url.pathname === '/' && url.searchParams.get('service') === SERVICE);
    expect(await resultIds(page)).toEqual([cartTrace, checkoutTrace].sort());

    const row = page.locator(`tr[data-trace-id="${cartTrace}"]`);
    await expect.poll(() => row.locator('td').allInnerTexts()).toEqual([`${SERVICE} GET /cart`, SERVICE, '2', '120 ms', '0', expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} /)]);
    // The raw nanoseconds are a hover away.
    expect(await row.locator('td').last().getAttribute('title')).toMatch(/^\d{19} ns since the epoch/);

    await page.locator('.scatter[data-points="2"]').waitFor();
    expect(await page.locator('.scatter-point').count()).toBe(2);
    expect(await page.locator('.scatter canvas').count()).toBeGreaterThan(0);
    await browser.screenshot(page, 'search-by-service');
    expect(cspViolations(errors)).toEqual([]);
  });

  it('finds a trace by tag and errors only, each a deep link', async () => {
    const { page } = await browser.newPage({ colorScheme: 'dark' });
    await page.goto(`${collector.apiUrl}/search?tags=${encodeURIComponent(`http.route=${CART_ROUTE}`)}`);
    expect(await resultIds(page)).toEqual([cartTrace]);
    expect(await page.getByLabel('Tags').inputValue()).toBe(`http.route=${CART_ROUTE}`);

    await page.getByLabel('Tags').fill('');
    await page.getByLabel('Service').fill(SERVICE);
    await page.getByLabel('Errors only').check();
    await page.getByRole('button', { name: 'Find traces' }).click();
    await page.waitForURL((url) => url.searchParams.get('errors') === '1');
    // Until the new answer is drawn, the previous search's table may still be on screen.
    await expect.poll(() => resultIds(page), { timeout: 30_000 }).toEqual([checkoutTrace]);
    expect(await page.locator(`tr[data-trace-id="${checkoutTrace}"] .error-count`).innerText()).toBe('2');
    await browser.screenshot(page, 'search-errors-only-dark');

    // Dark from the OS; the toggle switches to light and keeps that choice, and nothing else, in storage.
    expect(await page.evaluate(() => document.documentElement.className)).toBe('theme-dark');
    await page.getByRole('button', { name: 'Switch to the light theme' }).click();
    expect(await page.evaluate(() => document.documentElement.className)).toBe('theme-light');
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage }))).toBe('{"flowtrace.theme":"light"}');
    await page.reload();
    await page.locator('table.results').waitFor();
    expect(await page.evaluate(() => document.documentElement.className)).toBe('theme-light');
  });

  it('lists the operations of the service typed, and finds every trace of a correlation ID', async () => {
    const { page } = await browser.newPage();
    await page.goto(`${collector.apiUrl}/search`);
    await page.getByLabel('Service').fill(SERVICE);
    const options = page.locator('#search-operations option');
    await expect.poll(() => options.evaluateAll((all) => all.map((o) => o.getAttribute('value')).sort())).toEqual(['GET /cart', 'POST /checkout', 'SELECT cart']);

    await page.getByLabel('Correlation ID').fill(CORRELATION_ID);
    await page.getByRole('button', { name: 'Find traces' }).click();
    await page.waitForURL((url) => url.searchParams.get('correlation') === CORRELATION_ID);
    await expect.poll(() => resultIds(page), { timeout: 30_000 }).toEqual([cartTrace, checkoutTrace].sort());
    await page.getByText('A correlation ID lists every trace of that request').waitFor();
    await browser.screenshot(page, 'search-correlation');
  });

  it('shows markup in span data as text, never running it', async () => {
    const { page, errors } = await browser.newPage();
    await page.goto(`${collector.apiUrl}/search?service=${XSS_SERVICE}`);
    expect(await resultIds(page)).toEqual([xssTrace]);
    expect(await page.locator(`tr[data-trace-id="${xssTrace}"] .trace-link`).innerText()).toBe(`${XSS_SERVICE} ${XSS_NAME}`);
    expect(await page.locator(`.scatter-point[data-trace-id="${xssTrace}"]`).getAttribute('title')).toContain(XSS_NAME);
    expect(await page.locator('table.results img').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(cspViolations(errors)).toEqual([]);
  });

  it('opens a trace from a scatter point, and the back button returns to the same search', async () => {
    const { page } = await browser.newPage();
    await page.goto(`${collector.apiUrl}/search?service=${SERVICE}&range=6h`);
    await page.locator('.scatter[data-points="2"]').waitFor();
    await page.locator(`.scatter-point[data-trace-id="${checkoutTrace}"]`).click();
    await page.waitForURL(`**/traces/${checkoutTrace}`);
    await page.goBack();
    await page.waitForURL((url) => url.pathname === '/search' && url.searchParams.get('service') === SERVICE);
    expect(await page.getByLabel('Service').inputValue()).toBe(SERVICE);
    expect(await page.getByLabel('Time range').inputValue()).toBe('6h');
    expect(await resultIds(page)).toEqual([cartTrace, checkoutTrace].sort());
  });

  it("shows the API's message for bad input, and an empty result as such", async () => {
    const { page } = await browser.newPage();
    await page.goto(`${collector.apiUrl}/search?minDuration=fast`);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(/Search refused \(400\):\s+minDuration: expected a duration/);
    await browser.screenshot(page, 'search-bad-input');

    await page.goto(`${collector.apiUrl}/search?service=no-such-service`);
    await page.getByText('No trace matches these filters in this time range.').waitFor();
  });

  it('answers unknown paths with the JSON 404, and the dashboard with its security headers', async () => {
    const page = await fetch(`${collector.apiUrl}/search`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await page.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    expect((await fetch(`${collector.apiUrl}${asset}`)).headers.get('cache-control')).toContain('immutable');
    const unknown = await fetch(`${collector.apiUrl}/api/no-such-route`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: 'no route GET /api/no-such-route' });
  });
});

describe('login (credentials required)', () => {
  const adminToken = `ft_${randomBytes(32).toString('base64url')}`;
  let collector: RunningCollector;
  let idp: OidcProvider;

  beforeAll(async () => {
    idp = await startOidcProvider();
    const tokenFile = join(newTempDir('ft-dash-'), 'admin-token');
    writeFileSync(tokenFile, `${adminToken}\n`, { mode: 0o600 });
    collector = await startCollector({
      config: [
        'auth:',
        '  api: { require_credentials: always }',
        `  bootstrap_token_file: ${JSON.stringify(tokenFile)}`,
        '  oidc:',
        `    issuer: ${JSON.stringify(idp.issuer)}`,
        `    audience: ${JSON.stringify(idp.audience)}`,
        '    roles: { viewer: { scopes: [read] } }',
        `    client_id: ${JSON.stringify(idp.client.id)}`,
        `    client_secret: ${JSON.stringify(idp.client.secret)}`,
        '',
      ].join('\n'),
    });
  }, 120_000);

  afterAll(async () => {
    await collector?.stop();
    await idp?.close();
  });

  it('asks for a token, refuses a bad one with the API message, and logs in with a good one', async () => {
    const { page, context } = await browser.newPage();
    await page.goto(`${collector.apiUrl}/`);
    await page.getByRole('heading', { name: 'Sign in to FlowTrace' }).waitFor();
    expect(await page.getByRole('link', { name: 'Sign in with SSO' }).getAttribute('href')).toBe('/auth/oidc/login');
    await browser.screenshot(page, 'login');

    await page.getByLabel('Token').fill(`ft_${'x'.repeat(43)}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const refusal = page.getByRole('alert');
    await refusal.waitFor();
    expect(await refusal.innerText()).toMatch(/^Sign-in refused \(401\):/);

    await page.getByLabel('Token').fill(adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Signed in: the page loads its data, and this collector has none yet.
    await page.getByText('No traces yet: point your OTLP exporter at :4317').waitFor();
    await browser.screenshot(page, 'signed-in-empty');

    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === 'flowtrace_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(page.url()).not.toContain(adminToken);
    const stored = await page.evaluate(() => JSON.stringify([{ ...localStorage }, { ...sessionStorage }, document.cookie]));
    expect(stored).not.toContain(adminToken);
    expect(stored).not.toContain('flowtrace_session');

    // Sign out ends the session: the next data call asks for a token again.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to FlowTrace' }).waitFor();
    expect((await context.cookies()).find((c) => c.name === 'flowtrace_session')).toBeUndefined();
  });
});
