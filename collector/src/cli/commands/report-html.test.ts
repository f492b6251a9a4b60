import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SkeletonResponse } from '../../query/skeleton-routes.js';
import type { TraceSummary } from '../../query/trace-store.js';
import { isAssertAnswer, skeletonRows } from './report.js';
import { escapeHtml, REPORT_STYLE_HASH, renderReportHtml, type ReportData } from './report-html.js';

const HOSTILE = `<script>alert(1)</script><img src=x onerror=alert(2)>"'&`;

const trace = (id: string, root: string, durationMs: number, errors: number, services: string[]): TraceSummary => ({
  traceId: id,
  rootServiceName: services[0]!,
  rootSpanName: root,
  startTimeUnixNano: '1800000000000000000',
  durationNano: String(durationMs * 1_000_000),
  spanCount: 3,
  errorCount: errors,
  services,
});

const T1 = trace('0af7651916cd43dd8448eb211c80319c', 'GET /checkout', 120, 1, ['shop', 'orders']);
const T2 = trace('4bf92f3577b34da6a3ce929d0e0e4736', HOSTILE, 30, 0, ['shop']);

function data(overrides: Partial<ReportData> = {}): ReportData {
  return {
    title: `Run ${HOSTILE}`,
    generatedAt: new Date('2026-12-07T03:00:00Z'),
    window: { start: new Date('2026-12-07T02:00:00Z'), end: new Date('2026-12-07T03:00:00Z') },
    scope: `resource.ci.run.id = "${HOSTILE}"`,
    traces: [T1, T2],
    truncated: false,
    slowest: [
      {
        trace: T1,
        spans: [
          { depth: 0, service: 'shop', name: 'GET /checkout', startNs: 0, durationNs: 120e6, error: false },
          { depth: 1, service: 'orders', name: HOSTILE, startNs: 10e6, durationNs: 80e6, error: true },
        ],
        omittedSpans: 0,
      },
    ],
    assertions: {
      results: [
        { name: HOSTILE, select: `{ name = "${HOSTILE}" }`, expectation: 'no trace matches', passed: false, observed: '1 trace matches', matchedTraces: 1, evidence: [{ traceId: T1.traceId, root: HOSTILE }] },
      ],
      scope: { traces: 2, spans: 6 },
      window: { startUnixNano: '0', endUnixNano: '0' },
    },
    dashboardUrl: 'http://127.0.0.1:8686',
    ...overrides,
  };
}

