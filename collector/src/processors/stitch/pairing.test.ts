import { describe, expect, it } from 'vitest';
import { SpanKind } from '../../model/span.js';
import { briefOf, type SpanBrief } from './brief.js';
import { findPairs, type PairMemory } from './pairing.js';
import { span, spanId, threeServiceTrace } from './stitch-fixtures.js';
import { indexPiece } from './trace-piece.js';

const noMemory: PairMemory = { released: () => undefined, takeWaiting: () => [] };
const edge = (p: { caller: SpanBrief; callee: SpanBrief }) => `${p.caller.service}:${p.caller.spanId} -> ${p.callee.service}:${p.callee.spanId}`;

describe('pairing', () => {
  it('pairs each client span with the server span it called in another service', () => {
    const spans = threeServiceTrace(1);
    const { pairs, waiting } = findPairs(indexPiece(spans[0]!.traceId, spans), noMemory);
    expect(pairs.map(edge).sort()).toEqual([
      `frontend:${spanId(102)} -> orders:${spanId(103)}`,
      `orders:${spanId(105)} -> payments:${spanId(106)}`,
    ]);
    expect(waiting).toEqual([]);
  });

  it('pairs producer with consumer, and ignores same-service and non-call parents', () => {
    const spans = [
      span({ trace: 1, id: 1, service: 'api', kind: SpanKind.PRODUCER, startMs: 0, endMs: 1 }),
      span({ trace: 1, id: 2, parent: 1, service: 'worker', kind: SpanKind.CONSUMER, startMs: 50, endMs: 80 }),
      span({ trace: 1, id: 3, service: 'api', kind: SpanKind.CLIENT, startMs: 0, endMs: 10 }),
      span({ trace: 1, id: 4, parent: 3, service: 'api', kind: SpanKind.SERVER, startMs: 1, endMs: 9 }), // calls itself
      span({ trace: 1, id: 5, service: 'api', kind: SpanKind.INTERNAL, startMs: 0, endMs: 10 }),
      span({ trace: 1, id: 6, parent: 5, service: 'db', kind: SpanKind.SERVER, startMs: 1, endMs: 9 }), // parent is no call
    ];
    const { pairs } = findPairs(indexPiece(spans[0]!.traceId, spans), noMemory);
    expect(pairs.map(edge)).toEqual([`api:${spanId(1)} -> worker:${spanId(2)}`]);
  });

  it('pairs a late server span with its client from an earlier piece, and keeps an unknown parent waiting', () => {
    const caller = briefOf(span({ trace: 1, id: 1, service: 'api', kind: SpanKind.CLIENT, startMs: 0, endMs: 10 }));
    const memory: PairMemory = { released: (id) => (id === caller.spanId ? caller : undefined), takeWaiting: () => [] };
    const spans = [
      span({ trace: 1, id: 2, parent: 1, service: 'orders', kind: SpanKind.SERVER, startMs: 1, endMs: 9 }),
      span({ trace: 1, id: 3, parent: 99, service: 'orders', kind: SpanKind.SERVER, startMs: 1, endMs: 9 }),
    ];
    const { pairs, waiting } = findPairs(indexPiece(spans[0]!.traceId, spans), memory);
    expect(pairs.map(edge)).toEqual([`api:${spanId(1)} -> orders:${spanId(2)}`]);
    expect(waiting.map((w) => w.spanId)).toEqual([spanId(3)]);
  });

  it('pairs a late client span with server spans that were released waiting for it', () => {
    const waitingCallee = briefOf(span({ trace: 1, id: 2, parent: 1, service: 'orders', kind: SpanKind.SERVER, startMs: 1, endMs: 9 }));
    const taken: string[] = [];
    const memory: PairMemory = {
      released: () => undefined,
      takeWaiting: (id) => {
        taken.push(id);
        return id === spanId(1) ? [waitingCallee] : [];
      },
    };
    const spans = [span({ trace: 1, id: 1, service: 'api', kind: SpanKind.CLIENT, startMs: 0, endMs: 10 })];
    const { pairs } = findPairs(indexPiece(spans[0]!.traceId, spans), memory);
    expect(pairs.map(edge)).toEqual([`api:${spanId(1)} -> orders:${spanId(2)}`]);
    expect(taken).toEqual([spanId(1)]);
  });
});
