/**
 * Flame-graph search: which frames match a text (case-insensitive, in the method or the service
 * name), and how much of the time they account for — counted once where a match sits under
 * another match (recursion, or a method calling itself by another path), as speedscope does.
 */
import type { FlameTree } from './tree';

export interface FlameSearch {
  /** 1 where the node matches. */
  matches: Uint8Array;
  count: number;
  /** Total time of the matches not under another match. */
  matchedNs: number;
  /** matchedNs / the root's total (0 to 1; 0 for an empty tree). */
  share: number;
}

/** undefined for a blank query: no search, nothing dimmed. */
export function searchFlame(tree: FlameTree, query: string): FlameSearch | undefined {
  const needle = query.trim().toLowerCase();
  if (needle === '') return undefined;
  const matches = new Uint8Array(tree.nodes.length);
  /** 1 where the node or an ancestor matches (pre-order: a parent is always decided first). */
  const covered = new Uint8Array(tree.nodes.length);
  let count = 0;
  let matchedNs = 0;
  for (const node of tree.nodes) {
    const hit = node.method.toLowerCase().includes(needle) || node.service.toLowerCase().includes(needle);
    const under = node.parent >= 0 && covered[node.parent] === 1;
    if (hit) {
      matches[node.index] = 1;
      count++;
      if (!under) matchedNs += node.totalNs;
    }
    covered[node.index] = hit || under ? 1 : 0;
  }
  const total = tree.nodes[0]!.totalNs;
  return { matches, count, matchedNs, share: total > 0 ? Math.min(1, matchedNs / total) : 0 };
}
