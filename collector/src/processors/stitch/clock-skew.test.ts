import { describe, expect, it } from 'vitest';
import { SpanKind } from '../../model/span.js';
import { computePieceSkew, propagateOffsets, skewDelta } from './clock-skew.js';
import { ms, span, spanId } from './stitch-fixtures.js';
import { indexPiece } from './trace-piece.js';

const range = (startMs: number, endMs: number) => ({ startNs: ms(startMs), endNs: ms(endMs) });
const MS = 1_000_000n;

describe('skewDelta (Jaeger calculateSkew)', () => {
  it('leaves a child that fits its parent alone', () => {
    expect(skewDelta(range(0, 100), range(10, 90))).toBe(0n);
    expect(skewDelta(range(0, 100), range(0, 100))).toBe(0n);
  });

  it('centres a child that starts before or ends after its parent, splitting the latency', () => {
    // parent 100 ms, child 60 ms: 20 ms of latency each side, so the child should start at 20.
    expect(skewDelta(range(0, 100), range(-50, 10))).toBe(70n * MS);
    expect(skewDelta(range(0, 100), range(80, 140))).toBe(-60n * MS);
  });

  it('only keeps a longer child from starting first', () => {
    expect(skewDelta(range(0, 100), range(-30, 170))).toBe(30n * MS);
    expect(skewDelta(range(0, 100), range(10, 210))).toBe(0n);
  });
});

describe('clock skew over a trace', () => {
  // frontend CLIENT 2 → orders SERVER 3 (clock 500 ms behind) → INTERNAL 4 → CLIENT 5 → payments SERVER 6
  const skewed = () => [
    span({ trace: 1, id: 1, service: 'frontend', kind: SpanKind.SERVER, startMs: 0, endMs: 100 }),
    span({ trace: 1, id: 2, parent: 1, service: 'frontend', kind: SpanKind.CLIENT, startMs: 10, endMs: 90 }),
    span({ trace: 1, id: 3, parent: 2, service: 'orders', kind: SpanKind.SERVER, startMs: -485, endMs: -415 }),
    span({ trace: 1, id: 4, parent: 3, service: 'orders', startMs: -480, endMs: -420 }),
    span({ trace: 1, id: 5, parent: 4, service: 'orders', kind: SpanKind.CLIENT, startMs: -470, endMs: -430 }),
    span({ trace: 1, id: 6, parent: 5, service: 'payments', kind: SpanKind.SERVER, startMs: 35, endMs: 65 }),
  ];

  it('shifts a server span and its same-service subtree, and measures the next hop against the shifted client', () => {
    const spans = skewed();
    const { offsets, adjustments } = computePieceSkew(indexPiece(spans[0]!.traceId, spans), () => undefined);
    // orders SERVER: 70 ms inside an 80 ms client → starts 5 ms after it, at 15: shift +500 ms.
    expect(offsets.get(spanId(3))).toBe(500n * MS);
    expect(offsets.get(spanId(4))).toBe(500n * MS);
    expect(offsets.get(spanId(5))).toBe(500n * MS);
    // payments fits its client once that client is shifted (30..70): no shift of its own.
    expect(offsets.has(spanId(6))).toBe(false);
    expect(offsets.has(spanId(1))).toBe(false);
    expect(adjustments).toEqual([
      { spanId: spanId(3), parentSpanId: spanId(2), caller: 'frontend', callee: 'orders', startNs: ms(-485), offsetNs: 500n * MS },
    ]);
  });

  it('does not touch async consumers or spans that already fit', () => {
    const spans = [
      span({ trace: 1, id: 1, service: 'api', kind: SpanKind.PRODUCER, startMs: 0, endMs: 1 }),
      span({ trace: 1, id: 2, parent: 1, service: 'worker', kind: SpanKind.CONSUMER, startMs: 500, endMs: 900 }),
    ];
    expect(computePieceSkew(indexPiece(spans[0]!.traceId, spans), () => undefined).adjustments).toEqual([]);
  });

  it('measures a late piece against its client from an earlier piece, shifted by that client’s own offset', () => {
    const late = [span({ trace: 1, id: 6, parent: 5, service: 'payments', kind: SpanKind.SERVER, startMs: 35, endMs: 65 })];
    const client = { service: 'orders', kind: SpanKind.CLIENT, startNs: ms(-470), endNs: ms(-430), offsetNs: 500n * MS };
    const { adjustments } = computePieceSkew(indexPiece(late[0]!.traceId, late), (id) => (id === spanId(5) ? client : undefined));
    expect(adjustments).toEqual([]); // fits 30..70 once the client is shifted
    const unshifted = { ...client, offsetNs: 0n };
    const again = computePieceSkew(indexPiece(late[0]!.traceId, late), (id) => (id === spanId(5) ? unshifted : undefined));
    expect(again.adjustments.map((a) => a.offsetNs)).toEqual([-500n * MS]);
  });

  it('rebuilds every span offset at read time from the stored ones alone', () => {
    const spans = skewed();
    const { offsets, adjustments } = computePieceSkew(indexPiece(spans[0]!.traceId, spans), () => undefined);
    const stored = new Map(adjustments.map((a) => [a.spanId, a.offsetNs]));
    const nodes = spans.map((s) => ({ spanId: s.spanId, parentSpanId: s.parentSpanId, service: s.resource.serviceName }));
    expect(propagateOffsets(nodes, stored)).toEqual(offsets);
  });

  it('agrees with the ingest side on random traces', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const services = ['a', 'b', 'c'];
    const kinds = [SpanKind.SERVER, SpanKind.CLIENT, SpanKind.INTERNAL, SpanKind.CONSUMER];
    let shifted = 0;
    for (let round = 0; round < 50; round++) {
      const spans = [span({ trace: 1, id: 1, service: 'a', kind: SpanKind.SERVER, startMs: 0, endMs: 1000 })];
      for (let id = 2; id <= 40; id++) {
        const start = Math.floor(rand() * 2000) - 500;
        spans.push(
          span({
            trace: 1,
            id,
            parent: 1 + Math.floor(rand() * (id - 1)),
            service: services[Math.floor(rand() * 3)]!,
            kind: kinds[Math.floor(rand() * 4)]!,
            startMs: start,
            endMs: start + Math.floor(rand() * 600),
          }),
        );
      }
      const { offsets, adjustments } = computePieceSkew(indexPiece(spans[0]!.traceId, spans), () => undefined);
      const nodes = spans.map((s) => ({ spanId: s.spanId, parentSpanId: s.parentSpanId, service: s.resource.serviceName }));
      expect(propagateOffsets(nodes, new Map(adjustments.map((a) => [a.spanId, a.offsetNs])))).toEqual(offsets);
      shifted += adjustments.length;
    }
    expect(shifted).toBeGreaterThan(20); // the traces did exercise the shifting
  });
});
