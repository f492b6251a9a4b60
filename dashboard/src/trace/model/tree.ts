import type { TraceData } from './skeleton.js';

/**
 * A trace as a forest over node numbers: `0 … size-1` are the spans (skeleton order), `size …
 * nodeCount-1` one synthetic "missing parent" node per parent ID that is not in the trace, so
 * that orphans are shown under a placeholder, never hidden. Everything is built in O(n) with
 * flat arrays (no object per span) and iteratively (method-level traces nest deeper than the stack).
 */
export interface TraceTree {
  data: TraceData;
  /** Spans plus missing-parent placeholders. */
  nodeCount: number;
  /** Parent node, -1 for a top. */
  parent: Int32Array;
  /** Children of node v: childList[childStart[v] … childStart[v+1]-1], earliest start first. */
  childStart: Int32Array;
  childList: Int32Array;
  /** Depth from its top (0). */
  depth: Int32Array;
  /** Every node in display order (depth-first, children by start): the fully expanded list. */
  preorder: Int32Array;
  /** Node → its index in `preorder`. */
  position: Int32Array;
  /** Preorder index just past the node's last descendant: its subtree is preorder[position … subtreeEnd-1]. */
  subtreeEnd: Int32Array;
  /** Tops: true roots first, then placeholders, then spans cut out of a parent cycle; each group by start. */
  tops: Int32Array;
  /** Node start / end in ns relative to the trace start; a placeholder spans its orphans. */
  startNs: Float64Array;
  endNs: Float64Array;
  completeness: Completeness;
}

export interface MissingParent {
  parentSpanId: string;
  /** The placeholder's node number. */
  node: number;
  /** Spans whose parent this is. */
  orphans: number;
}

export interface Completeness {
  complete: boolean;
  spanCount: number;
  rootCount: number;
  orphanCount: number;
  missingParents: MissingParent[];
  /** Spans the caller's read rules hide: their children show up as orphans. */
  hiddenSpanCount: number;
  /** Spans whose parent chain looped back (bad data): cut out as tops. */
  cycleCuts: number;
  /** One sentence per problem, for the banner. */
  messages: string[];
}

export const isPlaceholder = (tree: TraceTree, node: number): boolean => node >= tree.data.size;

