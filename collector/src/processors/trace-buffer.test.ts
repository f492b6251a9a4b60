import { describe, expect, it } from 'vitest';
import type { Span } from '../model/span.js';
import { TraceBuffer, type ReleaseReason } from './trace-buffer.js';

const span = (traceId: string, name = 's') => ({ traceId, name }) as Span;

function buffer(options: { decisionWaitMs: number; maxTraces: number; maxSpans: number; maxHoldMs?: number } = { decisionWaitMs: 100, maxTraces: 10, maxSpans: 100 }) {
  const released: Array<[string, number, ReleaseReason]> = [];
  const b = new TraceBuffer(options, (t, reason) => released.push([t.traceId, t.spans.length, reason]));
  return { b, released };
}

describe('TraceBuffer', () => {
  it('releases a trace once no span arrived for the wait', () => {
    const { b, released } = buffer();
    b.add([span('a'), span('a')], 0);
    b.add([span('b')], 50);
    b.add([span('a')], 60);
    b.release(149);
    expect(released).toEqual([]);
    b.release(150); // b's wait is over at 150, a's at 160
    expect(released).toEqual([['b', 1, 'complete']]);
    b.release(160);
    expect(released).toEqual([
      ['b', 1, 'complete'],
      ['a', 3, 'complete'],
    ]);
    expect(b.traceCount).toBe(0);
    expect(b.heldSpans).toBe(0);
  });

  it('releases a trace whose spans never stop coming once it has been held maxHoldMs', () => {
    const { b, released } = buffer({ decisionWaitMs: 100, maxTraces: 10, maxSpans: 100, maxHoldMs: 1_000 });
    for (let t = 0; t < 1_000; t += 50) {
      b.add([span('busy')], t);
      b.add(t === 500 ? [span('quiet')] : [], t);
      b.release(t);
    }
    expect(released).toEqual([['quiet', 1, 'complete']]);
    b.add([span('busy')], 1_000);
    b.release(1_000); // held since 0: out, with everything it has
    expect(released).toEqual([
      ['quiet', 1, 'complete'],
      ['busy', 21, 'max_hold'],
    ]);
    expect(b.heldSpans).toBe(0);
    b.add([span('busy')], 1_010); // a later span starts over
    b.release(1_110);
    expect(released.at(-1)).toEqual(['busy', 1, 'complete']);
  });

  it('evicts the least recently updated trace beyond its bounds', () => {
    const { b, released } = buffer({ decisionWaitMs: 100, maxTraces: 2, maxSpans: 4 });
    b.add([span('a')], 0);
    b.add([span('b')], 1);
    b.add([span('a')], 2);
    b.add([span('c')], 3); // 3 traces: b (least recently updated) goes
    expect(released).toEqual([['b', 1, 'evicted']]);
    b.add([span('c'), span('c'), span('c')], 4); // 5 spans: a goes
    expect(released).toEqual([
      ['b', 1, 'evicted'],
      ['a', 2, 'evicted'],
    ]);
    expect(b.heldSpans).toBe(4);
  });

  it('stays bounded under a million traces', () => {
    const { b, released } = buffer({ decisionWaitMs: 1_000_000, maxTraces: 1000, maxSpans: 5000 });
    for (let i = 0; i < 1_000_000; i++) b.add([span(`t${i}`)], i);
    expect(b.traceCount).toBe(1000);
    expect(released.length).toBe(999_000);
  });

  it('releases everything on shutdown', () => {
    const { b, released } = buffer();
    b.add([span('a'), span('b')], 0);
    b.releaseAll();
    expect(released.map((r) => r[2])).toEqual(['shutdown', 'shutdown']);
  });
});
