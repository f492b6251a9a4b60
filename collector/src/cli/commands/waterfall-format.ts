import { buildTree, descendants, type TreeNode } from '../../analysis/span-tree.js';
import type { SpanView } from '../../query/span-view.js';
import { formatDuration } from '../format.js';
import type { Paint } from './terminal.js';

/** Narrowest waterfall drawn: below it the bars say nothing. */
export const MIN_WIDTH = 40;

/** The trace's spans depth-first in start order (tops: roots first, then orphans), with their depth. */
export function spansInTreeOrder(spans: readonly SpanView[]): TreeNode[] {
  return buildTree(spans).tops.flatMap(descendants);
}

/** Services in order of first appearance, for stable colours. */
export function serviceIndex(nodes: readonly TreeNode[]): Map<string, number> {
  const index = new Map<string, number>();
  for (const n of nodes) if (!index.has(n.span.serviceName)) index.set(n.span.serviceName, index.size);
  return index;
}

/**
 * The trace as a waterfall `width` columns wide: per span a label (indented by depth, cut to
 * fit), a bar on the trace's shared time axis, and its duration. Every span gets at least one
 * bar cell, so short ones stay visible.
 */
export function formatWaterfall(traceId: string, spans: readonly SpanView[], width: number, paint: Paint): string {
  const nodes = spansInTreeOrder(spans);
  const services = serviceIndex(nodes);
  let t0 = nodes[0]!.startNs;
  let t1 = nodes[0]!.endNs;
  for (const n of nodes) {
    if (n.startNs < t0) t0 = n.startNs;
    if (n.endNs > t1) t1 = n.endNs;
  }
  const total = t1 - t0 > 0n ? t1 - t0 : 1n;
  const w = Math.max(width, MIN_WIDTH);
  const durationWidth = 9;
  const labelWidth = Math.floor((w - durationWidth - 3) * 0.4);
  const barWidth = w - labelWidth - durationWidth - 3;
  const lines = [paint.bold(`trace ${traceId}`) + `  ${nodes.length} spans · ${services.size} services · ${formatDuration(t1 - t0)}`];
  lines.push(`${' '.repeat(labelWidth)} ${axis(barWidth, t1 - t0)}`);
  for (const n of nodes) {
    const label = fit(`${'  '.repeat(n.depth)}${n.span.name} [${n.span.serviceName}]`, labelWidth);
    const from = Math.min(barWidth - 1, Number(((n.startNs - t0) * BigInt(barWidth)) / total));
    const to = Math.max(from + 1, Math.min(barWidth, Number(((n.endNs - t0) * BigInt(barWidth) + total - 1n) / total)));
    const failed = n.span.status.code === 'Error';
    const bar = paint.pick(services.get(n.span.serviceName)!, (failed ? '▓' : '█').repeat(to - from));
    const duration = formatDuration(n.endNs - n.startNs).padStart(durationWidth);
    lines.push(`${label} ${' '.repeat(from)}${bar}${' '.repeat(barWidth - to)} ${failed ? paint.red(duration) : duration}`);
  }
  lines.push(paint.dim(`services: ${[...services.keys()].map((s) => paint.pick(services.get(s)!, '█') + ' ' + s).join('  ')}${nodes.some((n) => n.span.status.code === 'Error') ? '  ▓ failed' : ''}`));
  return lines.join('\n') + '\n';
}

/** `0` at the left and the trace's duration at the right, `width` columns. */
function axis(width: number, total: bigint): string {
  const end = formatDuration(total);
  return `0${' '.repeat(Math.max(1, width - 1 - end.length))}${end}`;
}

/** Padded or cut (with …) to exactly `width` columns. */
function fit(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text + ' '.repeat(width - chars.length) : chars.slice(0, width - 1).join('') + '…';
}
