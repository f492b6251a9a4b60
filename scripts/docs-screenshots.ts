/**
 * The dashboard screenshots of the README and docs/: starts a real collector, fills it with the
 * demo shop (test/helpers/demo-data.ts — the newcomer browser test uses the same data), opens
 * every page in Debian's chromium (1440×900, light theme; the trace page in the dark theme too)
 * and writes docs/screenshots/<page>.png, overwriting the previous ones.
 *
 *   npx tsc -p tsconfig.build.json && npm run build -w @flowtrace/dashboard   # if not built yet
 *   npx tsx scripts/docs-screenshots.ts
 *
 * Pages are taken from the dashboard's source: the top navigation (dashboard/src/shell/nav.ts)
 * plus the trace and service pages when dashboard/src/router.tsx routes them. A navigation entry
 * this script has no recipe for is still shot, once its page has loaded.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM } from '../test/helpers/browser.js';
import { cleanup, startCollector, type RunningCollector } from '../test/helpers/collector.js';
import { DEMO_CONFIG, liveRequests, seedDemo, type DemoData } from '../test/helpers/demo-data.js';
import { postTraces } from '../test/helpers/otlp-send.js';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = join(ROOT, 'docs/screenshots');
const VIEWPORT = { width: 1440, height: 900 };
/** Charts and the map animate or lay out after their data arrives: a moment to settle. */
const SETTLE_MS = 600;

interface Shot {
  /** docs/screenshots/<file>.png */
  file: string;
  url: string;
  dark?: boolean;
  /** Waits until the page shows what the picture is about (and may act on it). */
  ready(page: Page): Promise<void>;
}

/** The `to` of every top-navigation entry, in order (nav.ts: `{ to: '/x', label: 'X' }`). */
function navPaths(): string[] {
  const text = readFileSync(join(ROOT, 'dashboard/src/shell/nav.ts'), 'utf8');
  return [...text.matchAll(/\bto:\s*'([^']+)'/g)].map((m) => m[1]!);
}

