import type { SpanView } from '../query/span-view.js';
import { buildTree, mainTop, type SpanTree, type TreeNode } from './span-tree.js';

/**
 * Critical path and self time of one trace.
 *
 * The critical path is the chain of work the root span's end waited for, found the way
 * Jaeger UI finds it, walking back from the root's end: the child that finished last (before
 * the point reached so far) is what the parent waited for; the parent's own time after it is
 * on the path, then the walk descends into that child, and afterwards continues in the parent
 * from the child's start. Time where no child ran is the parent's own.
 *
 * - **Async children**: a child that ends after its parent (fire-and-forget, a producer's
 *   consumer, a client that timed out) is not waited for and stays off the path, as does any
 *   child starting after its parent ended. Their spans are listed in `asyncSpanIds`.
 * - **Fan-out**: of parallel children only the one finishing last is on the path, then the
 *   walk continues before its start (a sibling that overlaps that start is not waited for).
 * - **Clock skew**: pass spans already adjusted (`adjustClockSkew`); a child still starting
 *   before its parent is clipped to the parent's start.
 *
 * Self time is a span's duration minus the union of its children's intervals clipped to the
 * span (async children included: while they run, the span is not the one working).
 * Segments and self times are in nanoseconds; everything is computed iteratively, so a trace
 * nested thousands deep is fine.
 */

export interface PathSegment {
  spanId: string;
  serviceName: string;
  name: string;
  startNs: bigint;
  endNs: bigint;
  /** end - start: the time this segment adds to the end-to-end latency. */
  durationNs: bigint;
}

export interface SelfTime {
  spanId: string;
  serviceName: string;
  name: string;
  durationNs: bigint;
  selfNs: bigint;
  /** Time this span holds on the critical path (sum of its segments); 0 when off the path. */
  criticalNs: bigint;
}

export interface CriticalPath {
  /** The span latency is measured on: the longest root, or the longest orphan when no root is stored. */
  rootSpanId: string;
  /** The root's duration, which the segments add up to. */
  durationNs: bigint;
  /** Chronological; consecutive segments touch (each one starts where the previous ended). */
  segments: PathSegment[];
  /** Every span of the trace, most self time first (ties by span ID). */
  selfTimes: SelfTime[];
  /** Children that ended after (or started after) their parent: not on the path. */
  asyncSpanIds: string[];
}

/** The critical path and self times of a trace; undefined for a trace with no spans. */
export function criticalPath(spans: readonly SpanView[]): CriticalPath | undefined {
  const tree = buildTree(spans);
  return criticalPathOf(tree);
}

export function criticalPathOf(tree: SpanTree): CriticalPath | undefined {
  const root = mainTop(tree);
  if (!root) return undefined;
  const asyncIds = new Set<string>();
  for (const node of tree.nodes) if (node.parent && isAsync(node, node.parent)) asyncIds.add(node.span.spanId);

  const reversed: PathSegment[] = [];
  const emit = (node: TreeNode, startNs: bigint, endNs: bigint) => {
    if (endNs > startNs) reversed.push(segment(node, startNs, endNs));
  };
  // A frame per span being walked: `cursor` moves back from the span's end; `next` indexes its
  // awaited children sorted by end, latest first (the cursor only moves back, so neither does `next`).
  interface Frame {
    node: TreeNode;
    startNs: bigint;
    cursor: bigint;
    awaited: TreeNode[];
    next: number;
  }
  const frameOf = (node: TreeNode, startNs: bigint, endNs: bigint): Frame => ({
    node,
    startNs,
    cursor: endNs,
    awaited: node.children.filter((c) => !asyncIds.has(c.span.spanId)).sort(byEndDescending),
    next: 0,
  });
  const stack: Frame[] = [frameOf(root, root.startNs, root.endNs)];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    while (frame.next < frame.awaited.length && frame.awaited[frame.next]!.endNs > frame.cursor) frame.next++;
    const child = frame.next < frame.awaited.length ? frame.awaited[frame.next++] : undefined;
    if (!child) {
      emit(frame.node, frame.startNs, frame.cursor);
      stack.pop();
      continue;
    }
    const childStart = child.startNs < frame.startNs ? frame.startNs : child.startNs;
    emit(frame.node, child.endNs, frame.cursor);
    frame.cursor = childStart;
    stack.push(frameOf(child, childStart, child.endNs));
  }
  const segments = reversed.reverse();

  const critical = new Map<string, bigint>();
  for (const s of segments) critical.set(s.spanId, (critical.get(s.spanId) ?? 0n) + s.durationNs);
  const selfTimes = tree.nodes
    .map((node) => ({
      spanId: node.span.spanId,
      serviceName: node.span.serviceName,
      name: node.span.name,
      durationNs: node.endNs - node.startNs,
      selfNs: selfTimeOf(node),
      criticalNs: node === tree.byId.get(node.span.spanId) ? (critical.get(node.span.spanId) ?? 0n) : 0n,
    }))
    .sort((a, b) => (a.selfNs > b.selfNs ? -1 : a.selfNs < b.selfNs ? 1 : a.spanId.localeCompare(b.spanId)));
  return { rootSpanId: root.span.spanId, durationNs: root.endNs - root.startNs, segments, selfTimes, asyncSpanIds: [...asyncIds].sort() };
}

/** The parent did not wait for this child: it ended (or started) after the parent ended. */
function isAsync(child: TreeNode, parent: TreeNode): boolean {
  return child.endNs > parent.endNs || child.startNs > parent.endNs;
}

/** Duration minus the union of the children's intervals clipped to the span. */
export function selfTimeOf(node: TreeNode): bigint {
  let covered = 0n;
  let runStart = 0n;
  let runEnd = -1n;
  let open = false;
  // Children are sorted by start: one pass merges overlapping intervals.
  for (const child of node.children) {
    const start = child.startNs < node.startNs ? node.startNs : child.startNs;
    const end = child.endNs > node.endNs ? node.endNs : child.endNs;
    if (end <= start) continue;
    if (open && start <= runEnd) {
      if (end > runEnd) runEnd = end;
      continue;
    }
    if (open) covered += runEnd - runStart;
    runStart = start;
    runEnd = end;
    open = true;
  }
  if (open) covered += runEnd - runStart;
  return node.endNs - node.startNs - covered;
}

function segment(node: TreeNode, startNs: bigint, endNs: bigint): PathSegment {
  return { spanId: node.span.spanId, serviceName: node.span.serviceName, name: node.span.name, startNs, endNs, durationNs: endNs - startNs };
}

function byEndDescending(a: TreeNode, b: TreeNode): number {
  return a.endNs > b.endNs ? -1 : a.endNs < b.endNs ? 1 : a.startNs > b.startNs ? -1 : a.startNs < b.startNs ? 1 : 0;
}