export function buildTree(data: TraceData): TraceTree {
  const n = data.size;
  const m = data.missingParentIds.length;
  const total = n + m;
  const parent = new Int32Array(total).fill(-1);
  for (let i = 0; i < n; i++) {
    const p = data.parent[i]!;
    parent[i] = p >= 0 ? (p === i ? -1 : p) : p === -1 ? -1 : n + (-2 - p);
  }
  const cycleCuts = cutCycles(parent, n);

  // Children in CSR form; filling in node order keeps skeleton (start) order.
  const childStart = new Int32Array(total + 1);
  for (let v = 0; v < total; v++) if (parent[v]! >= 0) childStart[parent[v]! + 1]++;
  for (let v = 0; v < total; v++) childStart[v + 1] += childStart[v]!;
  const fill = childStart.slice(0, total);
  const childList = new Int32Array(childStart[total]!);
  for (let v = 0; v < total; v++) if (parent[v]! >= 0) childList[fill[parent[v]!]++] = v;

  const startNs = new Float64Array(total);
  const endNs = new Float64Array(total);
  startNs.set(data.startNs);
  endNs.set(data.endNs);
  for (let k = 0; k < m; k++) {
    const v = n + k;
    let s = Infinity;
    let e = -Infinity;
    for (let c = childStart[v]!; c < childStart[v + 1]!; c++) {
      const child = childList[c]!;
      if (startNs[child]! < s) s = startNs[child]!;
      if (endNs[child]! > e) e = endNs[child]!;
    }
    startNs[v] = s === Infinity ? 0 : s;
    endNs[v] = e === -Infinity ? 0 : e;
  }
  // Clock-skew adjusted times may no longer follow the stored order: re-sort only such lists.
  for (let v = 0; v < total; v++) sortIfNeeded(childList, childStart[v]!, childStart[v + 1]!, startNs);

  const roots: number[] = [];
  const placeholders: number[] = [];
  const cut: number[] = [];
  for (let v = 0; v < total; v++) {
    if (parent[v] !== -1) continue;
    if (v >= n) placeholders.push(v);
    else if (data.parent[v] === -1) roots.push(v);
    else cut.push(v);
  }
  const byStart = (a: number, b: number) => startNs[a]! - startNs[b]! || a - b;
  placeholders.sort(byStart);
  const tops = Int32Array.from([...roots, ...placeholders, ...cut]);

  const depth = new Int32Array(total);
  const preorder = new Int32Array(total);
  const position = new Int32Array(total);
  const subtreeEnd = new Int32Array(total);
  let next = 0;
  // Explicit stack; a node is pushed once, its end is known when the walk returns past it.
  const stack = new Int32Array(total);
  const exit = new Int32Array(total + 1);
  for (const top of tops) {
    let sp = 0;
    stack[sp++] = top;
    depth[top] = 0;
    let open = 0;
    while (sp > 0) {
      const v = stack[--sp]!;
      // Close every open node that is not an ancestor of v.
      while (open > 0 && parent[v] !== exit[open - 1]) subtreeEnd[exit[--open]!] = next;
      position[v] = next;
      preorder[next++] = v;
      exit[open++] = v;
      for (let c = childStart[v + 1]! - 1; c >= childStart[v]!; c--) {
        const child = childList[c]!;
        depth[child] = depth[v]! + 1;
        stack[sp++] = child;
      }
    }
    while (open > 0) subtreeEnd[exit[--open]!] = next;
  }

  const missingParents: MissingParent[] = [];
  for (let k = 0; k < m; k++) missingParents.push({ parentSpanId: data.missingParentIds[k]!, node: n + k, orphans: childStart[n + k + 1]! - childStart[n + k]! });
  const orphanCount = missingParents.reduce((s, p) => s + p.orphans, 0);
  const messages: string[] = [];
  if (data.hiddenSpanCount > 0) {
    messages.push(`${data.hiddenSpanCount} span${data.hiddenSpanCount === 1 ? '' : 's'} of this trace belong to services your access does not cover; calls into them look like missing parents.`);
  }
  if (m > 0) {
    const why = data.hiddenSpanCount > 0 ? 'hidden by your access, or never received (dropped, not sampled upstream, or still arriving)' : 'never received (dropped, not sampled upstream, or still arriving)';
    messages.push(`${orphanCount} span${orphanCount === 1 ? '' : 's'} under ${m} missing parent${m === 1 ? '' : 's'}: ${why}.`);
  }
  if (roots.length === 0 && n > 0) messages.push('No root span: the request\'s entry span was not received.');
  if (cycleCuts > 0) messages.push(`${cycleCuts} parent cycle${cycleCuts === 1 ? '' : 's'} in the data were cut (a span cannot be its own ancestor).`);
  return {
    data,
    nodeCount: total,
    parent,
    childStart,
    childList,
    depth,
    preorder,
    position,
    subtreeEnd,
    tops,
    startNs,
    endNs,
    completeness: {
      complete: messages.length === 0,
      spanCount: n,
      rootCount: roots.length,
      orphanCount,
      missingParents,
      hiddenSpanCount: data.hiddenSpanCount,
      cycleCuts,
      messages,
    },
  };
}

/** Breaks every parent cycle among spans at its earliest span (lowest index), in O(n). */
function cutCycles(parent: Int32Array, n: number): number {
  // 0 unvisited, 1 on the current walk, 2 known to reach a top.
  const state = new Uint8Array(n);
  const path: number[] = [];
  let cuts = 0;
  for (let i = 0; i < n; i++) {
    if (state[i] !== 0) continue;
    let v = i;
    while (v >= 0 && v < n && state[v] === 0) {
      state[v] = 1;
      path.push(v);
      v = parent[v]!;
    }
    if (v >= 0 && v < n && state[v] === 1) {
      // v is on this walk: the cycle is path from v's place to the end.
      let earliest = v;
      for (let j = path.lastIndexOf(v); j < path.length; j++) if (path[j]! < earliest) earliest = path[j]!;
      parent[earliest] = -1;
      cuts++;
    }
    for (const p of path) state[p] = 2;
    path.length = 0;
  }
  return cuts;
}

function sortIfNeeded(list: Int32Array, from: number, to: number, startNs: Float64Array): void {
  for (let i = from + 1; i < to; i++) {
    if (startNs[list[i]!]! < startNs[list[i - 1]!]!) {
      const sorted = Array.from(list.subarray(from, to)).sort((a, b) => startNs[a]! - startNs[b]! || a - b);
      list.set(sorted, from);
      return;
    }
  }
}

/** Every ancestor of a node, nearest first. */
export function ancestorsOf(tree: TraceTree, node: number): number[] {
  const out: number[] = [];
  for (let p = tree.parent[node]!; p >= 0; p = tree.parent[p]!) out.push(p);
  return out;
}
