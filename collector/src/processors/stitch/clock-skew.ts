import { SpanKind } from '../../model/span.js';
import { childrenOf, type TracePiece } from './trace-piece.js';

/**
 * Clock skew, adjusted the way Jaeger does (its `clockSkewAdjuster`): a SERVER span whose client
 * parent is in another service must lie inside that parent; when it does not, it is shifted so
 * that the network latency left over is split evenly before and after it, and its descendants
 * in the same service move with it. A descendant in yet another service is measured against
 * its already shifted parent. Only client → server pairs are judged: a CONSUMER legitimately
 * runs after its PRODUCER ended, and other cross-service children give no bound to fit in.
 *
 * Offsets are stored for the spans where a shift starts (`flowtrace_clock_skew`); stored
 * timestamps are never rewritten. {@link propagateOffsets} rebuilds every span's shift from them.
 */

export interface TimeRange {
  startNs: bigint;
  endNs: bigint;
}

/** How much to shift `child` to fit `parent` (both as the parent is after its own shift); 0 when it fits. */
export function skewDelta(parent: TimeRange, child: TimeRange): bigint {
  return delta(parent.startNs, parent.endNs, child.startNs, child.endNs);
}

function delta(parentStart: bigint, parentEnd: bigint, childStart: bigint, childEnd: bigint): bigint {
  const parentDuration = parentEnd - parentStart;
  const childDuration = childEnd - childStart;
  if (childDuration > parentDuration) {
    // Longer than its client (async, or the client timed out): only keep it from starting first.
    return childStart < parentStart ? parentStart - childStart : 0n;
  }
  if (childStart >= parentStart && childEnd <= parentEnd) return 0n;
  const latency = (parentDuration - childDuration) / 2n;
  return parentStart + latency - childStart;
}

/** A parent as the skew of its child is judged. */
export interface SkewParent extends TimeRange {
  service: string;
  kind: number;
  offsetNs: bigint;
}

interface SkewChild extends TimeRange {
  service: string;
  kind: number;
}

/** The child's offset and whether it starts a shift of its own (else it inherits, or is 0). */
function offsetOf(child: SkewChild, parent: SkewParent | undefined): { offsetNs: bigint; fresh: boolean } {
  if (!parent) return { offsetNs: 0n, fresh: false };
  if (parent.service === child.service) return { offsetNs: parent.offsetNs, fresh: false };
  if (parent.kind !== SpanKind.CLIENT || child.kind !== SpanKind.SERVER) return { offsetNs: 0n, fresh: false };
  const offsetNs = delta(parent.startNs + parent.offsetNs, parent.endNs + parent.offsetNs, child.startNs, child.endNs);
  return { offsetNs, fresh: true };
}

export interface SkewAdjustment {
  spanId: string;
  parentSpanId: string;
  caller: string;
  callee: string;
  /** The span's own (unshifted) start. */
  startNs: bigint;
  offsetNs: bigint;
}

export interface PieceSkew {
  /** Every span with a non-zero offset. */
  offsets: Map<string, bigint>;
  /** Where a shift starts: what is stored. */
  adjustments: SkewAdjustment[];
}

/**
 * Offsets for the spans of a piece, from its top spans down. `outsideParent` gives the parent
 * of a top span when an earlier piece of the trace had it (with that parent's own offset).
 */
