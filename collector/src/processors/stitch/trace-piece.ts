import type { Span } from '../../model/span.js';

/**
 * The spans of one trace released together ("a piece": usually the whole trace; spans that
 * arrive after it left form another piece), indexed for stitching.
 */
export interface TracePiece {
  traceId: string;
  spans: readonly Span[];
  /** By span ID; a duplicated ID keeps its first span. */
  byId: ReadonlyMap<string, Span>;
  /** Spans whose parent is not in this piece: true roots first, then by start. */
  tops: readonly Span[];
  startNs: bigint;
  endNs: bigint;
}

export function indexPiece(traceId: string, spans: readonly Span[]): TracePiece {
  const byId = new Map<string, Span>();
  let startNs = spans[0]?.startTimeUnixNano ?? 0n;
  let endNs = spans[0]?.endTimeUnixNano ?? 0n;
  for (const s of spans) {
    if (!byId.has(s.spanId)) byId.set(s.spanId, s);
    if (s.startTimeUnixNano < startNs) startNs = s.startTimeUnixNano;
    if (s.endTimeUnixNano > endNs) endNs = s.endTimeUnixNano;
  }
  const tops: Span[] = [];
  for (const s of byId.values()) if (!hasLocalParent(s, byId)) tops.push(s);
  tops.sort((a, b) => Number(a.parentSpanId !== '') - Number(b.parentSpanId !== '') || compareBigInt(a.startTimeUnixNano, b.startTimeUnixNano));
  return { traceId, spans, byId, tops, startNs, endNs };
}

/** Parent span ID → children, for the few callers that walk the tree down. */
export function childrenOf(piece: TracePiece): Map<string, Span[]> {
  const children = new Map<string, Span[]>();
  for (const s of piece.byId.values()) {
    if (!hasLocalParent(s, piece.byId)) continue;
    const list = children.get(s.parentSpanId);
    if (list) list.push(s);
    else children.set(s.parentSpanId, [s]);
  }
  return children;
}

function hasLocalParent(s: Span, byId: ReadonlyMap<string, Span>): boolean {
  return s.parentSpanId !== '' && s.parentSpanId !== s.spanId && byId.has(s.parentSpanId);
}

/** The span that stands for the piece: its earliest true root, else its earliest top span. */
export function rootOf(piece: TracePiece): Span | undefined {
  return piece.tops[0];
}

export function compareBigInt(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
