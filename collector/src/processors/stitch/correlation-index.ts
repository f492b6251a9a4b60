import { AgedMap } from '../aged-map.js';
import { compareBigInt } from './trace-piece.js';

/** A released piece of a trace, as other pieces of its correlation ID link to it. */
export interface PieceRef {
  traceId: string;
  rootSpanId: string;
  startNs: bigint;
}

export interface CorrelationIndexOptions {
  windowMs: number;
  maxIds: number;
  /** Pieces (of different traces) remembered per correlation ID. */
  maxPerId: number;
}

export interface Join {
  /** Other traces of the ID that started before this piece, nearest first: link to them. */
  earlier: PieceRef[];
  /** Other traces of the ID that started after it but were released first: joined in the table only. */
  later: number;
  /** This trace was already known under the ID (a later piece of it): it was joined then. */
  seenBefore: boolean;
}

interface Known {
  updatedMs: number;
  pieces: PieceRef[];
}

/**
 * Correlation ID → the traces recently released with it, so that one request's pieces that
 * landed under different trace IDs can be linked. Bounded by time and by ID count, both taking
 * the least recently updated ID first.
 */
export class CorrelationIndex {
  private readonly ids = new AgedMap<Known>();

  constructor(private readonly options: CorrelationIndexOptions) {}

  get size(): number {
    return this.ids.size;
  }

  /** The other traces already seen with this ID; then remembers this piece under it. */
  join(correlationId: string, piece: PieceRef, nowMs: number): Join {
    const known = this.ids.get(correlationId);
    const fresh = known && known.updatedMs + this.options.windowMs > nowMs ? known.pieces : [];
    const others = fresh.filter((p) => p.traceId !== piece.traceId);
    const earlier = others.filter((p) => startsBefore(p, piece)).sort((a, b) => compareBigInt(b.startNs, a.startNs));
    const seenBefore = fresh.some((p) => p.traceId === piece.traceId);
    const pieces = seenBefore ? fresh : [...fresh, piece];
    this.ids.set(correlationId, { updatedMs: nowMs, pieces: pieces.slice(-this.options.maxPerId) });
    while (this.ids.size > this.options.maxIds) this.ids.deleteOldest();
    return { earlier, later: others.length - earlier.length, seenBefore };
  }

  expire(nowMs: number): void {
    for (let oldest = this.ids.oldest(); oldest && oldest[1].updatedMs + this.options.windowMs <= nowMs; oldest = this.ids.oldest()) {
      this.ids.deleteOldest();
    }
  }
}

/** Start order, trace ID breaking ties, so two pieces never both count as the earlier one. */
function startsBefore(a: PieceRef, b: PieceRef): boolean {
  return a.startNs < b.startNs || (a.startNs === b.startNs && a.traceId < b.traceId);
}
