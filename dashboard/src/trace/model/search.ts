import { STATUS_ERROR } from './skeleton.js';
import type { TraceTree } from './tree.js';
import type { TraceView } from './rows.js';

/**
 * Finding spans in a loaded trace: a text search over span names, services and span IDs (the
 * skeleton's columns; attribute values are searched on demand through the span route), and
 * next / previous error in tree order. Results are in tree order (preorder), so "next match"
 * walks down the waterfall.
 */
export interface SearchResult {
  query: string;
  /** 1 for a matching node. */
  matches: Uint8Array;
  /** Matching nodes in tree order. */
  nodes: Int32Array;
}

export function searchSpans(tree: TraceTree, query: string): SearchResult {
  const { data } = tree;
  const q = query.trim().toLowerCase();
  const matches = new Uint8Array(tree.nodeCount);
  if (q === '') return { query, matches, nodes: new Int32Array(0) };
  // Tables are small: test each string once, then each span by index.
  const nameHit = Uint8Array.from(data.names, (s) => (s.toLowerCase().includes(q) ? 1 : 0));
  const serviceHit = Uint8Array.from(data.services, (s) => (s.toLowerCase().includes(q) ? 1 : 0));
  const idQuery = /^[0-9a-f]{16}$/.test(q);
  const found: number[] = [];
  for (let p = 0; p < tree.nodeCount; p++) {
    const v = tree.preorder[p]!;
    if (v >= data.size) continue;
    if (nameHit[data.name[v]!] || serviceHit[data.service[v]!] || (idQuery && data.spanIds[v] === q)) {
      matches[v] = 1;
      found.push(v);
    }
  }
  return { query, matches, nodes: Int32Array.from(found) };
}

/** Tree-order positions of error spans, for next/previous error. */
export function errorNodes(tree: TraceTree): Int32Array {
  const out: number[] = [];
  for (let p = 0; p < tree.nodeCount; p++) {
    const v = tree.preorder[p]!;
    if (v < tree.data.size && tree.data.status[v] === STATUS_ERROR) out.push(v);
  }
  return Int32Array.from(out);
}

/**
 * The next (or previous) node of `nodes` (tree order) after the one a row shows; wraps around.
 * Undefined when `nodes` is empty.
 */
export function nextInTreeOrder(tree: TraceTree, nodes: Int32Array, fromNode: number, direction: 1 | -1): number | undefined {
  if (nodes.length === 0) return undefined;
  const at = fromNode >= 0 ? tree.position[fromNode]! : -1;
  // Binary search: first node whose position is > at.
  let lo = 0;
  let hi = nodes.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tree.position[nodes[mid]!]! <= at) lo = mid + 1;
    else hi = mid;
  }
  if (direction === 1) return nodes[lo < nodes.length ? lo : 0];
  // Previous: the last one strictly before `at`.
  let before = lo - 1;
  if (before >= 0 && nodes[before] === fromNode) before--;
  return nodes[before >= 0 ? before : nodes.length - 1];
}

/** Moves to the next/previous error from a row: reveals it and returns its row (undefined: no error). */
export function jumpToError(view: TraceView, errors: Int32Array, fromRow: number, direction: 1 | -1): number | undefined {
  const from = fromRow >= 0 && fromRow < view.length ? view.nodeOfRow(fromRow) : -1;
  const target = nextInTreeOrder(view.tree, errors, from, direction);
  return target === undefined ? undefined : view.reveal(target);
}

/** The parts of `GET /api/traces/:traceId/spans/:spanId` an attribute search looks at. */
export interface SpanDetailsLike {
  span: { attributes: Record<string, unknown>; resource: { attributes: Record<string, unknown> }; events: Array<{ name: string; attributes: Record<string, unknown> }> };
}

/**
 * Attribute keys and values (span, resource, events) of one span loaded on demand that contain
 * the query, as `key=value` texts (for "matched in attributes" next to a row); [] when none.
 */
export function attributeMatches(details: SpanDetailsLike, query: string): string[] {
  const q = query.trim().toLowerCase();
  if (q === '') return [];
  const out: string[] = [];
  const scan = (prefix: string, attributes: Record<string, unknown>) => {
    for (const [key, value] of Object.entries(attributes)) {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      if (key.toLowerCase().includes(q) || text.toLowerCase().includes(q)) out.push(`${prefix}${key}=${text}`);
    }
  };
  scan('', details.span.attributes);
  scan('resource.', details.span.resource.attributes);
  for (const event of details.span.events) scan(`${event.name}.`, event.attributes);
  return out;
}
