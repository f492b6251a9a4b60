import { describe, expect, it } from 'vitest';
import { skewDelta } from '../processors/stitch/clock-skew.js';
import { criticalPath, type CriticalPath } from './critical-path.js';
import { at, MS, span } from './trace-fixture.testing.js';

/** The path as `spanId start-end` in milliseconds from the origin, easy to read in a failure. */
function path(result: CriticalPath | undefined): string[] {
  return result!.segments.map((s) => `${s.spanId} ${Number(s.startNs - at(0)) / 1e6}-${Number(s.endNs - at(0)) / 1e6}`);
}

function selfMs(result: CriticalPath | undefined, spanId: string): number {
  return Number(result!.selfTimes.find((s) => s.spanId === spanId)!.selfNs / 1000n) / 1000;
}

describe('critical path', () => {
  it('follows the branch of an async fan-out that finishes last and leaves fire-and-forget work off the path', () => {
    const trace = [
      span('root', '', 0, 100, { kind: 'Server' }),
      span('a', 'root', 5, 40),
      span('b', 'root', 5, 90),
      span('b1', 'b', 10, 80),
      span('c', 'root', 5, 60),
      // Fire-and-forget: still running when the root answered.
      span('d', 'root', 50, 150),
    ];
    const result = criticalPath(trace);
    expect(result!.rootSpanId).toBe('root');
    expect(path(result)).toEqual(['root 0-5', 'b 5-10', 'b1 10-80', 'b 80-90', 'root 90-100']);
    expect(result!.asyncSpanIds).toEqual(['d']);
    // The segments add up to the end-to-end latency, and touch end to start.
    expect(result!.segments.reduce((s, x) => s + x.durationNs, 0n)).toBe(100n * MS);
    for (let i = 1; i < result!.segments.length; i++) expect(result!.segments[i]!.startNs).toBe(result!.segments[i - 1]!.endNs);
    expect(result!.selfTimes.find((s) => s.spanId === 'b')!.criticalNs).toBe(15n * MS);
    expect(result!.selfTimes.find((s) => s.spanId === 'a')!.criticalNs).toBe(0n);
  });

  it('gives self time as duration minus the union of the children, clipped to the span', () => {
    const result = criticalPath([
      span('root', '', 0, 100),
      span('a', 'root', 5, 40),
      span('b', 'root', 5, 90),
      span('b1', 'b', 10, 80),
      span('c', 'root', 5, 60),
      span('d', 'root', 50, 150),
    ]);
    // Children cover 5-100 of the root (d clipped at 100): 5 ms left.
    expect(selfMs(result, 'root')).toBe(5);
    expect(selfMs(result, 'b')).toBe(15);
    expect(selfMs(result, 'b1')).toBe(70);
    expect(selfMs(result, 'd')).toBe(100);
    // Most self time first.
    expect(result!.selfTimes.map((s) => s.spanId)).toEqual(['d', 'b1', 'c', 'a', 'b', 'root']);
  });

  it('walks sequential children one after the other, back to back', () => {
    const result = criticalPath([span('root', '', 0, 100), span('a', 'root', 10, 30), span('b', 'root', 30, 70)]);
    expect(path(result)).toEqual(['root 0-10', 'a 10-30', 'b 30-70', 'root 70-100']);
  });

  it('puts a clock-skewed server span on the path once its skew is adjusted', () => {
    const root = span('root', '', 0, 100, { service: 'front' });
    const client = span('client', 'root', 10, 50, { service: 'front', kind: 'Client' });
    // The server's clock runs 20 ms late: as sent, it ends after its client.
    const raw = span('server', 'client', 30, 60, { service: 'back', kind: 'Server' });
    expect(criticalPath([root, client, raw])!.asyncSpanIds).toEqual(['server']);

    // The offset the stitch processor stores for it (the same rule), applied as adjustClockSkew does.
    const offset = skewDelta({ startNs: at(10), endNs: at(50) }, { startNs: at(30), endNs: at(60) });
    expect(offset).toBe(-15n * MS);
    const adjusted = { ...raw, startTimeUnixNano: (at(30) + offset).toString(), endTimeUnixNano: (at(60) + offset).toString() };
    const result = criticalPath([root, client, adjusted]);
    expect(result!.asyncSpanIds).toEqual([]);
    expect(path(result)).toEqual(['root 0-10', 'client 10-15', 'server 15-45', 'client 45-50', 'root 50-100']);
  });

  it('clips a child that starts before its parent to the parent start', () => {
    const result = criticalPath([span('root', '', 0, 100), span('client', 'root', 10, 50, { kind: 'Client' }), span('server', 'client', 5, 45, { service: 'b', kind: 'Server' })]);
    expect(path(result)).toEqual(['root 0-10', 'server 10-45', 'client 45-50', 'root 50-100']);
  });

  it('measures the longest root when the trace has several tops, and survives a parent cycle', () => {
    const result = criticalPath([span('orphan', 'missing', 0, 500), span('short', '', 0, 10), span('long', '', 0, 200), span('x', 'y', 0, 1), span('y', 'x', 0, 1)]);
    expect(result!.rootSpanId).toBe('long');
    expect(path(result)).toEqual(['long 0-200']);
    expect(criticalPath([span('orphan', 'missing', 0, 500), span('o2', 'gone', 0, 20)])!.rootSpanId).toBe('orphan');
    expect(criticalPath([])).toBeUndefined();
  });

  it('handles a chain 10,000 spans deep without recursion', () => {
    const depth = 10_000;
    const trace = Array.from({ length: depth }, (_, i) => span(`s${i}`, i === 0 ? '' : `s${i - 1}`, i, 2 * depth - i));
    const result = criticalPath(trace);
    expect(result!.segments).toHaveLength(2 * depth - 1);
    expect(result!.segments.reduce((s, x) => s + x.durationNs, 0n)).toBe(BigInt(2 * depth) * MS);
    expect(selfMs(result, 's0')).toBe(2);
    expect(selfMs(result, `s${depth - 1}`)).toBe(2);
  });
});
