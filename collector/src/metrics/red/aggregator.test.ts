import { describe, expect, it } from 'vitest';
import { testSpan } from '../../model/span.testing.js';
import { SpanKind, StatusCode, type Span } from '../../model/span.js';
import { histogramQuantile } from '../../processors/stitch/histogram.js';
import { CardinalityCap, OVERFLOW, RedAggregator, sampleOf, type RedRow } from './aggregator.js';

const MS = 1_000_000n;
const MINUTE_NS = 60_000n * MS;
const T0 = 1_700_000_040n * 1_000_000_000n; // a whole minute
const scope = { name: '', version: '', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' };
const resourceOf = (service: string) => ({ attributes: { 'service.name': service }, droppedAttributesCount: 0, schemaUrl: '', serviceName: service });

function span(service: string, name: string, startNs: bigint, durationNs: bigint, fields: Partial<Span> = {}): Span {
  return testSpan({ resource: resourceOf(service), scope, traceId: '1'.repeat(32), spanId: '2'.repeat(16), name, kind: SpanKind.SERVER, startTimeUnixNano: startNs, endTimeUnixNano: startNs + durationNs, ...fields });
}

const wide = () => new CardinalityCap({ maxServices: 100, maxOperationsPerService: 100 });

/** Sums rows as `flowtrace_red`'s GROUP BY does (sum, min, max, sumMap). */
function merge(rows: readonly RedRow[]) {
  const buckets = new Map<number, number>();
  for (const r of rows) for (const [b, n] of Object.entries(r.DurationBuckets)) buckets.set(Number(b), (buckets.get(Number(b)) ?? 0) + n);
  return {
    requests: rows.reduce((s, r) => s + r.Requests, 0),
    errors: rows.reduce((s, r) => s + r.Errors, 0),
    sumNs: rows.reduce((s, r) => s + BigInt(r.DurationSumNs), 0n),
    histogram: { buckets, minNs: Math.min(...rows.map((r) => Number(r.DurationMinNs))), maxNs: Math.max(...rows.map((r) => Number(r.DurationMaxNs))) },
  };
}

function exactQuantile(sorted: readonly number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}

describe('RedAggregator', () => {
  it('counts requests, errors and durations per minute, service, operation and kind', () => {
    const cap = wide();
    const agg = new RedAggregator();
    const spans = [
      span('shop', 'GET /a', T0 + 1n * MS, 10n * MS),
      span('shop', 'GET /a', T0 + 59_999n * MS, 30n * MS, { statusCode: StatusCode.ERROR }),
      span('shop', 'GET /a', T0 + MINUTE_NS, 20n * MS), // next minute
      span('shop', 'GET /a', T0 + 5n * MS, 40n * MS, { kind: SpanKind.CLIENT }),
      span('billing', 'GET /a', T0, 50n * MS, { statusCode: StatusCode.OK }),
      span('shop', 'GET /b', T0 + 2n * MS, -5n * MS), // clock went backwards: 0
    ];
    for (const s of spans) agg.add(sampleOf(s, cap));
    const rows = agg.drain();
    const key = (r: RedRow) => `${r.Minute} ${r.ServiceName} ${r.Operation} ${r.SpanKind}`;
    const minute = Number(T0 / 1_000_000_000n);
    expect(Object.fromEntries(rows.map((r) => [key(r), [r.Requests, r.Errors, r.DurationSumNs, r.DurationMinNs, r.DurationMaxNs]]))).toEqual({
      [`${minute} shop GET /a Server`]: [2, 1, String(40n * MS), String(10n * MS), String(30n * MS)],
      [`${minute + 60} shop GET /a Server`]: [1, 0, String(20n * MS), String(20n * MS), String(20n * MS)],
      [`${minute} shop GET /a Client`]: [1, 0, String(40n * MS), String(40n * MS), String(40n * MS)],
      [`${minute} billing GET /a Server`]: [1, 0, String(50n * MS), String(50n * MS), String(50n * MS)],
      [`${minute} shop GET /b Server`]: [1, 0, '0', '0', '0'],
    });
    // Drained: the next flush starts from nothing.
    expect(agg.size).toBe(0);
    expect(agg.drain()).toEqual([]);
  });

  it('merges partial rows of the same minute exactly: the sum of the parts is the whole', () => {
    const cap = wide();
    const whole = new RedAggregator();
    const parts = [new RedAggregator(), new RedAggregator(), new RedAggregator()];
    const durations: number[] = [];
    let seed = 42;
    for (let i = 0; i < 3_000; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      const d = BigInt(1 + (seed % 5_000)) * 1_000n; // 1 µs … 5 ms
      const s = sampleOf(span('shop', 'op', T0 + BigInt(i) * 1_000n, d, { statusCode: i % 7 === 0 ? StatusCode.ERROR : StatusCode.UNSET }), cap);
      whole.add(s);
      parts[i % 3].add(s);
      durations.push(Number(d));
    }
    const a = merge(whole.drain());
    const b = merge(parts.flatMap((p) => p.drain()));
    expect(b.requests).toBe(3_000);
    expect(b.errors).toBe(Math.ceil(3_000 / 7));
    expect(b).toEqual(a);
    expect(b.sumNs).toBe(BigInt(durations.reduce((s, d) => s + d, 0)));
  });

  it('gives p50/p90/p99 within the histogram’s 9 % of the exact values', () => {
    const cap = wide();
    const datasets: Record<string, number[]> = {
      // 1 ms … 1000 ms evenly.
      uniform: Array.from({ length: 1_000 }, (_, i) => (i + 1) * 1_000_000),
      // Most fast, a slow tail: 900 × 5–14 ms, 90 × 200–289 ms, 10 × 2–2.9 s.
      tail: [...Array.from({ length: 900 }, (_, i) => (5 + (i % 10)) * 1_000_000), ...Array.from({ length: 90 }, (_, i) => (200 + i) * 1_000_000), ...Array.from({ length: 10 }, (_, i) => (2_000 + 100 * i) * 1_000_000)],
    };
    for (const [name, durations] of Object.entries(datasets)) {
      // Spread over three flushes of two minutes, then merged as a range query would.
      const aggs = [new RedAggregator(), new RedAggregator(), new RedAggregator()];
      durations.forEach((d, i) => aggs[i % 3].add(sampleOf(span('shop', name, T0 + BigInt(i % 2) * MINUTE_NS, BigInt(d)), cap)));
      const { histogram } = merge(aggs.flatMap((a) => a.drain()));
      const sorted = [...durations].sort((x, y) => x - y);
      for (const q of [0.5, 0.9, 0.99]) {
        const exact = exactQuantile(sorted, q);
        const estimate = histogramQuantile(histogram, q);
        expect(Math.abs(estimate - exact) / exact, `${name} p${q * 100}: ${estimate} vs ${exact}`).toBeLessThanOrEqual(0.09);
      }
    }
  });
});

describe('CardinalityCap', () => {
  it('keeps the first operations of each service and counts the rest under __other__', () => {
    const cap = new CardinalityCap({ maxServices: 2, maxOperationsPerService: 2 });
    const keys = [
      cap.keyOf('shop', 'a', 'Server'),
      cap.keyOf('shop', 'b', 'Server'),
      cap.keyOf('shop', 'c', 'Server'), // over the cap
      cap.keyOf('shop', 'a', 'Client'), // (a, Client) is another pair: over the cap too
      cap.keyOf('shop', 'a', 'Server'), // known: still its own
      cap.keyOf('billing', 'c', 'Server'), // another service has its own budget
      cap.keyOf('mail', 'x', 'Server'), // a third service: over the service cap
      cap.keyOf('mail', 'y', 'Server'),
    ].map((k) => `${k.service}/${k.operation}/${k.kind}`);
    expect(keys).toEqual([
      'shop/a/Server',
      'shop/b/Server',
      `shop/${OVERFLOW}/Server`,
      `shop/${OVERFLOW}/Client`,
      'shop/a/Server',
      'billing/c/Server',
      `${OVERFLOW}/${OVERFLOW}/Server`,
      `${OVERFLOW}/${OVERFLOW}/Server`,
    ]);
  });

  it('bounds the rows of a minute however many span names arrive', () => {
    const cap = new CardinalityCap({ maxServices: 10, maxOperationsPerService: 50 });
    const agg = new RedAggregator();
    for (let i = 0; i < 10_000; i++) agg.add(sampleOf(span('shop', `GET /users/${i}`, T0, MS), cap));
    const rows = agg.drain();
    expect(rows).toHaveLength(51);
    expect(rows.reduce((s, r) => s + r.Requests, 0)).toBe(10_000);
    expect(rows.find((r) => r.Operation === OVERFLOW)?.Requests).toBe(10_000 - 50);
  });
});