export function computePieceSkew(piece: TracePiece, outsideParent: (spanId: string) => SkewParent | undefined): PieceSkew {
  const offsets = new Map<string, bigint>();
  const adjustments: SkewAdjustment[] = [];
  if (!mayShift(piece, outsideParent)) return { offsets, adjustments };
  const children = childrenOf(piece);
  // Iterative depth-first walk: method-level traces can nest deeper than the call stack.
  const stack: Array<{ spanId: string; parent: SkewParent | undefined }> = [];
  for (let i = piece.tops.length - 1; i >= 0; i--) {
    const top = piece.tops[i]!;
    stack.push({ spanId: top.spanId, parent: top.parentSpanId === '' ? undefined : outsideParent(top.parentSpanId) });
  }
  while (stack.length > 0) {
    const { spanId, parent } = stack.pop()!;
    const span = piece.byId.get(spanId)!;
    const service = span.resource.serviceName;
    const node = { service, kind: span.kind, startNs: span.startTimeUnixNano, endNs: span.endTimeUnixNano };
    const { offsetNs, fresh } = offsetOf(node, parent);
    if (offsetNs !== 0n) offsets.set(spanId, offsetNs);
    if (fresh && offsetNs !== 0n) {
      adjustments.push({ spanId, parentSpanId: span.parentSpanId, caller: parent!.service, callee: service, startNs: node.startNs, offsetNs });
    }
    const self: SkewParent = { ...node, offsetNs };
    for (const child of children.get(spanId) ?? []) stack.push({ spanId: child.spanId, parent: self });
  }
  return { offsets, adjustments };
}

/**
 * False when no span can end up shifted, which is most traces: with no shifted ancestor every
 * judgement is on raw times, so if every client → server pair fits raw and nothing inherits
 * an offset from an earlier piece, all offsets are 0 and the walk is skipped.
 */
function mayShift(piece: TracePiece, outsideParent: (spanId: string) => SkewParent | undefined): boolean {
  for (const span of piece.byId.values()) {
    if (span.parentSpanId === '') continue;
    const local = piece.byId.get(span.parentSpanId);
    if (local) {
      if (
        span.kind === SpanKind.SERVER &&
        local.kind === SpanKind.CLIENT &&
        local.resource.serviceName !== span.resource.serviceName &&
        delta(local.startTimeUnixNano, local.endTimeUnixNano, span.startTimeUnixNano, span.endTimeUnixNano) !== 0n
      ) {
        return true;
      }
    } else {
      const outside = outsideParent(span.parentSpanId);
      if (outside && (outside.offsetNs !== 0n || (outside.kind === SpanKind.CLIENT && span.kind === SpanKind.SERVER))) return true;
    }
  }
  return false;
}

/** A span as the query side knows it. */
export interface SkewTreeNode {
  spanId: string;
  parentSpanId: string;
  service: string;
}

/**
 * Every span's offset from the stored ones: a span with a stored offset has it; any other
 * span inherits its parent's when both are in one service, and has none otherwise.
 */
export function propagateOffsets(nodes: readonly SkewTreeNode[], stored: ReadonlyMap<string, bigint>): Map<string, bigint> {
  const byId = new Map<string, SkewTreeNode>();
  for (const n of nodes) if (!byId.has(n.spanId)) byId.set(n.spanId, n);
  const children = new Map<string, SkewTreeNode[]>();
  const stack: Array<{ node: SkewTreeNode; parent: { service: string; offsetNs: bigint } | undefined }> = [];
  for (const n of byId.values()) {
    const parent = n.parentSpanId !== n.spanId ? byId.get(n.parentSpanId) : undefined;
    if (!parent) stack.push({ node: n, parent: undefined });
    else {
      const list = children.get(parent.spanId);
      if (list) list.push(n);
      else children.set(parent.spanId, [n]);
    }
  }
  const offsets = new Map<string, bigint>();
  while (stack.length > 0) {
    const { node, parent } = stack.pop()!;
    const offsetNs = stored.get(node.spanId) ?? (parent && parent.service === node.service ? parent.offsetNs : 0n);
    if (offsetNs !== 0n) offsets.set(node.spanId, offsetNs);
    for (const child of children.get(node.spanId) ?? []) stack.push({ node: child, parent: { service: node.service, offsetNs } });
  }
  // Spans caught in a parent cycle are never reached from a top: only their stored offset applies.
  for (const [spanId, offsetNs] of stored) if (byId.has(spanId) && !offsets.has(spanId) && offsetNs !== 0n) offsets.set(spanId, offsetNs);
  return offsets;
}
