/**
 * The trace page's Logs panel in a real browser (Debian's chromium, headless) against a real
 * collector: a trace of two services sent over OTLP, and log records in `otel_logs` — three
 * naming the trace's spans, one written where trace context was lost but carrying the trace's
 * correlation ID, one of another trace. The panel lists the trace's records in time order with
 * severity, service and body (markup as text), marks the one found by correlation ID, selects a
 * span when its record is clicked, and the span's details list that span's records; no CSP
 * violation. Records arrive over OTLP/JSON at /v1/logs. Screenshots under test-output/screenshots/logs.e2e/.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { cleanup, startCollector, waitFor, type RunningCollector } from '../helpers/collector.js';
import type { OtlpKeyValue, OtlpRequest, OtlpSpan } from '../helpers/otlp-json.js';
import { postLogs, resourceLogs, type OtlpLogRecord } from '../helpers/otlp-logs.js';
import { postTraces } from '../helpers/otlp-send.js';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const TRACE = hex(16);
const OTHER_TRACE = hex(16);
const CORRELATION_ID = `order-${hex(6)}`;
const ROOT = hex(8);
const CHARGE = hex(8);
const XSS = '<img src=x onerror="window.__xss=1">';
const T0 = BigInt(Date.now() - 60_000) * 1_000_000n;
const at = (ms: number) => T0 + BigInt(ms) * 1_000_000n;

const str = (key: string, value: string): OtlpKeyValue => ({ key, value: { stringValue: value } });

function spans(): OtlpRequest {
  const span = (spanId: string, parent: string, name: string, fromMs: number, toMs: number, extra: Partial<OtlpSpan> = {}): OtlpSpan => ({
    traceId: TRACE,
    spanId,
    ...(parent ? { parentSpanId: parent } : {}),
    name,
    kind: 2,
    startTimeUnixNano: at(fromMs).toString(),
    endTimeUnixNano: at(toMs).toString(),
    ...extra,
  });
  const resource = (service: string, list: OtlpSpan[]) => ({ resource: { attributes: [str('service.name', service)] }, scopeSpans: [{ scope: { name: 'logs-e2e' }, spans: list }] });
  return {
    resourceSpans: [
      resource('shop', [span(ROOT, '', 'POST /checkout', 0, 100, { attributes: [str('flowtrace.correlation_id', CORRELATION_ID)] })]),
      resource('payments', [span(CHARGE, ROOT, 'charge card', 20, 60, { status: { code: 2, message: 'declined' } })]),
    ],
  };
}

function logs() {
  const record = (ms: number, traceId: string, spanId: string, severity: [string, number], body: string, correlationId = ''): OtlpLogRecord => ({
    timeUnixNano: at(ms).toString(),
    severityText: severity[0],
    severityNumber: severity[1],
    body: { stringValue: body },
    ...(traceId ? { traceId, spanId } : {}),
    ...(correlationId ? { attributes: [str('flowtrace.correlation_id', correlationId)] } : {}),
  });
  return {
    resourceLogs: [
      resourceLogs('shop', [record(1, TRACE, ROOT, ['INFO', 9], 'checkout started for cart 7'), record(90, TRACE, ROOT, ['WARN', 13], 'order kept as unpaid'), record(50, OTHER_TRACE, hex(8), ['INFO', 9], 'another request')]),
      resourceLogs('payments', [record(30, TRACE, CHARGE, ['ERROR', 17], `card declined: ${XSS}`)]),
      // The e-mail worker lost the trace context; the correlation ID still names the request.
      resourceLogs('mailer', [record(120, '', '', ['INFO', 9], 'payment failure e-mail queued', CORRELATION_ID)]),
    ],
  };
}

let browser: TestBrowser;
let collector: RunningCollector;

beforeAll(async () => {
  browser = await launchBrowser(import.meta.filename);
  collector = await startCollector();
  expect(await postTraces(collector.httpEndpoint, JSON.stringify(spans()), 'application/json')).toMatchObject({ status: 200, rejected: 0 });
  expect(await postLogs(collector.httpEndpoint, logs())).toMatchObject({ status: 200, rejected: 0 });
  await waitFor(async () => ((await fetch(`${collector.apiUrl}/api/traces/${TRACE}/skeleton`)).status === 200 ? true : undefined), 'the trace to be stored');
  await waitFor(async () => {
    const res = await fetch(`${collector.apiUrl}/api/traces/${TRACE}/logs`);
    return res.status === 200 && ((await res.json()) as { logs: unknown[] }).logs.length === 4 ? true : undefined;
  }, 'the log records to be stored');
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await collector?.stop();
  await cleanup();
});

describe('trace page: logs', () => {
  it("lists the trace's records in time order, marks the one found by correlation ID, and selects a record's span", async () => {
    const { page, errors } = await browser.newPage();
    await page.goto(`${collector.apiUrl}/traces/${TRACE}`);
    await page.locator('.waterfall[data-ready="true"]').waitFor();
    const panel = page.locator('section.trace-logs');
    await panel.locator('tbody tr').first().waitFor();
    expect(await panel.getAttribute('data-log-count')).toBe('4');
    expect(await panel.locator('h2').innerText()).toMatch(new RegExp(`4 log records, with those of correlation ID ${CORRELATION_ID}`));
    const rows = await panel.locator('tbody tr').evaluateAll((trs) =>
      trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => (td as HTMLElement).innerText.trim()).slice(1)),
    );
    expect(rows).toEqual([
      ['INFO', 'shop', 'checkout started for cart 7'],
      ['ERROR', 'payments', `card declined: ${XSS}`],
      ['WARN', 'shop', 'order kept as unpaid'],
      ['INFO', 'mailer', `payment failure e-mail queued via correlation ID ${CORRELATION_ID}`],
    ]);
    // Markup in a body is text: no element, no script.
    expect(await panel.locator('img').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    // The correlation record has no span of this trace: not selectable.
    expect(await panel.locator('tbody tr').nth(3).locator('button').count()).toBe(0);

    // Clicking the payments record selects its span; its details list that span's records only.
    await panel.locator('tbody tr').nth(1).click();
    await page.waitForURL((url) => url.searchParams.get('span') === CHARGE);
    const details = page.locator('.span-panel .span-logs');
    await details.locator('tbody tr').first().waitFor();
    expect(await details.locator('tbody tr').count()).toBe(1);
    expect(await details.locator('.log-body').innerText()).toBe(`card declined: ${XSS}`);
    expect(await panel.locator('tbody tr.log-of-selected').count()).toBe(1);
    await browser.screenshot(page, 'trace-logs');
    expect(errors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
  });

  it('says so when a trace has no records', async () => {
    const { page } = await browser.newPage({ colorScheme: 'dark' });
    const lonely = hex(16);
    expect(await postTraces(collector.httpEndpoint, JSON.stringify({ resourceSpans: [{ resource: { attributes: [str('service.name', 'quiet')] }, scopeSpans: [{ spans: [{ traceId: lonely, spanId: hex(8), name: 'GET /quiet', kind: 2, startTimeUnixNano: at(0).toString(), endTimeUnixNano: at(5).toString() }] }] }] }), 'application/json')).toMatchObject({ status: 200 });
    await waitFor(async () => ((await fetch(`${collector.apiUrl}/api/traces/${lonely}/skeleton`)).status === 200 ? true : undefined), 'the quiet trace');
    await page.goto(`${collector.apiUrl}/traces/${lonely}`);
    await page.locator('section.trace-logs').waitFor();
    expect(await page.locator('section.trace-logs').innerText()).toMatch(/No log records for this trace/);
  });
});
