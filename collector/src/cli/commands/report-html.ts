/**
 * `flowtrace report --html`: a test run as one self-contained HTML file for a CI artefact —
 * traces by service, failed traces, the slowest traces each with a small waterfall, the
 * assertion results. No script at all, no external URL (fonts, images, styles); the one `<style>`
 * element is allowed by its hash in the page's Content-Security-Policy (no 'unsafe-inline'), and
 * the waterfalls are SVG whose geometry is attributes, not style. Every text from spans, files or
 * flags goes through `escapeHtml`, so a span named `<script>…` is shown, never run.
 */
import { createHash } from 'node:crypto';
import type { AssertAnswer } from '../../query/assert/spec.js';
import { formatNanos } from '../../query/assert/spec.js';
import type { TraceSummary } from '../../query/trace-store.js';
import { evidenceLines } from './assert-format.js';

/** One slow trace's spans for its waterfall: times in ns from the trace start. */
export interface WaterfallSpan {
  depth: number;
  service: string;
  name: string;
  startNs: number;
  durationNs: number;
  error: boolean;
}

export interface ReportData {
  title: string;
  generatedAt: Date;
  window: { start: Date; end: Date };
  scope?: string;
  /** Every trace of the run (as far as read: see `truncated`). */
  traces: TraceSummary[];
  truncated: boolean;
  slowest: Array<{ trace: TraceSummary; spans: WaterfallSpan[]; omittedSpans: number }>;
  assertions?: AssertAnswer;
  /** The dashboard's base URL (http or https): trace IDs link to `<base>/traces/<id>`. */
  dashboardUrl?: string;
}

/** Rows drawn per waterfall; the rest are counted under it. */
export const WATERFALL_MAX_ROWS = 60;
/** Failed traces listed. */
const MAX_ERROR_ROWS = 50;

