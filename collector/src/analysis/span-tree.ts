import type { SpanView } from '../query/span-view.js';

/** One span of a trace with its times as integers and its place in the tree. */
export interface TreeNode {
  span: SpanView;
  startNs: bigint;
  /** start + duration: a span whose end was sent before its start ends where it starts. */
  endNs: bigint;
  /** Children in this trace, earliest start first (ties by span ID, so answers are stable). */
  children: TreeNode[];
  parent: TreeNode | undefined;
  /** 0 for a top span (a root, or an orphan whose parent is not in the trace). */
  depth: number;
}

/** A trace as a forest: most traces have one top span; orphans add more. */
export interface SpanTree {
  nodes: TreeNode[];
  byId: ReadonlyMap<string, TreeNode>;
  /** Spans without a parent in the trace: true roots (no parent ID) first, then orphans; earliest first. */
  tops: TreeNode[];
}

/**
 * Builds the tree of one trace's spans. A span ID seen twice keeps its first occurrence (the
 * others still count as nodes, without children), and a parent cycle — impossible in a valid
 * trace, possible in bad data — is cut at its earliest span, which becomes a top.
 */
export function buildTree(spans: readonly SpanView[]): SpanTree {
  const nodes: TreeNode[] = spans.map((span) => {
    const startNs = BigInt(span.startTimeUnixNano);
    return { span, startNs, endNs: startNs + BigInt(span.durationNano), children: [], parent: undefined, depth: 0 };
  });
  const byId = new Map<string, TreeNode>();
  for (const node of nodes) if (!byId.has(node.span.spanId)) byId.set(node.span.spanId, node);
  for (const node of nodes) {
    const parent = node.span.parentSpanId === '' ? undefined : byId.get(node.span.parentSpanId);
    if (parent && parent !== node) {
      node.parent = parent;
      parent.children.push(node);
    }
  }
  for (const node of nodes) node.children.sort(byStart);
  const tops = nodes.filter((n) => n.parent === undefined);
  const reached = new Set<TreeNode>();
  walkDepths(tops, reached);
  // Whatever no top reaches hangs in a parent cycle: cut each cycle at its earliest span.
  for (const node of [...nodes].sort(byStart)) {
    if (reached.has(node)) continue;
    const parent = node.parent!;
    parent.children.splice(parent.children.indexOf(node), 1);
    node.parent = undefined;
    tops.push(node);
    walkDepths([node], reached);
  }
  tops.sort((a, b) => Number(a.span.parentSpanId !== '') - Number(b.span.parentSpanId !== '') || byStart(a, b));
  return { nodes, byId, tops };
}

/** Depths top-down, iteratively: method-level traces nest deeper than the call stack allows. */
function walkDepths(tops: readonly TreeNode[], reached: Set<TreeNode>): void {
  const stack = [...tops];
  for (const top of tops) top.depth = 0;
  while (stack.length > 0) {
    const node = stack.pop()!;
    reached.add(node);
    for (const child of node.children) {
      child.depth = node.depth + 1;
      stack.push(child);
    }
  }
}

export function byStart(a: TreeNode, b: TreeNode): number {
  return a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : a.span.spanId < b.span.spanId ? -1 : a.span.spanId > b.span.spanId ? 1 : 0;
}

/** The span the trace's end-to-end latency is measured on: the longest true root, else the longest top. */
export function mainTop(tree: SpanTree): TreeNode | undefined {
  const roots = tree.tops.filter((n) => n.span.parentSpanId === '');
  const pool = roots.length > 0 ? roots : tree.tops;
  let best: TreeNode | undefined;
  for (const node of pool) if (!best || node.endNs - node.startNs > best.endNs - best.startNs) best = node;
  return best;
}

/** Every node below `top` (itself included), depth-first in start order. */
export function descendants(top: TreeNode): TreeNode[] {
  const out: TreeNode[] = [];
  const stack = [top];
  while (stack.length > 0) {
    const node = stack.pop()!;
    out.push(node);
    for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
  }
  return out;
}

/** A span attribute as text, or '' when absent. */
export function attr(span: SpanView, key: string): string {
  const value = span.attributes[key];
  return value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);
}

export function isError(span: SpanView): boolean {
  return span.status.code === 'Error';
}

/** The method a span records, from OpenTelemetry's code attributes (current and older names); '' when none. */
export function methodOf(span: SpanView): string {
  const fn = attr(span, 'code.function.name') || attr(span, 'code.function');
  if (fn === '') return '';
  const ns = attr(span, 'code.namespace');
  return ns !== '' && !fn.startsWith(`${ns}.`) ? `${ns}.${fn}` : fn;
}
