import type { SpanView } from '../query/span-view.js';
import { buildTree, methodOf, type TreeNode } from './span-tree.js';

/**
 * Trace comparison. Spans are aligned by their path from the top of the trace: each step is
 * service + span name + method (`code.namespace`/`code.function.name`, when traced), so two
 * requests through the same code line up even though every ID and time differs; spans at one
 * path (a loop) are counted and their durations added. A trace can also be compared with the
 * typical shape of its operation: per path, the median count and duration over recent traces.
 */

/** Per path: how many spans and their total duration (ns). */
export interface PathStats {
  count: number;
  totalNs: bigint;
}

/** path → stats; paths in depth-first order of first appearance. */
export type TraceShape = Map<string, PathStats>;

export interface PathDiff {
  path: string;
  /** Steps from the top (0 for a top span). */
  depth: number;
  countA: number;
  countB: number;
  totalNsA: bigint;
  totalNsB: bigint;
  /** totalNsB - totalNsA. */
  deltaNs: bigint;
}

export interface MissingPath extends PathDiff {
  /** Paths below this one that are missing too (not listed separately). */
  pathsBelow: number;
}

export interface TraceComparison {
  a: { spanCount: number; durationNs: bigint };
  b: { spanCount: number; durationNs: bigint };
  /** The topmost paths only A has (a missing subtree is one entry), biggest first. */
  onlyInA: MissingPath[];
  onlyInB: MissingPath[];
  /** Paths in both whose count or duration differs, biggest duration change first. */
  changed: PathDiff[];
  /** Paths in both with the same count and duration. */
  unchangedPaths: number;
}

const STEP_SEPARATOR = ' > ';
/** The path of a span whose parent is not in the trace starts with this, so it never aligns with a root. */
const ORPHAN_MARK = '…';

/** One step of a path: service, span name and method when the span records one. */
function step(node: TreeNode): string {
  const method = methodOf(node.span);
  return `${node.span.serviceName}:${node.span.name}${method !== '' && method !== node.span.name ? `(${method})` : ''}`;
}

/** The shape of one trace: every span's path, counted. */
export function shapeOf(spans: readonly SpanView[]): TraceShape {
  const tree = buildTree(spans);
  const shape: TraceShape = new Map();
  const stack: Array<{ node: TreeNode; prefix: string }> = tree.tops
    .slice()
    .reverse()
    .map((node) => ({ node, prefix: node.span.parentSpanId === '' ? '' : ORPHAN_MARK + STEP_SEPARATOR }));
  while (stack.length > 0) {
    const { node, prefix } = stack.pop()!;
    const path = prefix + step(node);
    const stats = shape.get(path) ?? { count: 0, totalNs: 0n };
    stats.count++;
    stats.totalNs += node.endNs - node.startNs;
    shape.set(path, stats);
    for (let i = node.children.length - 1; i >= 0; i--) stack.push({ node: node.children[i]!, prefix: path + STEP_SEPARATOR });
  }
  return shape;
}

/**
 * The typical shape of several traces of one operation: paths present in at least half of
 * them, each with the median count and median total duration (over the traces that have it).
 */
export function typicalShape(shapes: readonly TraceShape[]): TraceShape {
  const seen = new Map<string, PathStats[]>();
  for (const shape of shapes) for (const [path, stats] of shape) (seen.get(path) ?? seen.set(path, []).get(path)!).push(stats);
  const typical: TraceShape = new Map();
  for (const [path, all] of seen) {
    if (all.length * 2 < shapes.length) continue;
    typical.set(path, { count: Math.round(median(all.map((s) => s.count))), totalNs: medianBig(all.map((s) => s.totalNs)) });
  }
  return typical;
}

export function compareTraces(a: readonly SpanView[], b: readonly SpanView[]): TraceComparison {
  return compareShapes(shapeOf(a), shapeOf(b), { spanCount: a.length, durationNs: extent(a) }, { spanCount: b.length, durationNs: extent(b) });
}

export function compareShapes(a: TraceShape, b: TraceShape, sizeA: TraceComparison['a'], sizeB: TraceComparison['b']): TraceComparison {
  const changed: PathDiff[] = [];
  let unchangedPaths = 0;
  for (const [path, sa] of a) {
    const sb = b.get(path);
    if (!sb) continue;
    if (sa.count === sb.count && sa.totalNs === sb.totalNs) unchangedPaths++;
    else changed.push(diff(path, sa, sb));
  }
  changed.sort((x, y) => compareMagnitude(x.deltaNs, y.deltaNs) || x.path.localeCompare(y.path));
  return { a: sizeA, b: sizeB, onlyInA: missing(a, b, 'a'), onlyInB: missing(b, a, 'b'), changed, unchangedPaths };
}

/** Paths of `from` absent from `other`, grouped under the topmost missing one. */
function missing(from: TraceShape, other: TraceShape, side: 'a' | 'b'): MissingPath[] {
  const tops = new Map<string, MissingPath>();
  for (const [path, stats] of from) {
    if (other.has(path)) continue;
    const top = topmostMissing(path, other);
    const entry = tops.get(top);
    if (entry) {
      entry.pathsBelow++;
      continue;
    }
    const empty = { count: 0, totalNs: 0n };
    const d = side === 'a' ? diff(top, from.get(top) ?? stats, empty) : diff(top, empty, from.get(top) ?? stats);
    tops.set(top, { ...d, pathsBelow: top === path ? 0 : 1 });
  }
  return [...tops.values()].sort((x, y) => compareMagnitude(x.deltaNs, y.deltaNs) || x.path.localeCompare(y.path));
}

/** The shortest prefix of `path` that `other` lacks (paths are built parent first, so it exists in `from`). */
function topmostMissing(path: string, other: TraceShape): string {
  const steps = path.split(STEP_SEPARATOR);
  for (let i = 1; i <= steps.length; i++) {
    const prefix = steps.slice(0, i).join(STEP_SEPARATOR);
    if (prefix !== ORPHAN_MARK && !other.has(prefix)) return prefix;
  }
  return path;
}

function diff(path: string, a: PathStats, b: PathStats): PathDiff {
  return { path, depth: path.split(STEP_SEPARATOR).length - 1, countA: a.count, countB: b.count, totalNsA: a.totalNs, totalNsB: b.totalNs, deltaNs: b.totalNs - a.totalNs };
}

/** The trace's extent: first start to last end. */
function extent(spans: readonly SpanView[]): bigint {
  if (spans.length === 0) return 0n;
  let first = BigInt(spans[0]!.startTimeUnixNano);
  let last = first;
  for (const s of spans) {
    const start = BigInt(s.startTimeUnixNano);
    const end = start + BigInt(s.durationNano);
    if (start < first) first = start;
    if (end > last) last = end;
  }
  return last - first;
}

/** Bigger absolute value first. */
function compareMagnitude(x: bigint, y: bigint): number {
  const ax = x < 0n ? -x : x;
  const ay = y < 0n ? -y : y;
  return ax > ay ? -1 : ax < ay ? 1 : 0;
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function medianBig(values: bigint[]): bigint {
  const sorted = [...values].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2n;
}
