/**
 * Flame graphs: many traces' spans merged into one call tree. A frame is (service, method) —
 * method as hotspots.ts names it (`code.namespace` + `code.function.name`, else the span name) —
 * and a node is a frame *along its path from the top*: the same method called from two places is
 * two nodes, the same method called 50 times under one parent (the N+1 shape) is one node with 50 calls.
 *
 * Per node: total time (sum of the calls' durations), self time (duration − the union of the
 * children's intervals clipped to the span: the definition of critical-path.ts `selfTimeOf` and of
 * the hotspots query), calls, errors, and an example trace (the one holding its longest call).
 *
 * Tops — spans without a parent in what the caller may read (roots, orphans, and the children of
 * a hidden service's span) — hang under one synthetic root `(all)`. Duplicated span IDs keep
 * the first occurrence's children; a parent cycle (bad data) is cut where the walk meets it.
 * Everything is iterative: method-level traces nest deeper than the call stack allows.
 *
 * Times are JavaScript numbers in nanoseconds: exact per span, and sums stay exact up to 2^53 ns
 * (104 days of summed time), beyond which they lose nanoseconds, not magnitude.
 */

/** One span, narrow: what the flame graph needs and nothing else (no attributes leave the engine). */
export interface FlameSpan {
  traceId: string;
  spanId: string;
  /** '' for a root. */
  parentSpanId: string;
  service: string;
  method: string;
  failed: boolean;
  /** Start in ns from any fixed origin shared by the spans of one trace. */
  startNs: number;
  durationNs: number;
}

/** One node of the merged call tree. */
export interface FlameNode {
  service: string;
  method: string;
  totalNs: number;
  selfNs: number;
  calls: number;
  errors: number;
  /** The trace holding this node's longest call ('' for the synthetic root and folded nodes). */
  exampleTraceId: string;
  /** Frames folded into this node: > 0 only for `(other)`. */
  folded: number;
  children: FlameNode[];
}

/** The flat, pre-order form the API answers: a parent always comes before its children. */
export interface FlatFlameNode extends Omit<FlameNode, 'children'> {
  /** Index of the parent in the list; -1 for the root. */
  parent: number;
  depth: number;
}

export const ROOT_METHOD = '(all)';
export const OTHER_METHOD = '(other)';

/** Merges the spans of any number of traces into one call tree under a synthetic root. */
export function mergeSpans(spans: readonly FlameSpan[]): FlameNode {
  const root = newNode('', ROOT_METHOD);
  const byTrace = new Map<string, number[]>();
  for (let i = 0; i < spans.length; i++) {
    const list = byTrace.get(spans[i]!.traceId);
    if (list) list.push(i);
    else byTrace.set(spans[i]!.traceId, [i]);
  }
  for (const [traceId, indices] of byTrace) mergeTrace(root, traceId, spans, indices);
  for (const top of root.children) root.totalNs += top.totalNs;
  root.calls = byTrace.size;
  return root;
}

function mergeTrace(root: FlameNode, traceId: string, spans: readonly FlameSpan[], indices: readonly number[]): void {
  const byId = new Map<string, number>();
  for (const i of indices) if (!byId.has(spans[i]!.spanId)) byId.set(spans[i]!.spanId, i);
  const childrenOf = new Map<number, number[]>();
  const tops: number[] = [];
  for (const i of indices) {
    const { parentSpanId, spanId } = spans[i]!;
    const parent = parentSpanId === '' || parentSpanId === spanId ? undefined : byId.get(parentSpanId);
    if (parent === undefined) tops.push(i);
    else {
      const list = childrenOf.get(parent);
      if (list) list.push(i);
      else childrenOf.set(parent, [i]);
    }
  }
  for (const list of childrenOf.values()) list.sort((a, b) => spans[a]!.startNs - spans[b]!.startNs);
  const visited = new Uint8Array(spans.length);
  const walk = (start: number) => {
    const stack: Array<[number, FlameNode]> = [[start, root]];
    visited[start] = 1;
    while (stack.length > 0) {
      const [i, parentNode] = stack.pop()!;
      const span = spans[i]!;
      const children = childrenOf.get(i) ?? [];
      const node = childOf(parentNode, span.service, span.method);
      node.totalNs += span.durationNs;
      node.selfNs += selfTime(span, children, spans);
      node.calls += 1;
      if (span.failed) node.errors += 1;
      if (node.exampleTraceId === '' || span.durationNs > (longest.get(node) ?? -1)) {
        longest.set(node, span.durationNs);
        node.exampleTraceId = traceId;
      }
      // Reversed onto the stack: children are visited (and new nodes created) earliest first.
      for (let k = children.length - 1; k >= 0; k--) {
        const c = children[k]!;
        if (visited[c]) continue;
        visited[c] = 1;
        stack.push([c, node]);
      }
    }
  };
  for (const top of tops) walk(top);
  // Whatever no top reached hangs in a parent cycle: cut it at its earliest span.
  const rest = indices.filter((i) => !visited[i]).sort((a, b) => spans[a]!.startNs - spans[b]!.startNs);
  for (const i of rest) if (!visited[i]) walk(i);
}

/** Longest call seen per node, for its example trace (kept off the node: it is not part of the answer). */
const longest = new WeakMap<FlameNode, number>();

