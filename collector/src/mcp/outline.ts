import { buildTree, isError, type TreeNode } from '../analysis/span-tree.js';
import { selfTimeOf } from '../analysis/critical-path.js';
import type { SpanView } from '../query/span-view.js';
import { formatDuration, word } from './format.js';
import { ToolInputError } from './paging.js';

/**
 * A trace as a flat, depth-first outline: one line per span, indented by depth, with its path
 * (1-based positions among its siblings, `1.3.2`), service, name, duration, self time, error
 * mark and span ID (what get_span takes). Consecutive sibling leaves with the same service and
 * name (an N+1 loop, a batch) are merged into one aggregate line, so a 10,000-span trace made
 * of repeated calls reads as a few lines; the caller pages the lines under its budget.
 */

/** Consecutive same-named sibling leaves merged from this many on. */
export const MERGE_MIN_SIBLINGS = 3;
/** Indentation stops growing here; deeper lines show their depth in the path. */
const MAX_INDENT = 16;
/** Paths longer than this show their first 2 and last 3 positions. */
const MAX_PATH_SEGMENTS = 6;

export interface OutlineOptions {
  /** Outline only the subtree under this span. */
  rootSpanId?: string;
  /** Depth below the outline's top(s) beyond which spans are counted on their ancestor's line, not listed. */
  maxDepth?: number;
}

export interface Outline {
  /** Trace-level aggregates, repeated on every page. */
  header: string[];
  lines: string[];
}

interface Stats {
  /** Spans below the node (itself excluded). */
  below: number;
  errorsBelow: number;
}

export function traceOutline(traceId: string, spans: readonly SpanView[], options: OutlineOptions = {}): Outline {
  const tree = buildTree(spans);
  let tops = tree.tops;
  if (options.rootSpanId !== undefined) {
    const root = tree.byId.get(options.rootSpanId);
    if (!root) throw new ToolInputError(`span ${options.rootSpanId} is not in trace ${traceId} (or your token may not read it); take span IDs from trace_outline lines (#…)`);
    tops = [root];
  }
  const stats = subtreeStats(tops);
  const topDepth = tops.length > 0 ? Math.min(...tops.map((t) => t.depth)) : 0;
  const lines: string[] = [];
  const stack: Array<{ nodes: TreeNode[]; path: number[] }> = [];
  const push = (siblings: readonly TreeNode[], parentPath: number[]) => {
    const items: Array<{ nodes: TreeNode[]; path: number[] }> = [];
    for (let i = 0; i < siblings.length; ) {
      let j = i + 1;
      const first = siblings[i]!;
      if (first.children.length === 0) {
        while (j < siblings.length && sameLeaf(first, siblings[j]!)) j++;
        if (j - i < MERGE_MIN_SIBLINGS) j = i + 1;
      }
      items.push({ nodes: siblings.slice(i, j), path: [...parentPath, i + 1] });
      i = j;
    }
    for (let k = items.length - 1; k >= 0; k--) stack.push(items[k]!);
  };
  push(tops, []);
  while (stack.length > 0) {
    const item = stack.pop()!;
    const node = item.nodes[0]!;
    const depth = item.path.length - 1;
    const indent = ' '.repeat(Math.min(depth, MAX_INDENT));
    if (item.nodes.length > 1) {
      lines.push(indent + mergedLine(item.nodes, item.path));
      continue;
    }
    const hide = options.maxDepth !== undefined && depth >= options.maxDepth && node.children.length > 0;
    lines.push(indent + spanLine(node, item.path, hide ? stats.get(node) : undefined));
    if (!hide) push(node.children, item.path);
  }
  return { header: header(traceId, spans, tops, stats, topDepth, options), lines };
}

function sameLeaf(a: TreeNode, b: TreeNode): boolean {
  return b.children.length === 0 && a.span.serviceName === b.span.serviceName && a.span.name === b.span.name;
}

function pathText(path: readonly number[], last?: number): string {
  const segments = path.map(String);
  if (last !== undefined) segments[segments.length - 1] += `-${last}`;
  if (segments.length <= MAX_PATH_SEGMENTS) return segments.join('.');
  return `${segments.slice(0, 2).join('.')}.…${segments.length - 5}….${segments.slice(-3).join('.')}`;
}

