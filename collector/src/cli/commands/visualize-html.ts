import { createHash } from 'node:crypto';
import { selfTimeOf } from '../../analysis/critical-path.js';
import { methodOf, type TreeNode } from '../../analysis/span-tree.js';
import type { SpanView } from '../../query/span-view.js';
import { formatDuration } from '../format.js';
import { serviceIndex, spansInTreeOrder } from './waterfall-format.js';

/**
 * One trace as a self-contained HTML page: a waterfall (a row per span, service colours,
 * bars on a shared axis, collapsible subtrees) and a flame graph of self time by method.
 * No external URL of any kind: CSS and JS inline, the data embedded as JSON in a
 * `<script type="application/json">` with every `<` written `\u003c` (and U+2028/U+2029
 * escaped), so no span text can close the script element; the page's script only ever
 * sets text with `textContent`, never HTML. The page's Content-Security-Policy allows no
 * network access at all and runs only the one script whose hash it names.
 */

/** One waterfall row, in tree order. Times are ns from the trace's start (numbers: exact below 104 days). */
export interface PageSpan {
  id: string;
  parent: string;
  depth: number;
  name: string;
  service: string;
  kind: string;
  start: number;
  duration: number;
  self: number;
  error: boolean;
  statusMessage: string;
  method: string;
  /** How many rows below it (its subtree), for collapsing. */
  below: number;
}

/** A flame-graph frame: a method reached along one stack of methods; `total` = self of it and everything below. */
export interface Frame {
  name: string;
  self: number;
  total: number;
  children: Frame[];
}

export interface PageData {
  traceId: string;
  durationNano: number;
  services: string[];
  spans: PageSpan[];
  flame: Frame;
}

/** The label of a span in the flame graph: its method, else `service: span name`. */
function frameName(span: SpanView): string {
  return methodOf(span) || `${span.serviceName}: ${span.name}`;
}

export function pageData(traceId: string, spans: readonly SpanView[]): PageData {
  const nodes = spansInTreeOrder(spans);
  let t0 = nodes[0]!.startNs;
  let t1 = nodes[0]!.endNs;
  for (const n of nodes) {
    if (n.startNs < t0) t0 = n.startNs;
    if (n.endNs > t1) t1 = n.endNs;
  }
  const sizes = subtreeSizes(nodes);
  const rows = nodes.map((n) => ({
    id: n.span.spanId,
    parent: n.span.parentSpanId,
    depth: n.depth,
    name: n.span.name,
    service: n.span.serviceName,
    kind: n.span.kind,
    start: Number(n.startNs - t0),
    duration: Number(n.endNs - n.startNs),
    self: Number(selfTimeOf(n)),
    error: n.span.status.code === 'Error',
    statusMessage: n.span.status.message,
    method: methodOf(n.span),
    below: sizes.get(n)! - 1,
  }));
  return { traceId, durationNano: Number(t1 - t0), services: [...serviceIndex(nodes).keys()], spans: rows, flame: flameOf(nodes) };
}

function subtreeSizes(nodesInTreeOrder: readonly TreeNode[]): Map<TreeNode, number> {
  const sizes = new Map<TreeNode, number>();
  // Children come after their parent in tree order: sum bottom-up by walking backwards.
  for (let i = nodesInTreeOrder.length - 1; i >= 0; i--) {
    const n = nodesInTreeOrder[i]!;
    sizes.set(n, 1 + n.children.reduce((sum, c) => sum + (sizes.get(c) ?? 0), 0));
  }
  return sizes;
}

/**
 * Self time merged by stack of method names from the tops down: spans with the same name
 * under the same stack are one frame (their calls in a loop add up). Iterative, as method
 * traces nest deep.
 */
export function flameOf(nodesInTreeOrder: readonly TreeNode[]): Frame {
  const root: Frame = { name: 'all', self: 0, total: 0, children: [] };
  const frameOf = new Map<TreeNode, Frame>();
  for (const n of nodesInTreeOrder) {
    const parentFrame = (n.parent && frameOf.get(n.parent)) || root;
    const name = frameName(n.span);
    let frame = parentFrame.children.find((f) => f.name === name);
    if (!frame) {
      frame = { name, self: 0, total: 0, children: [] };
      parentFrame.children.push(frame);
    }
    frame.self += Number(selfTimeOf(n));
    frameOf.set(n, frame);
  }
  totalsIterative(root);
  return root;
}

/** Fills `total` bottom-up without recursion. */
function totalsIterative(root: Frame): void {
  const order: Frame[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const f = stack.pop()!;
    order.push(f);
    stack.push(...f.children);
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const f = order[i]!;
    f.total = f.self + f.children.reduce((s, c) => s + c.total, 0);
    f.children.sort((a, b) => b.total - a.total);
  }
}

