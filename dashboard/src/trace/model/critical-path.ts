import type { TraceTree } from './tree.js';
import type { SiblingGroups } from './groups.js';

/** What the waterfall needs from `GET /api/traces/:traceId/critical-path`. */
export interface CriticalPathJson {
  rootSpanId: string;
  segments: Array<{ spanId: string; durationNano: string }>;
  selfTimes?: Array<{ spanId: string; selfNano: string; criticalNano: string }>;
}

export interface CriticalPathMap {
  /** 1 for a node with time on the critical path. */
  onPath: Uint8Array;
  /** Nanoseconds each span holds on the path. */
  criticalNs: Float64Array;
  /** Segments whose span is not in this skeleton (e.g. hidden by read rules): 0 when it all maps. */
  unmapped: number;
}

/** Span ID → first node with it (a span ID stored twice: the first copy, as the tree attaches children). */
export function spanIndex(tree: TraceTree): Map<string, number> {
  const index = new Map<string, number>();
  const ids = tree.data.spanIds;
  for (let i = 0; i < ids.length; i++) if (!index.has(ids[i]!)) index.set(ids[i]!, i);
  return index;
}

export function mapCriticalPath(tree: TraceTree, path: CriticalPathJson, index = spanIndex(tree)): CriticalPathMap {
  const onPath = new Uint8Array(tree.nodeCount);
  const criticalNs = new Float64Array(tree.nodeCount);
  let unmapped = 0;
  for (const segment of path.segments) {
    const v = index.get(segment.spanId);
    if (v === undefined) {
      unmapped++;
      continue;
    }
    onPath[v] = 1;
    criticalNs[v] += Number(segment.durationNano);
  }
  return { onPath, criticalNs, unmapped };
}

/** A group row is on the path when one of its members is. */
export function groupOnPath(groups: SiblingGroups, map: CriticalPathMap, group: number): boolean {
  for (let k = groups.memberStart[group]!; k < groups.memberStart[group + 1]!; k++) if (map.onPath[groups.members[k]!]) return true;
  return false;
}

export interface LocalCriticalPath extends CriticalPathMap {
  /** The span latency is measured on (the longest root, else the longest top span); -1 for no span. */
  root: number;
  /** Chronological segments: span node, start and end ns. */
  segments: Array<{ node: number; startNs: number; endNs: number }>;
}

/**
 * The critical path computed in the browser, by the collector's algorithm
 * (collector/src/analysis/critical-path.ts, Jaeger UI's walk back from the root's end): for
 * traces over the API's 10,000-span analysis cap, or without a round trip. A child that ends or
 * starts after its parent ends is async (not waited for); of overlapping children the one
 * finishing last is on the path; a child starting before its parent is clipped.
 */
export function computeCriticalPath(tree: TraceTree): LocalCriticalPath {
  const { data, childStart, childList } = tree;
  const n = data.size;
  const onPath = new Uint8Array(tree.nodeCount);
  const criticalNs = new Float64Array(tree.nodeCount);
  // Roots first; else every span without a span parent (orphans, cut cycles).
  let root = -1;
  for (const rootsOnly of [true, false]) {
    for (let v = 0; v < n; v++) {
      const top = rootsOnly ? data.parent[v] === -1 && tree.parent[v] === -1 : tree.parent[v] === -1 || tree.parent[v]! >= n;
      if (top && (root < 0 || data.durationNs[v]! > data.durationNs[root]!)) root = v;
    }
    if (root >= 0) break;
  }
  const segments: LocalCriticalPath['segments'] = [];
  if (root < 0) return { root, segments, onPath, criticalNs, unmapped: 0 };
  const { startNs, endNs } = data;
  const reversed: LocalCriticalPath['segments'] = [];
  interface Frame {
    node: number;
    startNs: number;
    cursor: number;
    awaited: number[];
    next: number;
  }
  const frameOf = (node: number, s: number, e: number): Frame => {
    const awaited: number[] = [];
    for (let c = childStart[node]!; c < childStart[node + 1]!; c++) {
      const child = childList[c]!;
      if (!(endNs[child]! > endNs[node]! || startNs[child]! > endNs[node]!)) awaited.push(child);
    }
    awaited.sort((a, b) => endNs[b]! - endNs[a]! || startNs[b]! - startNs[a]!);
    return { node, startNs: s, cursor: e, awaited, next: 0 };
  };
  const emit = (node: number, s: number, e: number) => {
    if (e > s) reversed.push({ node, startNs: s, endNs: e });
  };
  const stack: Frame[] = [frameOf(root, startNs[root]!, endNs[root]!)];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    while (frame.next < frame.awaited.length && endNs[frame.awaited[frame.next]!]! > frame.cursor) frame.next++;
    const child = frame.next < frame.awaited.length ? frame.awaited[frame.next++]! : -1;
    if (child < 0) {
      emit(frame.node, frame.startNs, frame.cursor);
      stack.pop();
      continue;
    }
    const childStartNs = Math.max(startNs[child]!, frame.startNs);
    emit(frame.node, endNs[child]!, frame.cursor);
    frame.cursor = childStartNs;
    stack.push(frameOf(child, childStartNs, endNs[child]!));
  }
  for (let i = reversed.length - 1; i >= 0; i--) {
    const s = reversed[i]!;
    segments.push(s);
    onPath[s.node] = 1;
    criticalNs[s.node] += s.endNs - s.startNs;
  }
  return { root, segments, onPath, criticalNs, unmapped: 0 };
}