const STYLE = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1f2328;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.meta{color:#59636e}table{border-collapse:collapse;margin:4px 0}th,td{text-align:left;padding:3px 10px 3px 0;vertical-align:top}
th{color:#59636e;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
code,.id{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
.pass{color:#1a7f37;font-weight:600}.fail{color:#cf222e;font-weight:600}.err{color:#cf222e}
.evidence{margin:2px 0 0 0;padding-left:18px;color:#59636e}svg{display:block;margin:4px 0 16px}
svg text{font:11px ui-monospace,Menlo,monospace;fill:#1f2328}svg .bar{fill:#54aeff}svg .bar.error{fill:#ff8182}svg .grid{stroke:#eaeef2}
`;

export const REPORT_STYLE_HASH = `sha256-${createHash('sha256').update(STYLE).digest('base64')}`;

export function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;');
}

export function renderReportHtml(data: ReportData): string {
  const e = escapeHtml;
  const sections = [
    `<h1>${e(data.title)}</h1>`,
    `<p class="meta">${e(`${data.traces.length}${data.truncated ? '+' : ''} traces, ${data.window.start.toISOString()} – ${data.window.end.toISOString()}`)}${
      data.scope ? ` · scope <code>${e(data.scope)}</code>` : ''
    } · generated ${e(data.generatedAt.toISOString())}</p>`,
  ];
  if (data.truncated) sections.push(`<p class="meta">Only the newest ${data.traces.length} traces were read; counts below cover those.</p>`);
  if (data.assertions) sections.push(assertionsSection(data.assertions, data));
  sections.push(servicesSection(data.traces));
  sections.push(errorsSection(data));
  sections.push(slowestSection(data));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src '${REPORT_STYLE_HASH}'; img-src 'none'; form-action 'none'; base-uri 'none'">
<meta name="referrer" content="no-referrer">
<title>${e(data.title)}</title>
<style>${STYLE}</style>
</head>
<body>
${sections.join('\n')}
</body>
</html>
`;
}

function traceLink(traceId: string, data: ReportData): string {
  const id = `<span class="id">${escapeHtml(traceId)}</span>`;
  if (!data.dashboardUrl || !/^[0-9a-f]{16,32}$/.test(traceId)) return id;
  return `<a href="${escapeHtml(`${data.dashboardUrl}/traces/${traceId}`)}" rel="noreferrer">${id}</a>`;
}

function assertionsSection(answer: AssertAnswer, data: ReportData): string {
  const failed = answer.results.filter((r) => !r.passed).length;
  const rows = answer.results.map((r) => {
    const status = r.passed ? '<span class="pass">PASS</span>' : '<span class="fail">FAIL</span>';
    const evidence = r.passed || r.evidence.length === 0 ? '' : `<ul class="evidence">${evidenceLines(r).map((line, i) => `<li>${traceLink(r.evidence[i]!.traceId, data)} ${escapeHtml(line.replace(/^trace \S+\s*/, ''))}</li>`).join('')}</ul>`;
    return `<tr><td>${status}</td><td>${escapeHtml(r.name)}<br><code>${escapeHtml(r.select)}</code></td><td>${escapeHtml(r.expectation)}</td><td>${escapeHtml(r.observed)}${evidence}</td></tr>`;
  });
  return `<h2>Assertions: ${answer.results.length - failed} passed, ${failed} failed</h2>
<table><tr><th></th><th>assertion</th><th>expected</th><th>observed</th></tr>
${rows.join('\n')}
</table>`;
}

function servicesSection(traces: TraceSummary[]): string {
  const by = new Map<string, { traces: number; errors: number }>();
  for (const t of traces) {
    for (const s of t.services) {
      const row = by.get(s) ?? { traces: 0, errors: 0 };
      row.traces++;
      if (t.errorCount > 0) row.errors++;
      by.set(s, row);
    }
  }
  const rows = [...by.entries()].sort((a, b) => b[1].traces - a[1].traces || a[0].localeCompare(b[0]));
  if (rows.length === 0) return '<h2>Traces by service</h2>\n<p>No trace in the window.</p>';
  return `<h2>Traces by service</h2>
<table><tr><th>service</th><th>traces</th><th>with errors</th></tr>
${rows.map(([s, r]) => `<tr><td>${escapeHtml(s)}</td><td class="num">${r.traces}</td><td class="num${r.errors > 0 ? ' err' : ''}">${r.errors}</td></tr>`).join('\n')}
</table>`;
}

function errorsSection(data: ReportData): string {
  const failed = data.traces.filter((t) => t.errorCount > 0);
  if (failed.length === 0) return '<h2>Errors</h2>\n<p>No trace with an error span.</p>';
  const rows = failed.slice(0, MAX_ERROR_ROWS).map((t) => `<tr><td>${traceLink(t.traceId, data)}</td><td>${escapeHtml(`${t.rootServiceName}: ${t.rootSpanName}`)}</td><td class="num err">${t.errorCount}</td><td class="num">${escapeHtml(formatNanos(BigInt(t.durationNano)))}</td></tr>`);
  return `<h2>Errors: ${failed.length} trace${failed.length === 1 ? '' : 's'}</h2>
<table><tr><th>trace</th><th>root</th><th>error spans</th><th>duration</th></tr>
${rows.join('\n')}
</table>${failed.length > MAX_ERROR_ROWS ? `<p class="meta">and ${failed.length - MAX_ERROR_ROWS} more</p>` : ''}`;
}

function slowestSection(data: ReportData): string {
  if (data.slowest.length === 0) return '';
  const parts = data.slowest.map(({ trace, spans, omittedSpans }) => {
    const head = `<p>${traceLink(trace.traceId, data)} ${escapeHtml(`${trace.rootServiceName}: ${trace.rootSpanName}`)} · ${escapeHtml(formatNanos(BigInt(trace.durationNano)))} · ${trace.spanCount} spans</p>`;
    return head + waterfallSvg(spans, Number(trace.durationNano)) + (omittedSpans > 0 ? `<p class="meta">${omittedSpans} more spans not drawn</p>` : '');
  });
  return `<h2>Slowest traces</h2>\n${parts.join('\n')}`;
}

/** A waterfall as SVG: a label column and a bar per span on the trace's time axis. */
export function waterfallSvg(spans: WaterfallSpan[], traceNs: number): string {
  const row = 16;
  const labelWidth = 360;
  const barsWidth = 540;
  const width = labelWidth + barsWidth;
  const height = spans.length * row + 4;
  const total = Math.max(traceNs, ...spans.map((s) => s.startNs + s.durationNs), 1);
  const rows = spans.map((s, i) => {
    const y = i * row + 2;
    const x = labelWidth + (s.startNs / total) * barsWidth;
    const w = Math.max(1, (s.durationNs / total) * barsWidth);
    const label = `${'  '.repeat(Math.min(s.depth, 12))}${s.service}: ${s.name}`;
    const shown = label.length > 56 ? `${label.slice(0, 55)}…` : label;
    return `<text x="2" y="${y + 11}" xml:space="preserve">${escapeHtml(shown)}</text><rect class="bar${s.error ? ' error' : ''}" x="${x.toFixed(1)}" y="${y + 2}" width="${w.toFixed(1)}" height="${row - 5}"><title>${escapeHtml(`${s.service}: ${s.name} — ${formatNanos(BigInt(Math.round(s.durationNs)))}${s.error ? ' (error)' : ''}`)}</title></rect>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img"><line class="grid" x1="${labelWidth}" y1="0" x2="${labelWidth}" y2="${height}"/>${rows.join('')}</svg>`;
}
