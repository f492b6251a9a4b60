import type { Span } from '../../model/span.js';
import { briefOf, isCaller, type SpanBrief } from './brief.js';
import { computePieceSkew, type SkewAdjustment } from './clock-skew.js';
import { CorrelationIndex, type PieceRef } from './correlation-index.js';
import { findPairs, type CallPair } from './pairing.js';
import { RecentTraces, type RememberedSpan } from './recent-traces.js';
import type { CorrelationSighting } from './side-rows.js';
import { compareBigInt, indexPiece, rootOf, type TracePiece } from './trace-piece.js';

/** Set by agents on every span (from W3C baggage, itself from `x-request-id`). */
export const CORRELATION_ATTRIBUTE = 'flowtrace.correlation_id';
export const ORPHAN_ATTRIBUTE = 'flowtrace.orphan';
export const LINK_REASON_ATTRIBUTE = 'flowtrace.link.reason';
/** A batch job's trace can carry many requests' IDs: beyond this many, the rest are not joined. */
const MAX_CORRELATION_IDS_PER_PIECE = 16;

export interface StitcherOptions {
  flagOrphans: boolean;
  serviceGraph: boolean;
  clockSkew: boolean;
  correlation: boolean;
  linkTraces: boolean;
  maxLinks: number;
  memoryWindowMs: number;
  memoryMaxSpans: number;
  memoryMaxCorrelationIds: number;
}

/** What stitching found, for the side tables and metrics; span changes are made in place. */
export interface StitchOutcome {
  orphans: number;
  pairs: CallPair[];
  skew: Array<{ traceId: string; adjustment: SkewAdjustment }>;
  sightings: CorrelationSighting[];
  /** Other traces of a correlation ID found: linked from this piece's root, or left to the table. */
  joinsLinked: number;
  joinsTableOnly: number;
}

export interface ReleasedPiece {
  traceId: string;
  spans: Span[];
}

/**
 * Stitches trace pieces as they leave the buffer: flags orphans, pairs calls across services,
 * measures clock skew and links pieces of one correlation ID. It remembers released pieces a
 * while (bounded), so a piece that comes later still finds what it refers to.
 *
 * Pieces of one correlation ID under different trace IDs: the later one's root span gets an
 * OTLP link to the earlier one's root (`flowtrace.link.reason` = `correlation_id`) whenever the
 * earlier piece is known — released in the same tick, or within the memory window before.
 * When the later piece left first (already handed on, so it cannot be changed) or the earlier
 * one is forgotten, the join lives in `flowtrace_correlations` only, which the query API reads.
 */
export class Stitcher {
  private readonly recent: RecentTraces;
  private readonly correlations: CorrelationIndex;

  constructor(private readonly options: StitcherOptions) {
    this.recent = new RecentTraces({ windowMs: options.memoryWindowMs, maxSpans: options.memoryMaxSpans });
    this.correlations = new CorrelationIndex({
      windowMs: options.memoryWindowMs,
      maxIds: options.memoryMaxCorrelationIds,
      maxPerId: options.maxLinks,
    });
  }

  get rememberedSpans(): number {
    return this.recent.spanCount;
  }

  /** Pieces released together, earliest first, so that a later piece links to an earlier one. */
  stitch(released: readonly ReleasedPiece[], nowMs: number): StitchOutcome {
    const pieces = released.map((r) => indexPiece(r.traceId, r.spans)).sort((a, b) => compareBigInt(a.startNs, b.startNs));
    const out: StitchOutcome = { orphans: 0, pairs: [], skew: [], sightings: [], joinsLinked: 0, joinsTableOnly: 0 };
    for (const piece of pieces) this.stitchPiece(piece, nowMs, out);
    return out;
  }

  /** Forgets released pieces older than the memory window. */
  expire(nowMs: number): void {
    this.recent.expire(nowMs);
    this.correlations.expire(nowMs);
  }

