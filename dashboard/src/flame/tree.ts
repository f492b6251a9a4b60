/**
 * The flame graph's data as the API answers it (`GET /api/flame`, `GET /api/traces/:id/flame`:
 * nodes in pre-order, each with its parent's index) turned into arrays the layout walks fast.
 */

/** One node as the API sends it (collector/src/query/flame-routes.ts). */
export interface FlameNodeJson {
  parent: number;
  depth: number;
  service: string;
  method: string;
  totalNano: string;
  selfNano: string;
  calls: number;
  errors: number;
  exampleTraceId: string;
  folded: number;
}

export interface FlameAnswerJson {
  traceCount: number;
  spanCount: number;
  nodeCount: number;
  nodes: FlameNodeJson[];
}

export interface FlameNode {
  index: number;
  parent: number;
  depth: number;
  service: string;
  method: string;
  /** Nanoseconds as numbers: exact up to 104 days, enough for widths and labels. */
  totalNs: number;
  selfNs: number;
  calls: number;
  errors: number;
  exampleTraceId: string;
  folded: number;
  /** Children's indices, in the API's order (service, then method; `(other)` last). */
  children: number[];
  /** Nodes in this subtree, itself included. */
  size: number;
}

export interface FlameTree {
  /** `nodes[0]` is the root. */
  nodes: FlameNode[];
  maxDepth: number;
}

/** Builds the tree; throws on a list that is not pre-order (a parent after its child) or empty. */
export function flameTree(answer: Pick<FlameAnswerJson, 'nodes'>): FlameTree {
  const nodes: FlameNode[] = [];
  let maxDepth = 0;
  answer.nodes.forEach((n, index) => {
    const root = index === 0;
    if (root ? n.parent !== -1 : !(n.parent >= 0 && n.parent < index)) throw new Error(`flame: node ${index} has parent ${n.parent}; expected nodes in pre-order`);
    const depth = root ? 0 : nodes[n.parent]!.depth + 1;
    if (depth > maxDepth) maxDepth = depth;
    nodes.push({
      index,
      parent: n.parent,
      depth,
      service: n.service,
      method: n.method,
      totalNs: Number(n.totalNano),
      selfNs: Number(n.selfNano),
      calls: n.calls,
      errors: n.errors,
      exampleTraceId: n.exampleTraceId,
      folded: n.folded,
      children: [],
      size: 1,
    });
    if (!root) nodes[n.parent]!.children.push(index);
  });
  if (nodes.length === 0) throw new Error('flame: no nodes');
  // Pre-order: every subtree follows its root, so sizes add up from the end.
  for (let i = nodes.length - 1; i > 0; i--) nodes[nodes[i]!.parent]!.size += nodes[i]!.size;
  return { nodes, maxDepth };
}

/** The path from the root to `index`, both included. */
export function pathTo(tree: FlameTree, index: number): FlameNode[] {
  const path: FlameNode[] = [];
  for (let i = index; i >= 0; i = tree.nodes[i]!.parent) path.push(tree.nodes[i]!);
  return path.reverse();
}