function spanLine(node: TreeNode, path: readonly number[], hidden: Stats | undefined): string {
  const s = node.span;
  const parts = [pathText(path), word(s.serviceName), word(s.name), formatDuration(node.endNs - node.startNs), `self=${formatDuration(selfTimeOf(node))}`];
  if (isError(s)) parts.push('ERR');
  if (node.parent === undefined && s.parentSpanId !== '') parts.push('(orphan: parent not stored or not readable)');
  if (hidden) parts.push(`+${hidden.below} below${hidden.errorsBelow > 0 ? ` (${hidden.errorsBelow} ERR)` : ''}`);
  parts.push(`#${s.spanId}`);
  return parts.join(' ');
}

/** N same-named sibling leaves as one line: count, total and max duration, errors, first and last span IDs. */
function mergedLine(nodes: readonly TreeNode[], path: readonly number[]): string {
  const first = nodes[0]!.span;
  let total = 0n;
  let max = 0n;
  let errors = 0;
  for (const n of nodes) {
    const d = n.endNs - n.startNs;
    total += d;
    if (d > max) max = d;
    if (isError(n.span)) errors++;
  }
  const start = path[path.length - 1]!;
  const parts = [pathText(path, start + nodes.length - 1), `×${nodes.length}`, word(first.serviceName), word(first.name), `total=${formatDuration(total)}`, `max=${formatDuration(max)}`];
  if (errors > 0) parts.push(`ERR×${errors}`);
  parts.push(`#${first.spanId}..#${nodes[nodes.length - 1]!.span.spanId}`);
  return parts.join(' ');
}

/** Spans and errors below each node, computed bottom-up without recursion (traces nest deep). */
function subtreeStats(tops: readonly TreeNode[]): Map<TreeNode, Stats> {
  const order: TreeNode[] = [];
  const stack = [...tops];
  while (stack.length > 0) {
    const node = stack.pop()!;
    order.push(node);
    stack.push(...node.children);
  }
  const stats = new Map<TreeNode, Stats>();
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i]!;
    let below = 0;
    let errorsBelow = 0;
    for (const child of node.children) {
      const c = stats.get(child)!;
      below += 1 + c.below;
      errorsBelow += c.errorsBelow + (isError(child.span) ? 1 : 0);
    }
    stats.set(node, { below, errorsBelow });
  }
  return stats;
}

function header(traceId: string, spans: readonly SpanView[], tops: readonly TreeNode[], stats: Map<TreeNode, Stats>, topDepth: number, options: OutlineOptions): string[] {
  const shown = tops.reduce((n, t) => n + 1 + stats.get(t)!.below, 0);
  const services = new Map<string, number>();
  let errors = 0;
  let maxDepth = 0;
  let start: bigint | undefined;
  let end: bigint | undefined;
  for (const t of tops) {
    const stack = [t];
    while (stack.length > 0) {
      const n = stack.pop()!;
      services.set(n.span.serviceName, (services.get(n.span.serviceName) ?? 0) + 1);
      if (isError(n.span)) errors++;
      if (n.depth - topDepth > maxDepth) maxDepth = n.depth - topDepth;
      if (start === undefined || n.startNs < start) start = n.startNs;
      if (end === undefined || n.endNs > end) end = n.endNs;
      stack.push(...n.children);
    }
  }
  const serviceList = [...services].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([name, n]) => `${name}(${n})`);
  const scope = options.rootSpanId ? ` subtree of #${options.rootSpanId}:` : '';
  return [
    `# trace ${traceId}:${scope} ${shown} of ${spans.length} spans, ${tops.length} top span(s), duration ${formatDuration(start === undefined ? 0n : end! - start)}, ${errors} error span(s), max depth ${maxDepth}`,
    `# services (spans): ${serviceList.join(', ')}`,
    `# line: path service name duration self=<self time> [ERR] #span_id; "×N" merges N consecutive same-named sibling calls; "+N below" counts spans past maxDepth`,
  ];
}
