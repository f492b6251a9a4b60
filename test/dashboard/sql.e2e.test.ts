/**
 * The dashboard's `/sql` console in a real browser (Debian's chromium, headless) against a real
 * collector filled over OTLP: the schema beside the editor (GET /api/sql/schema), rows returned
 * (Ctrl+Enter), a forbidden statement answered with the API's 400 message, the CSV download
 * holding the rows, a long result virtualised and marked truncated, and the statement kept out
 * of the URL and storage. Screenshots go under test-output/screenshots/sql.e2e/.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { cleanup, sql, startCollector, waitFor, type RunningCollector } from '../helpers/collector.js';
import type { OtlpSpan } from '../helpers/otlp-json.js';
import { postTraces } from '../helpers/otlp-send.js';

const SERVICE = 'dash-sql';
const hex = (bytes: number) => randomBytes(bytes).toString('hex');
/** Span names with what CSV must quote, and a formula a spreadsheet would run. */
const NAMES = ['GET /a', 'say "hi", then leave', '=HYPERLINK("http://evil")'];
const QUERY = `SELECT SpanName, Duration FROM otel_traces WHERE ServiceName = '${SERVICE}' ORDER BY Duration`;

async function seed(collector: RunningCollector): Promise<void> {
  const traceId = hex(16);
  const t0 = BigInt(Date.now() - 30_000) * 1_000_000n;
  const spans: OtlpSpan[] = NAMES.map((name, i) => ({
    traceId,
    spanId: hex(8),
    name,
    kind: 2,
    startTimeUnixNano: t0.toString(),
    endTimeUnixNano: (t0 + BigInt(i + 1) * 1_000_000n).toString(),
    attributes: [],
    status: {},
  }));
  const outcome = await postTraces(
    collector.httpEndpoint,
    JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: SERVICE } }] }, scopeSpans: [{ scope: { name: 'sql-test' }, spans }] }] }),
    'application/json',
  );
  expect(outcome).toMatchObject({ status: 200, rejected: 0 });
  await waitFor(async () => ((await sql(collector.apiUrl, QUERY)).length === 3 ? true : undefined), 'the seeded spans to be stored');
}

async function typeQuery(page: Page, query: string): Promise<void> {
  await page.getByLabel(/One read-only statement/).fill(query);
}

/** The result table's rows as cell texts, without the row number. */
async function resultRows(page: Page): Promise<string[][]> {
  return page.locator('.sql-result tbody tr[data-row]').evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].slice(1).map((td) => td.textContent ?? '')));
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

