/**
 * What the flame views say beside the graph: the notes on what the answer left out (frames
 * folded into "(other)", traces skipped for the span budget), and the top frames as a table —
 * the accessible alternative to the canvas, and the quickest way to the hot method.
 */
import type { FlameTree } from './tree';

export interface FlameAnswerCounts {
  /** Nodes of the merged tree before the API's node cap, the root `(all)` included. */
  nodeCount: number;
  /** `GET /api/flame` only: matching traces left out to stay within the span budget. */
  skippedTraceCount?: number;
}

/** Frames the API folded into "(other)" stand-ins (each says how many it stands for). */
export function foldedFrames(tree: FlameTree): number {
  let folded = 0;
  for (const node of tree.nodes) folded += node.folded;
  return folded;
}

/** Plain sentences on what the graph does not show; empty when it shows everything. */
export function flameNotes(tree: FlameTree, counts: FlameAnswerCounts): string[] {
  const notes: string[] = [];
  const folded = foldedFrames(tree);
  if (folded > 0) {
    notes.push(
      `Truncated: the call tree has ${Math.max(0, counts.nodeCount - 1).toLocaleString('en')} frames; the ${folded.toLocaleString('en')} lightest are folded into "(other)" frames (their time is kept, their names are not).`,
    );
  }
  const skipped = counts.skippedTraceCount ?? 0;
  if (skipped > 0) {
    const them = skipped === 1 ? 'it' : 'them';
    notes.push(
      `${skipped.toLocaleString('en')} matching ${skipped === 1 ? 'trace was' : 'traces were'} skipped: merging ${them} would load more spans than one request may. Narrow the window, or filter by service or operation, to include ${them}.`,
    );
  }
  return notes;
}

export interface TopFrame {
  service: string;
  method: string;
  /** Self time summed over every node of this service and method. */
  selfNs: number;
  /** Total time, a node under another node of the same frame (recursion) counted once. */
  totalNs: number;
  calls: number;
  errors: number;
  /** The node with the most self time of this frame: where "zoom" goes. */
  node: number;
  /** Its example trace ('' when none). */
  exampleTraceId: string;
}

/** The `limit` frames (service + method) with the most self time; the root and "(other)" are left out. */
export function topFrames(tree: FlameTree, limit = 25): TopFrame[] {
  const byKey = new Map<string, TopFrame & { bestSelf: number }>();
  /** For each node, the keys of its ancestors that match its own (recursion): counted once in total. */
  const open = new Map<string, number>();
  // Pre-order walk with an explicit path, so "an ancestor has the same key" is a map lookup.
  const path: number[] = [];
  for (const node of tree.nodes) {
    while (path.length > 0 && path[path.length - 1] !== node.parent) {
      const left = tree.nodes[path.pop()!]!;
      const key = keyOf(left.service, left.method);
      const n = (open.get(key) ?? 1) - 1;
      if (n === 0) open.delete(key);
      else open.set(key, n);
    }
    path.push(node.index);
    const key = keyOf(node.service, node.method);
    const nested = open.has(key);
    open.set(key, (open.get(key) ?? 0) + 1);
    if (isSynthetic(node.index, node.method, node.service)) continue;
    let frame = byKey.get(key);
    if (!frame) {
      frame = { service: node.service, method: node.method, selfNs: 0, totalNs: 0, calls: 0, errors: 0, node: node.index, exampleTraceId: node.exampleTraceId, bestSelf: -1 };
      byKey.set(key, frame);
    }
    frame.selfNs += node.selfNs;
    if (!nested) frame.totalNs += node.totalNs;
    frame.calls += node.calls;
    frame.errors += node.errors;
    if (node.selfNs > frame.bestSelf) {
      frame.bestSelf = node.selfNs;
      frame.node = node.index;
      if (node.exampleTraceId !== '') frame.exampleTraceId = node.exampleTraceId;
    }
  }
  return [...byKey.values()]
    .sort((a, b) => b.selfNs - a.selfNs || b.totalNs - a.totalNs || a.method.localeCompare(b.method))
    .slice(0, limit)
    .map(({ bestSelf: _bestSelf, ...frame }) => frame);
}

/** The root `(all)` and the folded `(other)` stand-ins are not frames of any service. */
export function isSynthetic(index: number, method: string, service: string): boolean {
  return index === 0 || (service === '' && method === '(other)');
}

function keyOf(service: string, method: string): string {
  return `${service}\u0000${method}`;
}
