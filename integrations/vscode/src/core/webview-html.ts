/**
 * The waterfall webview's page, built in the extension from a WaterfallModel.
 *
 * Security: the Content-Security-Policy allows nothing by default — no network at all (no
 * `connect-src`, no remote script, style, image or frame) — and runs only the one inline
 * script and style element carrying this render's nonce. Every text from the trace (span and
 * service names, IDs) is HTML-escaped; bar positions are numbers the page formats itself; span
 * IDs are checked to be 16 hex digits before they go into an attribute. The page never asks
 * the collector anything: it posts `{type: 'openSource', spanId}` and the extension (which holds
 * the token) answers by opening the file, so the token never enters the webview.
 */
import { randomBytes } from 'node:crypto';
import type { WaterfallModel, WaterfallRow } from './waterfall.js';

export interface PageOptions {
  /** Fresh per render: `newNonce()`. */
  nonce: string;
}

/** 128 random bits, base64: a CSP nonce. */
export function newNonce(): string {
  return randomBytes(16).toString('base64');
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

export function contentSecurityPolicy(nonce: string): string {
  return [`default-src 'none'`, `style-src 'nonce-${nonce}'`, `script-src 'nonce-${nonce}'`, `base-uri 'none'`, `form-action 'none'`].join('; ');
}

/** A message the page may post; anything else is ignored by the extension. */
export interface OpenSourceMessage {
  type: 'openSource';
  spanId: string;
}

export function isOpenSourceMessage(value: unknown, knownSpanIds: ReadonlySet<string>): value is OpenSourceMessage {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as { type?: unknown; spanId?: unknown };
  return m.type === 'openSource' && typeof m.spanId === 'string' && /^[0-9a-f]{16}$/.test(m.spanId) && knownSpanIds.has(m.spanId);
}

function pct(n: number): string {
  return `${(Math.round(n * 1000) / 1000).toString()}%`;
}

function rowHtml(row: WaterfallRow, index: number): string {
  const classes = ['row', row.kind];
  if (row.error) classes.push('error');
  if (row.method) classes.push('method');
  const spanAttr = row.kind === 'span' && /^[0-9a-f]{16}$/.test(row.spanId) ? ` data-span="${row.spanId}" tabindex="0" title="Open the source of this span"` : '';
  const label = row.kind === 'group' ? `${row.label} ×${row.count}` : row.kind === 'missing-parent' ? `missing parent ${row.label}` : row.label;
  return (
    `<div class="${classes.join(' ')}" id="r${index}"${spanAttr}>` +
    `<span class="name d${Math.min(row.depth, 40)}">${escapeHtml(label)}</span>` +
    `<span class="service">${escapeHtml(row.service)}</span>` +
    `<span class="track"><span class="bar"></span></span>` +
    `<span class="duration">${escapeHtml(row.duration)}</span>` +
    `</div>`
  );
}

/** Per-row bar geometry as rules of the nonce'd style element (a CSP without 'unsafe-inline' refuses style attributes). */
function geometry(rows: readonly WaterfallRow[]): string {
  return rows.map((r, i) => `#r${i} .bar{margin-left:${pct(r.leftPct)};width:${pct(Math.max(r.widthPct, 0.15))}}`).join('\n');
}

const INDENTS = Array.from({ length: 41 }, (_, d) => `.d${d}{padding-left:${d * 12}px}`).join('');

const STYLE = `
body{font-family:var(--vscode-font-family);font-size:var(--vscode-font-size);color:var(--vscode-foreground);background:var(--vscode-editor-background);margin:0;padding:8px}
header{margin-bottom:8px}
header h1{font-size:1.1em;margin:0 0 4px}
header p{margin:0;opacity:.8}
.row{display:grid;grid-template-columns:minmax(200px,35%) 120px 1fr 80px;align-items:center;gap:8px;padding:1px 4px;white-space:nowrap}
.row[data-span]{cursor:pointer}
.row[data-span]:hover,.row[data-span]:focus{background:var(--vscode-list-hoverBackground);outline:none}
.name,.service{overflow:hidden;text-overflow:ellipsis}
.service{opacity:.7}
.method .name{font-style:italic}
.group .name,.missing-parent .name{opacity:.8}
.track{position:relative;height:10px}
.bar{display:block;height:10px;background:var(--vscode-charts-blue)}
.error .bar{background:var(--vscode-charts-red)}
.error .name{color:var(--vscode-errorForeground)}
.duration{text-align:right;font-variant-numeric:tabular-nums}
.note{margin-top:8px;opacity:.8}
${INDENTS}`;

/** Posts the span a row names; rows without `data-span` (groups, placeholders) do nothing. */
const SCRIPT = `
const vscode = acquireVsCodeApi();
function open(el) {
  const row = el.closest('[data-span]');
  if (row) vscode.postMessage({ type: 'openSource', spanId: row.getAttribute('data-span') });
}
document.addEventListener('click', (e) => open(e.target));
document.addEventListener('keydown', (e) => { if (e.key === 'Enter') open(e.target); });
`;

export function waterfallHtml(model: WaterfallModel, options: PageOptions): string {
  const { nonce } = options;
  if (!/^[A-Za-z0-9+/=]{16,}$/.test(nonce)) throw new Error('nonce: expected base64 of at least 12 random bytes');
  const hidden = model.hiddenSpanCount > 0 ? ` · ${model.hiddenSpanCount.toLocaleString('en-US')} spans hidden by your access` : '';
  const correlation = model.correlationId ? ` · correlation ID ${escapeHtml(model.correlationId)}` : '';
  const omitted = model.omittedRows > 0 ? `<p class="note">${model.omittedRows.toLocaleString('en-US')} more rows not shown: open the trace in the dashboard for all of them.</p>` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Trace ${escapeHtml(model.traceId)}</title>
<style nonce="${nonce}">${STYLE}
${geometry(model.rows)}</style>
</head>
<body>
<header>
<h1>Trace ${escapeHtml(model.traceId)}</h1>
<p>${model.spanCount.toLocaleString('en-US')} spans · ${escapeHtml(model.duration)} · ${model.services.map(escapeHtml).join(', ')}${hidden}${correlation}</p>
<p>Click a span (or focus it and press Enter) to open its source line.</p>
</header>
<main>
${model.rows.map(rowHtml).join('\n')}
</main>
${omitted}
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`;
}
