/**
 * The wire format of `GET /api/traces/:traceId/skeleton` (collector/src/query/skeleton-routes.ts)
 * and its decoding into typed arrays: one slot per span, in start order.
 */

/** The skeleton as the API sends it: parallel arrays plus string tables. */
export interface SkeletonJson {
  traceId: string;
  /** The earliest span's start, nanoseconds since the epoch, decimal string. */
  startTimeUnixNano: string;
  /** Nanoseconds per unit of `start` and `duration` (1 unless the trace spans > ~104 days). */
  unitNs: number;
  adjusted: boolean;
  spanCount: number;
  hiddenSpanCount: number;
  readRestricted: boolean;
  correlationId: string;
  services: string[];
  names: string[];
  kinds: string[];
  statuses: string[];
  missingParentIds: string[];
  spanId: string[];
  /** Parent index; -1 root; -2 - k orphan whose parent ID is missingParentIds[k]. */
  parent: number[];
  start: number[];
  duration: number[];
  service: number[];
  name: number[];
  kind: number[];
  status: number[];
  flags: number[];
}

export const FLAG_METHOD = 1;
export const FLAG_END_BEFORE_START = 2;
export const STATUS_ERROR = 2;

/** A decoded skeleton. Times are nanoseconds relative to `startTimeUnixNano`, as doubles (exact below 2^53). */
export interface TraceData {
  traceId: string;
  startTimeUnixNano: string;
  adjusted: boolean;
  hiddenSpanCount: number;
  readRestricted: boolean;
  correlationId: string;
  services: readonly string[];
  names: readonly string[];
  kinds: readonly string[];
  missingParentIds: readonly string[];
  size: number;
  spanIds: readonly string[];
  parent: Int32Array;
  startNs: Float64Array;
  durationNs: Float64Array;
  /** start + duration. */
  endNs: Float64Array;
  service: Uint32Array;
  name: Uint32Array;
  kind: Uint8Array;
  status: Uint8Array;
  flags: Uint8Array;
  /** Latest end over all spans (the trace's width). */
  endOfTraceNs: number;
}

export class SkeletonError extends Error {
  override name = 'SkeletonError';
}

/** Checks the shape (the API is trusted for values, not for lengths) and converts to typed arrays. */
export function decodeSkeleton(json: SkeletonJson): TraceData {
  const n = json.spanId.length;
  for (const key of ['parent', 'start', 'duration', 'service', 'name', 'kind', 'status', 'flags'] as const) {
    if (!Array.isArray(json[key]) || json[key].length !== n) throw new SkeletonError(`skeleton: ${key} has ${json[key]?.length ?? 0} entries, expected ${n}`);
  }
  const unit = json.unitNs > 0 ? json.unitNs : 1;
  const startNs = new Float64Array(n);
  const durationNs = new Float64Array(n);
  const endNs = new Float64Array(n);
  const parent = Int32Array.from(json.parent);
  let endOfTrace = 0;
  const missing = json.missingParentIds.length;
  for (let i = 0; i < n; i++) {
    const s = json.start[i]! * unit;
    const d = json.duration[i]! * unit;
    startNs[i] = s;
    durationNs[i] = d;
    endNs[i] = s + d;
    if (s + d > endOfTrace) endOfTrace = s + d;
    const p = parent[i]!;
    if (p >= n || p < -1 - missing) throw new SkeletonError(`skeleton: span ${i} has parent ${p}, outside the trace`);
  }
  return {
    traceId: json.traceId,
    startTimeUnixNano: json.startTimeUnixNano,
    adjusted: json.adjusted,
    hiddenSpanCount: json.hiddenSpanCount,
    readRestricted: json.readRestricted,
    correlationId: json.correlationId,
    services: json.services,
    names: json.names,
    kinds: json.kinds,
    missingParentIds: json.missingParentIds,
    size: n,
    spanIds: json.spanId,
    parent,
    startNs,
    durationNs,
    endNs,
    service: Uint32Array.from(json.service),
    name: Uint32Array.from(json.name),
    kind: Uint8Array.from(json.kind),
    status: Uint8Array.from(json.status),
    flags: Uint8Array.from(json.flags),
    endOfTraceNs: endOfTrace,
  };
}
