import { mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';

/**
 * Headless Chromium for the dashboard's browser tests: Debian's `chromium` package (`.ci/run`
 * installs it), driven by playwright-core (which never downloads a browser of its own). One
 * browser per test file: `launchBrowser` in beforeAll, `close` in afterAll.
 */

const ROOT = resolve(import.meta.dirname, '../..');
export const CHROMIUM = process.env.FLOWTRACE_CHROMIUM ?? '/usr/bin/chromium';
/** Screenshots go to `test-output/screenshots/<test file>/` (FLOWTRACE_TEST_OUTPUT overrides `test-output`). */
export const TEST_OUTPUT = resolve(process.env.FLOWTRACE_TEST_OUTPUT ?? join(ROOT, 'test-output'));

export interface TestBrowser {
  browser: Browser;
  /** A fresh context (own cookies and storage) and a page in it; the page's CSP reports and errors are collected. */
  newPage(options?: { colorScheme?: 'light' | 'dark' }): Promise<TestPage>;
  /** Saves a full-page PNG named `name` under this file's screenshot folder; returns its path. */
  screenshot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
}

export interface TestPage {
  page: Page;
  context: BrowserContext;
  /** Console errors and uncaught exceptions of the page (CSP violations show up here). */
  errors: string[];
}

export async function launchBrowser(testFile: string): Promise<TestBrowser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // As root in a sandbox-less container; no background connections on a closed network.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const dir = join(TEST_OUTPUT, 'screenshots', basename(testFile).replace(/\.test\.ts$/, ''));
  mkdirSync(dir, { recursive: true });
  const contexts = new Set<BrowserContext>();
  return {
    browser,
    async newPage(options = {}) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: options.colorScheme ?? 'light' });
      contexts.add(context);
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('console', (msg: ConsoleMessage) => {
        if (msg.type() === 'error') errors.push(msg.text());
      });
      page.on('pageerror', (err) => errors.push(`uncaught: ${err.message}`));
      return { page, context, errors };
    },
    async screenshot(page, name) {
      const file = join(dir, `${name.replace(/[^a-z0-9-]+/gi, '-')}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser.close();
    },
  };
}