describe('report --html', () => {
  const html = renderReportHtml(data());

  it('has no script and no external resource; the CSP allows only its own style', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img|<link|<iframe|<object|@import|url\(/i);
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1]!;
    expect(csp).toBe(`default-src 'none'; style-src '${REPORT_STYLE_HASH}'; img-src 'none'; form-action 'none'; base-uri 'none'`);
    // The hash is the one <style> element's content: browsers apply it, and nothing else.
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)];
    expect(styles).toHaveLength(1);
    expect(`sha256-${createHash('sha256').update(styles[0]![1]!).digest('base64')}`).toBe(REPORT_STYLE_HASH);
    expect(html).not.toMatch(/\sstyle=/);
    // The only URLs: the SVG namespace and the dashboard links asked for.
    const urls = [...html.matchAll(/https?:\/\/[^"\s<]+/g)].map((m) => m[0]);
    expect(urls.every((u) => u === 'http://www.w3.org/2000/svg' || u.startsWith('http://127.0.0.1:8686/traces/'))).toBe(true);
  });

  it("shows an attacker's span name as text everywhere it appears (title, scope, tables, waterfall, assertions)", () => {
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain(HOSTILE);
    const escaped = escapeHtml(HOSTILE);
    expect(escaped).toBe('&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&quot;&#39;&amp;');
    // title, h1, scope, assertion name, select, evidence, waterfall tooltip (the label is cut short)
    expect(html.split(escaped).length - 1).toBe(7);
    expect(html).toContain(`${escapeHtml(`  orders: ${HOSTILE}`.slice(0, 55))}…</text>`);
    // No attribute value or tag is opened by span text: every `<` in the page starts a tag the template wrote.
    const tags = new Set([...html.matchAll(/<\/?([a-zA-Z!][\w-]*)/g)].map((m) => m[1]!.toLowerCase()));
    expect([...tags].sort()).toEqual(['!doctype', 'a', 'body', 'br', 'code', 'h1', 'h2', 'head', 'html', 'li', 'line', 'meta', 'p', 'rect', 'span', 'style', 'svg', 'table', 'td', 'text', 'th', 'title', 'tr', 'ul']);
  });

  it('lists traces by service, the failed traces and the assertion results, linking trace IDs to the dashboard', () => {
    expect(html).toContain('<tr><td>shop</td><td class="num">2</td><td class="num err">1</td></tr>');
    expect(html).toContain('<tr><td>orders</td><td class="num">1</td><td class="num err">1</td></tr>');
    expect(html).toContain('<h2>Errors: 1 trace</h2>');
    expect(html).toContain('<h2>Assertions: 0 passed, 1 failed</h2>');
    expect(html).toContain(`<a href="http://127.0.0.1:8686/traces/${T1.traceId}" rel="noreferrer">`);
    expect(renderReportHtml(data({ dashboardUrl: undefined }))).not.toContain('<a href');
  });

  it('draws the slowest traces as SVG bars on the trace axis, failed spans marked', () => {
    expect(html).toContain('<rect class="bar" x="360.0" y="4" width="540.0" height="11">');
    expect(html).toContain('<rect class="bar error" x="405.0" y="20" width="360.0" height="11">');
  });
});

describe('skeletonRows', () => {
  it('puts the spans in tree order with depths, children by start, orphans as roots', () => {
    const skeleton = {
      traceId: T1.traceId,
      startTimeUnixNano: '0',
      unitNs: 1000,
      services: ['shop', 'db'],
      names: ['GET /', 'load', 'SELECT', 'late'],
      statuses: ['Unset', 'Ok', 'Error'],
      spanId: ['a', 'b', 'c', 'd', 'e'],
      parent: [-1, 0, 1, 0, -2],
      start: [0, 10, 12, 50, 60],
      duration: [100, 30, 5, 20, 1],
      service: [0, 0, 1, 0, 0],
      name: [0, 1, 2, 1, 3],
      status: [0, 0, 2, 0, 0],
    } as unknown as SkeletonResponse;
    expect(skeletonRows(skeleton).map((r) => [r.depth, r.name, r.startNs, r.durationNs, r.error])).toEqual([
      [0, 'GET /', 0, 100_000, false],
      [1, 'load', 10_000, 30_000, false],
      [2, 'SELECT', 12_000, 5_000, true],
      [1, 'load', 50_000, 20_000, false],
      [0, 'late', 60_000, 1_000, false],
    ]);
  });
});

describe('the --assertions file', () => {
  const good = { results: [{ name: 'n', select: 's', expectation: 'e', passed: false, observed: 'o', matchedTraces: 1, evidence: [{ traceId: 'abc', durationNano: '12', errorCount: 1 }] }], scope: { traces: 1, spans: 1 }, window: { startUnixNano: '0', endUnixNano: '1' } };
  it('accepts what flowtrace assert --json-file writes and refuses what the report would crash on', () => {
    expect(isAssertAnswer(good)).toBe(true);
    const withResult = (r: Record<string, unknown>) => ({ ...good, results: [{ ...good.results[0], ...r }] });
    expect(isAssertAnswer(withResult({ name: 42 }))).toBe(false);
    expect(isAssertAnswer(withResult({ evidence: undefined }))).toBe(false);
    expect(isAssertAnswer(withResult({ evidence: [{ traceId: 'abc', durationNano: 'soon' }] }))).toBe(false);
    expect(isAssertAnswer(withResult({ evidence: [null] }))).toBe(false);
    expect(isAssertAnswer({ ...good, results: [null] })).toBe(false);
    expect(isAssertAnswer(null)).toBe(false);
  });
});
