import { briefOf, isCallee, isCaller, type SpanBrief } from './brief.js';
import type { TracePiece } from './trace-piece.js';

/** A CLIENT/PRODUCER span and the SERVER/CONSUMER span it called in another service. */
export interface CallPair {
  caller: SpanBrief;
  callee: SpanBrief;
}

/** What earlier pieces of the same trace left behind (see RecentTraces). */
export interface PairMemory {
  /** A released span by ID, when it was kept (callers always are). */
  released(spanId: string): SpanBrief | null | undefined;
  /** Callees released without their caller, waiting for this one; handed out once. */
  takeWaiting(callerSpanId: string): SpanBrief[];
}

export interface Pairing {
  pairs: CallPair[];
  /** Callees of this piece whose parent is nowhere yet: to remember for a late caller. */
  waiting: SpanBrief[];
}

/** Pairs each callee of the piece with its caller, in the piece or in an earlier one, and late callers with waiting callees. */
export function findPairs(piece: TracePiece, memory: PairMemory): Pairing {
  const pairs: CallPair[] = [];
  const waiting: SpanBrief[] = [];
  for (const span of piece.byId.values()) {
    if (isCallee(span.kind) && span.parentSpanId !== '') {
      const local = piece.byId.get(span.parentSpanId);
      if (local) {
        if (isCaller(local.kind) && local.resource.serviceName !== span.resource.serviceName) {
          pairs.push({ caller: briefOf(local), callee: briefOf(span) });
        }
      } else {
        const released = memory.released(span.parentSpanId);
        if (released === undefined) waiting.push(briefOf(span));
        else if (released && isCaller(released.kind) && released.service !== span.resource.serviceName) {
          pairs.push({ caller: released, callee: briefOf(span) });
        }
      }
    }
    if (isCaller(span.kind)) {
      const late = memory.takeWaiting(span.spanId);
      if (late.length > 0) {
        const caller = briefOf(span);
        for (const callee of late) if (callee.service !== caller.service) pairs.push({ caller, callee });
      }
    }
  }
  return { pairs, waiting };
}
