import { normaliseTable } from './names.js';
import { STATUS_ERROR } from './skeleton.js';
import type { TraceTree } from './tree.js';

/**
 * Repeated siblings: children of one parent with the same service and normalised name, at
 * least `minRepeat` of them (the N+1 shape, a loop of method calls). Each group becomes one row
 * with a count, total and max duration, expandable to its members.
 */
export interface SiblingGroups {
  count: number;
  /** Group g's parent node. */
  parent: Int32Array;
  /** Members of g: members[memberStart[g] … memberStart[g+1]-1], in start order. */
  memberStart: Int32Array;
  members: Int32Array;
  /** Node → its group, or -1. */
  groupOf: Int32Array;
  /** The shared normalised name, e.g. `SELECT … WHERE id = ?`. */
  label: string[];
  service: Uint32Array;
  totalNs: Float64Array;
  maxNs: Float64Array;
  errors: Uint32Array;
  startNs: Float64Array;
  endNs: Float64Array;
}

/** Five calls of the same thing under one parent is a loop (the collector's N+1 rule uses 5 too). */
export const DEFAULT_MIN_REPEAT = 5;

export function findSiblingGroups(tree: TraceTree, minRepeat = DEFAULT_MIN_REPEAT): SiblingGroups {
  const { data, childStart, childList, nodeCount } = tree;
  const n = data.size;
  const norm = normaliseTable(data.names);
  const groupOf = new Int32Array(nodeCount).fill(-1);
  const parents: number[] = [];
  const keys: string[] = [];
  const services: number[] = [];
  const memberLists: number[][] = [];
  const byKey = new Map<number, number[]>();
  const stride = norm.values.length + 1;
  for (let v = 0; v < nodeCount; v++) {
    const from = childStart[v]!;
    const to = childStart[v + 1]!;
    if (to - from < minRepeat) continue;
    byKey.clear();
    for (let c = from; c < to; c++) {
      const child = childList[c]!;
      if (child >= n) continue;
      const key = data.service[child]! * stride + norm.ids[data.name[child]!]!;
      const list = byKey.get(key);
      if (list) list.push(child);
      else byKey.set(key, [child]);
    }
    for (const list of byKey.values()) {
      if (list.length < minRepeat) continue;
      const g = parents.length;
      parents.push(v);
      keys.push(norm.values[norm.ids[data.name[list[0]!]!]!]!);
      services.push(data.service[list[0]!]!);
      memberLists.push(list);
      for (const member of list) groupOf[member] = g;
    }
  }
  const count = parents.length;
  const memberStart = new Int32Array(count + 1);
  for (let g = 0; g < count; g++) memberStart[g + 1] = memberStart[g]! + memberLists[g]!.length;
  const members = new Int32Array(memberStart[count]!);
  const totalNs = new Float64Array(count);
  const maxNs = new Float64Array(count);
  const errors = new Uint32Array(count);
  const startNs = new Float64Array(count);
  const endNs = new Float64Array(count);
  for (let g = 0; g < count; g++) {
    let at = memberStart[g]!;
    let s = Infinity;
    let e = -Infinity;
    for (const member of memberLists[g]!) {
      members[at++] = member;
      const d = data.durationNs[member]!;
      totalNs[g] += d;
      if (d > maxNs[g]!) maxNs[g] = d;
      if (data.status[member] === STATUS_ERROR) errors[g]++;
      if (data.startNs[member]! < s) s = data.startNs[member]!;
      if (data.endNs[member]! > e) e = data.endNs[member]!;
    }
    startNs[g] = s;
    endNs[g] = e;
  }
  return { count, parent: Int32Array.from(parents), memberStart, members, groupOf, label: keys, service: Uint32Array.from(services), totalNs, maxNs, errors, startNs, endNs };
}

export function groupSize(groups: SiblingGroups, g: number): number {
  return groups.memberStart[g + 1]! - groups.memberStart[g]!;
}