describe('SQL console', () => {
  it('shows the schema beside the editor, from GET /api/sql/schema', async () => {
    const res = await fetch(`${collector.apiUrl}/api/sql/schema`);
    expect(res.status).toBe(200);
    const schema = (await res.json()) as { tables: Array<{ name: string; columns: Array<{ name: string }> }> };
    const spans = schema.tables.find((t) => t.name === 'otel_traces')!;
    expect(spans.columns.map((c) => c.name)).toEqual(expect.arrayContaining(['Timestamp', 'SpanName', 'Duration', 'SpanAttributes']));

    const { page } = await browser.newPage();
    await page.goto(`${collector.apiUrl}/sql`);
    await page.getByRole('heading', { name: 'SQL console' }).waitFor();
    const panel = page.getByRole('complementary', { name: 'Schema' });
    await panel.locator('details[data-table="otel_traces"]').waitFor();
    expect(await panel.locator('details[data-table="otel_traces"] .sql-columns li').count()).toBe(spans.columns.length);
    // A click on a column name inserts it at the cursor.
    await typeQuery(page, 'SELECT  FROM otel_traces');
    await page.getByLabel(/One read-only statement/).evaluate((el: HTMLTextAreaElement) => el.setSelectionRange(7, 7));
    await panel.getByRole('button', { name: 'SpanName', exact: true }).click();
    expect(await page.getByLabel(/One read-only statement/).inputValue()).toBe('SELECT SpanName FROM otel_traces');
  });

  it('returns rows on Ctrl+Enter, keeps the statement out of the URL and storage, and downloads them as CSV', async () => {
    const { page, errors } = await browser.newPage();
    await page.goto(`${collector.apiUrl}/sql`);
    await typeQuery(page, QUERY);
    await page.getByLabel(/One read-only statement/).press('Control+Enter');
    await page.locator('.sql-result tbody tr[data-row]').nth(2).waitFor();
    expect(await resultRows(page)).toEqual([
      [NAMES[0], '1000000'],
      [NAMES[1], '2000000'],
      [NAMES[2], '3000000'],
    ]);
    expect(await page.locator('.sql-result thead th').allInnerTexts()).toEqual(['#', expect.stringMatching(/^SpanName\s+LowCardinality\(String\)$/), expect.stringMatching(/^Duration\s+UInt64$/)]);
    await page.getByText(/^3 rows in [\d.,]+ ms$/).waitFor();
    await browser.screenshot(page, 'sql-rows');

    expect(page.url()).toBe(`${collector.apiUrl}/sql`);
    const stored = await page.evaluate(() => JSON.stringify([{ ...localStorage }, { ...sessionStorage }, history.state]));
    expect(stored).not.toContain('otel_traces');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: /^Download CSV \(3 rows\)$/ }).click()]);
    expect(download.suggestedFilename()).toMatch(/^flowtrace-sql-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.csv$/);
    expect(download.url()).toMatch(/^blob:/);
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv).toBe(`SpanName,Duration\r\nGET /a,1000000\r\n"say ""hi"", then leave",2000000\r\n"'=HYPERLINK(""http://evil"")",3000000\r\n`);

    // The statement survives a trip to another page (memory), not a reload.
    await page.getByRole('link', { name: 'Search' }).click();
    await page.getByRole('link', { name: 'SQL' }).click();
    expect(await page.getByLabel(/One read-only statement/).inputValue()).toBe(QUERY);
    await page.reload();
    expect(await page.getByLabel(/One read-only statement/).inputValue()).not.toBe(QUERY);
    expect(errors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
  });

  it("shows the API's 400 message for a statement that is not allowed", async () => {
    const forbidden = `INSERT INTO otel_traces (SpanName) VALUES ('x')`;
    const res = await fetch(`${collector.apiUrl}/api/sql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: forbidden }) });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: string };
    expect(error).not.toBe('');

    const { page } = await browser.newPage({ colorScheme: 'dark' });
    await page.goto(`${collector.apiUrl}/sql`);
    await typeQuery(page, forbidden);
    await page.getByRole('button', { name: 'Run' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toBe(`Statement refused (400): ${error}`);
    expect(await page.locator('.sql-result').count()).toBe(0);
    await browser.screenshot(page, 'sql-refused-dark');
  });

  it('virtualises a long result and says when it was truncated', async () => {
    const { page } = await browser.newPage();
    await page.goto(`${collector.apiUrl}/sql`);
    await typeQuery(page, 'SELECT arrayJoin(range(12000)) AS n');
    await page.getByRole('button', { name: 'Run' }).click();
    await page.locator('.sql-result tbody tr[data-row="0"]').waitFor();
    await page.getByText(/truncated: the result passed the API's row or byte limit, only the first 10,000 rows are shown/).waitFor();
    // Only the rows in view (and a few beyond) are in the page.
    const drawn = await page.locator('.sql-result tbody tr[data-row]').count();
    expect(drawn).toBeGreaterThan(10);
    expect(drawn).toBeLessThan(100);
    await page.locator('.sql-result-scroll').evaluate((el) => (el.scrollTop = el.scrollHeight));
    await page.locator('.sql-result tbody tr[data-row="9999"]').waitFor();
    expect(await page.locator('.sql-result tbody tr[data-row="9999"] td').allInnerTexts()).toEqual(['10000', '9999']);
    await browser.screenshot(page, 'sql-truncated');
  });
});