  private stitchPiece(piece: TracePiece, nowMs: number, out: StitchOutcome): void {
    const { traceId } = piece;
    for (const top of piece.tops) {
      // A parent released earlier is not missing. A remote parent that was never sent (the caller's
      // service is not traced) is: the issue counts every span whose parent never arrived.
      if (top.parentSpanId === '' || this.recent.has(traceId, top.parentSpanId)) continue;
      out.orphans++;
      if (this.options.flagOrphans) flagOrphan(top);
    }
    let waiting: SpanBrief[] = [];
    if (this.options.serviceGraph) {
      const pairing = findPairs(piece, {
        released: (spanId) => this.recent.get(traceId, spanId),
        takeWaiting: (spanId) => this.recent.takeWaiting(traceId, spanId),
      });
      for (const pair of pairing.pairs) out.pairs.push(pair);
      waiting = pairing.waiting;
    }
    let offsets = new Map<string, bigint>();
    if (this.options.clockSkew) {
      const skew = computePieceSkew(piece, (spanId) => this.recent.get(traceId, spanId) ?? undefined);
      offsets = skew.offsets;
      for (const adjustment of skew.adjustments) out.skew.push({ traceId, adjustment });
    }
    this.remember(piece, offsets, waiting, nowMs);
    if (this.options.correlation) this.correlate(piece, nowMs, out);
  }

  /** Every span ID of the piece; the span itself where a later piece may need it. */
  private remember(piece: TracePiece, offsets: ReadonlyMap<string, bigint>, waiting: readonly SpanBrief[], nowMs: number): void {
    const spanIds: string[] = [];
    const kept: RememberedSpan[] = [];
    for (const [spanId, span] of piece.byId) {
      spanIds.push(spanId);
      const offsetNs = offsets.get(spanId) ?? 0n;
      if (isCaller(span.kind) || offsetNs !== 0n) kept.push(rememberedOf(span, offsetNs));
    }
    this.recent.remember(piece.traceId, nowMs, spanIds, kept, waiting);
  }

  private correlate(piece: TracePiece, nowMs: number, out: StitchOutcome): void {
    const ids = correlationIds(piece.spans);
    if (ids.length === 0) return;
    const root = rootOf(piece)!;
    const services = [...new Set(piece.spans.map((s) => s.resource.serviceName))].sort();
    const ref: PieceRef = { traceId: piece.traceId, rootSpanId: root.spanId, startNs: piece.startNs };
    let added = 0;
    for (const correlationId of ids) {
      out.sightings.push({ correlationId, traceId: piece.traceId, services, firstNs: piece.startNs, lastNs: piece.endNs, spans: piece.spans.length });
      const join = this.correlations.join(correlationId, ref, nowMs);
      if (join.seenBefore) continue; // a later piece of a trace already joined
      out.joinsTableOnly += join.later;
      for (const earlier of join.earlier) {
        if (hasLinkTo(root, earlier)) continue;
        if (!this.options.linkTraces || added >= this.options.maxLinks) {
          out.joinsTableOnly++;
          continue;
        }
        addLink(root, earlier, correlationId);
        added++;
        out.joinsLinked++;
      }
    }
  }
}


function rememberedOf(span: Span, offsetNs: bigint): RememberedSpan {
  return { ...briefOf(span), offsetNs };
}

function correlationIds(spans: readonly Span[]): string[] {
  const ids = new Set<string>();
  for (const span of spans) {
    const id = span.attributes[CORRELATION_ATTRIBUTE];
    if (id === undefined || id === '') continue;
    ids.add(id);
    if (ids.size === MAX_CORRELATION_IDS_PER_PIECE) break;
  }
  return [...ids];
}

function flagOrphan(span: Span): void {
  span.attributes[ORPHAN_ATTRIBUTE] = 'true';
  // Copied rather than changed in place, in case the kinds object is shared with other spans.
  span.attributeKinds = { ...span.attributeKinds, [ORPHAN_ATTRIBUTE]: 'bool' };
}

function hasLinkTo(span: Span, to: PieceRef): boolean {
  return span.links.some((l) => l.traceId === to.traceId && l.spanId === to.rootSpanId);
}

function addLink(span: Span, to: PieceRef, correlationId: string): void {
  span.links = [
    ...span.links,
    {
      traceId: to.traceId,
      spanId: to.rootSpanId,
      traceState: '',
      flags: 0,
      attributes: { [LINK_REASON_ATTRIBUTE]: 'correlation_id', [CORRELATION_ATTRIBUTE]: correlationId },
      droppedAttributesCount: 0,
    },
  ];
}