/** JSON safe inside a `<script>` element: no `<` (so no `</script>` or `<!--`), no JS line terminators. */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function renderTraceHtml(traceId: string, spans: readonly SpanView[]): string {
  const data = pageData(traceId, spans);
  const title = `Trace ${traceId} · ${spans.length} spans · ${formatDuration(BigInt(data.durationNano))}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src '${SCRIPT_HASH}'">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<div id="legend"></div>
<h2>Waterfall</h2>
<div id="waterfall"></div>
<h2>Flame graph: self time by method</h2>
<p class="hint">Width is time spent in a method and what it called; frames of the same method under the same callers are merged. Hover for self and total time.</p>
<div id="flame"></div>
<script type="application/json" id="trace-data">${scriptSafeJson(data)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

const STYLE = `
body { font: 13px/1.4 system-ui, sans-serif; margin: 16px; color: #1d1d1f; background: #fff; }
h1 { font-size: 16px; } h2 { font-size: 14px; margin-top: 24px; }
.hint { color: #666; margin: 4px 0 8px; }
#legend span { display: inline-block; margin-right: 12px; }
#legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; }
.row { display: flex; align-items: center; height: 20px; border-bottom: 1px solid #f0f0f0; }
.row:hover { background: #f6f8fa; }
.label { width: 38%; min-width: 200px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.toggle { display: inline-block; width: 14px; cursor: pointer; user-select: none; color: #555; }
.svc { color: #777; margin-left: 6px; }
.track { position: relative; flex: 1; height: 12px; }
.bar { position: absolute; height: 12px; min-width: 1px; border-radius: 2px; }
.bar.error { outline: 2px solid #d00; }
.dur { width: 80px; text-align: right; font-variant-numeric: tabular-nums; color: #444; }
.frame { position: absolute; height: 18px; overflow: hidden; white-space: nowrap; font-size: 11px; line-height: 18px; padding-left: 3px; box-sizing: border-box; border: 1px solid #fff; cursor: default; }
#flame { position: relative; }
`;

/** The page's script: reads the embedded JSON and builds the DOM with textContent only. */
const SCRIPT = `
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('trace-data').textContent);
  function colour(i) { return 'hsl(' + ((i * 137) % 360) + ', 55%, 55%)'; }
  var serviceColour = {};
  data.services.forEach(function (s, i) { serviceColour[s] = colour(i); });
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function ms(ns) {
    if (ns < 1e3) return ns + 'ns';
    if (ns < 1e6) return (ns / 1e3).toFixed(1) + 'µs';
    if (ns < 1e9) return (ns / 1e6).toFixed(2) + 'ms';
    return (ns / 1e9).toFixed(2) + 's';
  }
  var legend = document.getElementById('legend');
  data.services.forEach(function (s) {
    var item = el('span');
    var swatch = el('i');
    swatch.style.background = serviceColour[s];
    item.appendChild(swatch);
    item.appendChild(document.createTextNode(s));
    legend.appendChild(item);
  });

  var total = Math.max(data.durationNano, 1);
  var waterfall = document.getElementById('waterfall');
  var rows = [];
  var collapsed = [];
  data.spans.forEach(function (s, i) {
    var row = el('div', 'row');
    var label = el('div', 'label');
    label.style.paddingLeft = (s.depth * 14) + 'px';
    var toggle = el('span', 'toggle', s.below > 0 ? '▾' : '');
    if (s.below > 0) toggle.addEventListener('click', function () { setCollapsed(i, !collapsed[i]); });
    label.appendChild(toggle);
    label.appendChild(document.createTextNode(s.name));
    label.appendChild(el('span', 'svc', s.service));
    label.title = s.name + ' [' + s.service + ' · ' + s.kind + ']' + (s.method ? '\\n' + s.method : '') + (s.error ? '\\nerror: ' + s.statusMessage : '');
    var track = el('div', 'track');
    var bar = el('div', 'bar' + (s.error ? ' error' : ''));
    bar.style.left = (100 * s.start / total) + '%';
    bar.style.width = (100 * s.duration / total) + '%';
    bar.style.background = serviceColour[s.service];
    bar.title = ms(s.duration) + ' (self ' + ms(s.self) + ') at +' + ms(s.start);
    track.appendChild(bar);
    row.appendChild(label);
    row.appendChild(track);
    row.appendChild(el('div', 'dur', ms(s.duration)));
    waterfall.appendChild(row);
    rows.push({ row: row, toggle: toggle });
    collapsed.push(false);
  });
  /** Rows are in tree order: a span's subtree is the next \`below\` rows. */
  function setCollapsed(i, value) {
    collapsed[i] = value;
    rows[i].toggle.textContent = value ? '▸' : '▾';
    var end = i + data.spans[i].below;
    for (var j = i + 1; j <= end; j++) {
      rows[j].row.style.display = 'none';
    }
    if (!value) {
      for (var k = i + 1; k <= end; k++) {
        rows[k].row.style.display = '';
        if (collapsed[k]) k += data.spans[k].below;
      }
    }
  }

  var flame = document.getElementById('flame');
  var frameHeight = 20;
  var maxDepth = 0;
  var stack = [{ frame: data.flame, x: 0, depth: 0 }];
  var rootTotal = Math.max(data.flame.total, 1);
  var hue = {};
  var hues = 0;
  while (stack.length > 0) {
    var item = stack.pop();
    var f = item.frame;
    var width = 100 * f.total / rootTotal;
    if (width > 0) {
      var box = el('div', 'frame', f.name);
      box.style.left = item.x + '%';
      box.style.width = width + '%';
      box.style.top = (item.depth * frameHeight) + 'px';
      if (hue[f.name] === undefined) hue[f.name] = (hues++ * 47) % 60;
      box.style.background = item.depth === 0 ? '#ddd' : 'hsl(' + (10 + hue[f.name]) + ', 80%, ' + (60 + (item.depth % 3) * 5) + '%)';
      box.title = f.name + '\\nself ' + ms(f.self) + ', total ' + ms(f.total) + ' (' + (100 * f.total / rootTotal).toFixed(1) + '%)';
      flame.appendChild(box);
      if (item.depth > maxDepth) maxDepth = item.depth;
    }
    var x = item.x;
    f.children.forEach(function (c) {
      stack.push({ frame: c, x: x, depth: item.depth + 1 });
      x += 100 * c.total / rootTotal;
    });
  }
  flame.style.height = ((maxDepth + 1) * frameHeight) + 'px';
})();
`;

/** The CSP source for the page's one script: nothing else on the page may run. */
export const SCRIPT_HASH = `sha256-${createHash('sha256').update(SCRIPT).digest('base64')}`;
