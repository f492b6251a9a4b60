import { describe, expect, it } from 'vitest';
import { SpanKind } from '../../model/span.js';
import { briefOf } from './brief.js';
import { bucketLowerNs, bucketOf, bucketUpperNs, histogramQuantile } from './histogram.js';
import { ServiceGraphAggregator } from './side-rows.js';
import { span } from './stitch-fixtures.js';

function histogramOf(durationsNs: number[]) {
  const buckets = new Map<number, number>();
  for (const d of durationsNs) buckets.set(bucketOf(BigInt(d)), (buckets.get(bucketOf(BigInt(d))) ?? 0) + 1);
  return { buckets, minNs: Math.min(...durationsNs), maxNs: Math.max(...durationsNs) };
}

describe('duration histogram', () => {
  it('puts every duration inside its bucket bounds', () => {
    for (const d of [0, 1, 2, 3, 999, 1_000, 1_001, 123_456_789, 60_000_000_000, 2 ** 52]) {
      const i = bucketOf(BigInt(d));
      expect(d).toBeLessThanOrEqual(bucketUpperNs(i) * (1 + 1e-12));
      expect(d).toBeGreaterThanOrEqual(bucketLowerNs(i));
    }
    expect(bucketOf(1_000n ** 3n * 3_600n * 24n * 365n * 100n)).toBeLessThan(520); // a century fits a UInt16 key
  });

  it('estimates quantiles within the bucket width', () => {
    const durations = Array.from({ length: 1000 }, (_, i) => (i + 1) * 1_000_000); // 1..1000 ms
    const h = histogramOf(durations);
    for (const [q, exact] of [[0.5, 500e6], [0.9, 900e6], [0.99, 990e6]] as const) {
      expect(Math.abs(histogramQuantile(h, q) - exact) / exact).toBeLessThan(0.05);
    }
  });

  it('gives one call its own duration back, and 0 for no calls', () => {
    expect(histogramQuantile(histogramOf([42_000_000]), 0.99)).toBe(42_000_000);
    expect(histogramQuantile({ buckets: new Map(), minNs: 0, maxNs: 0 }, 0.5)).toBe(0);
  });
});

describe('service graph aggregation', () => {
  const call = (startMs: number, durationMs: number, opts: { callee?: string; op?: string; clientError?: boolean; serverError?: boolean } = {}) => ({
    caller: briefOf(span({ trace: 1, id: 1, service: 'api', kind: SpanKind.CLIENT, startMs, endMs: startMs + durationMs + 2, error: opts.clientError })),
    callee: briefOf(span({ trace: 1, id: 2, service: opts.callee ?? 'orders', kind: SpanKind.SERVER, name: opts.op ?? 'GET /orders', startMs: startMs + 1, endMs: startMs + 1 + durationMs, error: opts.serverError })),
  });

  it('writes one row per minute, caller, callee and operation, with the callee duration', () => {
    const g = new ServiceGraphAggregator();
    g.add(call(0, 10));
    g.add(call(1_000, 30, { serverError: true }));
    g.add(call(2_000, 20, { clientError: true }));
    g.add(call(61_000, 5)); // the next minute
    g.add(call(3_000, 7, { op: 'GET /other' }));
    const rows = g.drain();
    expect(rows).toHaveLength(3);
    const first = rows.find((r) => r.Operation === 'GET /orders' && r.Calls === 3)!;
    expect(first).toMatchObject({ Caller: 'api', Callee: 'orders', Errors: 2, DurationSumNs: '60000000', DurationMinNs: '10000000', DurationMaxNs: '30000000' });
    expect(first.Minute % 60).toBe(0);
    expect(Object.values(first.DurationBuckets).reduce((a, b) => a + b, 0)).toBe(3);
    expect(rows.find((r) => r.Calls === 1 && r.Operation === 'GET /orders')!.Minute).toBe(first.Minute + 60);
    expect(g.size).toBe(0);
    expect(g.drain()).toEqual([]);
  });
});
