import { FLAG_METHOD } from './skeleton.js';
import type { TraceTree } from './tree.js';

/**
 * Self time: a span's duration minus the union of its children's intervals clipped to the span
 * (the collector's definition, collector/src/analysis/critical-path.ts `selfTimeOf`: async
 * children count too, since while they run the span is not the one working). Children come in
 * start order, so one pass merges overlapping intervals.
 */
export function selfTimes(tree: TraceTree): Float64Array {
  const { data, childStart, childList } = tree;
  const out = new Float64Array(data.size);
  for (let v = 0; v < data.size; v++) {
    const s0 = data.startNs[v]!;
    const e0 = data.endNs[v]!;
    let covered = 0;
    let runStart = 0;
    let runEnd = -Infinity;
    for (let c = childStart[v]!; c < childStart[v + 1]!; c++) {
      const child = childList[c]!;
      const s = Math.max(data.startNs[child]!, s0);
      const e = Math.min(data.endNs[child]!, e0);
      if (e <= s) continue;
      if (s <= runEnd) {
        if (e > runEnd) runEnd = e;
        continue;
      }
      if (runEnd > -Infinity) covered += runEnd - runStart;
      runStart = s;
      runEnd = e;
    }
    if (runEnd > -Infinity) covered += runEnd - runStart;
    out[v] = e0 - s0 - covered;
  }
  return out;
}

export interface SelfTimeRow {
  service: string;
  /** Span name (for a method span, `Class.method`); '' in the by-service table. */
  name: string;
  method: boolean;
  spans: number;
  selfNs: number;
  /** Sum of the spans' durations (nested calls of the same name count each time). */
  totalNs: number;
  maxNs: number;
}

export interface SelfTimeTables {
  byService: SelfTimeRow[];
  /** Per service and span name; `method` rows are the method-level spans (code.function present). */
  byOperation: SelfTimeRow[];
  /** Sum of every span's self time. */
  totalSelfNs: number;
}

/** Self time summed by service and by operation/method, most first. Within `top`'s subtree when given. */
export function selfTimeTables(tree: TraceTree, self = selfTimes(tree), top = -1): SelfTimeTables {
  const { data } = tree;
  const from = top >= 0 ? tree.position[top]! : 0;
  const to = top >= 0 ? tree.subtreeEnd[top]! : tree.nodeCount;
  const services = new Map<number, SelfTimeRow>();
  const operations = new Map<number, SelfTimeRow>();
  const stride = data.names.length + 1;
  let totalSelfNs = 0;
  for (let p = from; p < to; p++) {
    const v = tree.preorder[p]!;
    if (v >= data.size) continue;
    const s = self[v]!;
    const d = data.durationNs[v]!;
    totalSelfNs += s;
    const method = (data.flags[v]! & FLAG_METHOD) !== 0;
    const service = data.service[v]!;
    const opKey = service * stride + data.name[v]!;
    add(services.get(service) ?? newRow(services, service, data.services[service]!, '', false), s, d);
    add(operations.get(opKey) ?? newRow(operations, opKey, data.services[service]!, data.names[data.name[v]!]!, method), s, d);
  }
  const order = (a: SelfTimeRow, b: SelfTimeRow) => b.selfNs - a.selfNs || a.service.localeCompare(b.service) || a.name.localeCompare(b.name);
  return { byService: [...services.values()].sort(order), byOperation: [...operations.values()].sort(order), totalSelfNs };
}

function newRow(map: Map<number, SelfTimeRow>, key: number, service: string, name: string, method: boolean): SelfTimeRow {
  const row = { service, name, method, spans: 0, selfNs: 0, totalNs: 0, maxNs: 0 };
  map.set(key, row);
  return row;
}

function add(row: SelfTimeRow, selfNs: number, durationNs: number): void {
  row.spans++;
  row.selfNs += selfNs;
  row.totalNs += durationNs;
  if (durationNs > row.maxNs) row.maxNs = durationNs;
}