/** Duration minus the union of the children's intervals clipped to the span; children sorted by start. */
export function selfTime(span: FlameSpan, children: readonly number[], spans: readonly FlameSpan[]): number {
  const spanEnd = span.startNs + span.durationNs;
  let covered = 0;
  let runStart = 0;
  let runEnd = 0;
  let open = false;
  for (const c of children) {
    const child = spans[c]!;
    const start = Math.max(child.startNs, span.startNs);
    const end = Math.min(child.startNs + child.durationNs, spanEnd);
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
  return span.durationNs - covered;
}

const childIndex = new WeakMap<FlameNode, Map<string, FlameNode>>();

function childOf(parent: FlameNode, service: string, method: string): FlameNode {
  let index = childIndex.get(parent);
  if (!index) childIndex.set(parent, (index = new Map()));
  const key = `${service}\u0000${method}`;
  let node = index.get(key);
  if (!node) {
    node = newNode(service, method);
    index.set(key, node);
    parent.children.push(node);
  }
  return node;
}

function newNode(service: string, method: string): FlameNode {
  return { service, method, totalNs: 0, selfNs: 0, calls: 0, errors: 0, exampleTraceId: '', folded: 0, children: [] };
}

/** Nodes in the tree, the root included. */
export function countNodes(root: FlameNode): number {
  let n = 0;
  const stack = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    n++;
    for (const c of node.children) stack.push(c);
  }
  return n;
}

/**
 * At most `maxNodes` nodes (≥ 2), in pre-order, children by service then method and `(other)`
 * last. Over the cap, the heaviest nodes are kept — greedily by total time from the root down,
 * so every kept node's parent is kept — and each kept node's dropped children are folded into
 * one `(other)` child whose total and self time are the dropped subtrees' total time (nothing
 * under it is shown, so all of it is its own), its calls the dropped frames' calls, `folded`
 * the number of nodes it stands for.
 */
export function flatten(root: FlameNode, maxNodes: number): FlatFlameNode[] {
  if (!(maxNodes >= 2)) throw new RangeError('maxNodes must be at least 2');
  const kept = keepHeaviest(root, maxNodes);
  const out: FlatFlameNode[] = [];
  const stack: Array<[FlameNode, number, number]> = [[root, -1, 0]];
  while (stack.length > 0) {
    const [node, parent, depth] = stack.pop()!;
    const index = out.length;
    const { children: _children, ...fields } = node;
    out.push({ ...fields, parent, depth });
    const shown = node.children.filter((c) => kept.has(c)).sort(byFrame);
    const dropped = node.children.filter((c) => !kept.has(c));
    const next: FlameNode[] = [...shown];
    if (dropped.length > 0) next.push(fold(dropped));
    for (let i = next.length - 1; i >= 0; i--) stack.push([next[i]!, index, depth + 1]);
  }
  return out;
}

/** The nodes kept under the cap, counting one `(other)` per kept node that loses a child. */
function keepHeaviest(root: FlameNode, maxNodes: number): Set<FlameNode> {
  const kept = new Set<FlameNode>([root]);
  const parentOf = new Map<FlameNode, FlameNode>();
  /** Kept node → children not kept yet. */
  const waiting = new Map<FlameNode, number>([[root, root.children.length]]);
  let used = 1 + (root.children.length > 0 ? 1 : 0);
  const heap = new MaxHeap<FlameNode>((a, b) => a.totalNs - b.totalNs);
  for (const c of root.children) {
    parentOf.set(c, root);
    heap.push(c);
  }
  while (heap.size > 0) {
    const node = heap.pop()!;
    const parent = parentOf.get(node)!;
    // Keeping it costs itself and its own (other) if it has children, and saves the parent's (other) if it was the last one waiting.
    const cost = 1 + (node.children.length > 0 ? 1 : 0) - (waiting.get(parent) === 1 ? 1 : 0);
    if (used + cost > maxNodes) break;
    used += cost;
    kept.add(node);
    waiting.set(parent, waiting.get(parent)! - 1);
    waiting.set(node, node.children.length);
    for (const c of node.children) {
      parentOf.set(c, node);
      heap.push(c);
    }
  }
  return kept;
}

function fold(dropped: readonly FlameNode[]): FlameNode {
  const other = newNode('', OTHER_METHOD);
  for (const d of dropped) {
    other.totalNs += d.totalNs;
    const stack = [d];
    while (stack.length > 0) {
      const node = stack.pop()!;
      other.calls += node.calls;
      other.errors += node.errors;
      other.folded += 1;
      for (const c of node.children) stack.push(c);
    }
  }
  other.selfNs = other.totalNs;
  return other;
}

function byFrame(a: FlameNode, b: FlameNode): number {
  return a.service < b.service ? -1 : a.service > b.service ? 1 : a.method < b.method ? -1 : a.method > b.method ? 1 : 0;
}

/** A binary max-heap: the node cap picks the heaviest of many thousands of candidates. */
class MaxHeap<T> {
  private readonly items: T[] = [];
  constructor(private readonly compare: (a: T, b: T) => number) {}

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (this.compare(items[i]!, items[up]!) <= 0) break;
      [items[i], items[up]] = [items[up]!, items[i]!];
      i = up;
    }
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < items.length && this.compare(items[l]!, items[best]!) > 0) best = l;
        if (r < items.length && this.compare(items[r]!, items[best]!) > 0) best = r;
        if (best === i) break;
        [items[i], items[best]] = [items[best]!, items[i]!];
        i = best;
      }
    }
    return top;
  }
}