/** The routed paths of router.tsx (`path: 'x'`), with a leading slash. */
function routedPaths(): Set<string> {
  const text = readFileSync(join(ROOT, 'dashboard/src/router.tsx'), 'utf8');
  return new Set([...text.matchAll(/\bpath:\s*'([^']+)'/g)].map((m) => `/${m[1]!}`));
}

const visible = (page: Page, selector: string) => page.locator(selector).first().waitFor({ timeout: 30_000 });

/** How each known page is shown at its best; `demo` names the traces worth looking at. */
function recipes(demo: DemoData, collector: RunningCollector): Record<string, Shot[]> {
  const trace = `/traces/${demo.slowTraceId}`;
  const traceReady = async (page: Page) => {
    await visible(page, '.waterfall[data-ready="true"]');
    await visible(page, '.trace-page[data-critical-path="api"]');
    await visible(page, '.insights li[data-rule="slow-method"]');
  };
  return {
    '/search': [
      {
        file: 'search',
        // The last hour, every request: the slow one stands out on the scatter.
        url: '/search?limit=100',
        async ready(page) {
          await visible(page, '.scatter-point');
          await visible(page, 'table.results tbody tr');
        },
      },
    ],
    '/traces/:traceId': [
      {
        file: 'trace',
        url: `${trace}?span=${demo.slowMethodSpanId}`,
        async ready(page) {
          await traceReady(page);
          await visible(page, '.span-panel .captured');
        },
      },
      { file: 'trace-dark', url: trace, dark: true, ready: traceReady },
      {
        file: 'trace-self-time',
        url: `${trace}?view=self-time`,
        async ready(page) {
          await visible(page, 'table[data-table="operation"] tbody tr');
        },
      },
      {
        file: 'trace-flame',
        url: `${trace}?view=flame`,
        async ready(page) {
          await visible(page, '.flame canvas');
        },
      },
    ],
    '/services': [
      {
        file: 'services',
        url: '/services?node=orders',
        async ready(page) {
          await visible(page, `.service-map[data-edges="${demo.edges.length}"]`);
          await visible(page, 'aside .time-chart canvas');
        },
      },
    ],
    '/services/:service': [
      {
        file: 'service',
        url: '/services/orders',
        async ready(page) {
          await visible(page, '.operation-red .time-chart canvas');
          await visible(page, '.hotspot-table tbody tr');
          await visible(page, '.slowest-traces table.results tbody tr');
        },
      },
    ],
    '/compare': [
      {
        file: 'compare',
        url: `/compare?a=${demo.slowTraceId}&b=typical`,
        async ready(page) {
          await visible(page, 'table.compare-table tbody tr');
        },
      },
    ],
    '/flame': [
      {
        file: 'flame',
        url: '/flame',
        async ready(page) {
          await visible(page, '.flame-table tbody tr');
          await visible(page, '.flame-canvas');
        },
      },
    ],
    '/tail': [
      {
        file: 'tail',
        url: '/tail',
        async ready(page) {
          await visible(page, '.tail-status[data-status="open"]');
          // The tail shows what arrives while it is open: a few requests, a moment apart.
          for (const body of liveRequests(12, Date.now() % 1_000)) {
            await postTraces(collector.httpEndpoint, JSON.stringify(body), 'application/json');
            await new Promise((r) => setTimeout(r, 80));
          }
          await page.waitForFunction(() => document.querySelectorAll('.tail-item').length >= 12, undefined, { timeout: 30_000 });
        },
      },
    ],
    '/sql': [
      {
        file: 'sql',
        url: '/sql',
        async ready(page) {
          await visible(page, 'details[data-table="otel_traces"]');
          await page.getByRole('button', { name: 'Run', exact: true }).click();
          await visible(page, '.sql-result tbody tr[data-row]');
        },
      },
    ],
  };
}

/** A page this script has no recipe for: shot once its data calls are done. */
function genericShot(path: string): Shot {
  return {
    file: path.replace(/^\//, '').replace(/[^a-z0-9]+/gi, '-') || 'home',
    url: path,
    async ready(page) {
      await page.waitForLoadState('networkidle');
    },
  };
}

/** The shots to take: the navigation's pages, then the routed detail pages. */
function plan(demo: DemoData, collector: RunningCollector, nav = navPaths(), routes = routedPaths()): Shot[] {
  const known = recipes(demo, collector);
  const shots: Shot[] = [];
  for (const path of nav) {
    if (!routes.has(path)) continue;
    shots.push(...(known[path] ?? [genericShot(path)]));
  }
  for (const detail of ['/traces/:traceId', '/services/:service', '/compare']) {
    if (routes.has(detail) && !nav.includes(detail)) shots.push(...known[detail]!);
  }
  return shots;
}

async function take(browser: Browser, apiUrl: string, shot: Shot): Promise<string> {
  const context = await browser.newContext({ viewport: VIEWPORT, colorScheme: shot.dark ? 'dark' : 'light', deviceScaleFactor: 1 });
  try {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${apiUrl}${shot.url}`);
    try {
      await shot.ready(page);
    } catch (err) {
      // What the page showed instead, to say why.
      const shown = (await page.locator('main').innerText().catch(() => '')).slice(0, 600);
      throw new Error(`${shot.url}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\nThe page showed: ${shown}${errors.length > 0 ? `\nPage errors: ${errors.join('; ')}` : ''}`);
    }
    await page.waitForLoadState('networkidle');
    await page.waitForTimeout(SETTLE_MS);
    if (errors.length > 0) throw new Error(`${shot.url}: the page failed: ${errors.join('; ')}`);
    const file = join(OUT, `${shot.file}.png`);
    await page.screenshot({ path: file, fullPage: false });
    return file;
  } finally {
    await context.close();
  }
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const collector = await startCollector({ config: DEMO_CONFIG });
  let browser: Browser | undefined;
  try {
    const demo = await seedDemo(collector);
    console.log(`demo: ${demo.traceCount} traces, ${demo.spanCount} spans; the slow one is ${demo.slowTraceId}`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    for (const shot of plan(demo, collector)) {
      const file = await take(browser, collector.apiUrl, shot);
      console.log(`${shot.url} → ${file.slice(ROOT.length + 1)}`);
    }
  } finally {
    await browser?.close();
    await collector.stop();
    await cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
