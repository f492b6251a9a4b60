import { describe, expect, it } from 'vitest';
import { StatusCode, type Span } from '../../model/span.js';
import { policySchema, type PolicyConfig } from './config.js';
import { ADJUSTED_COUNT_ATTRIBUTE } from './marks.js';
import { buildPolicy } from './policies/build.js';
import type { Policy } from './policies/policy.js';
import { rng, randomTraceId, span, trace, traceIds, traceIdWithRandomness } from './sample-fixtures.js';
import { TailSampler, type TailSamplerOptions, type TraceDecision } from './tail-sampler.js';

const WAIT = 1_000;

function policies(...configs: unknown[]): Policy[] {
  return configs.map((c) => buildPolicy(policySchema.parse(c) as PolicyConfig));
}

const errors = { name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } };
const slow = { name: 'slow', type: 'latency', latency: { threshold_ms: 1_000 } };
const onePercent = { name: 'floor', type: 'probabilistic', probabilistic: { sampling_percentage: 1 } };

function sampler(ps: Policy[], options: Partial<TailSamplerOptions> = {}) {
  const kept: Span[] = [];
  const decisions: TraceDecision[] = [];
  const late = { kept: 0, dropped: 0 };
  const failures: string[] = [];
  const tail = new TailSampler(
    { decisionWaitMs: WAIT, maxTraces: 100_000, maxSpans: 1_000_000, sampledCacheSize: 100_000, nonSampledCacheSize: 100_000, policies: ps, ...options },
    {
      kept: (spans) => {
        for (const s of spans) kept.push(s);
      },
      decided: (d) => decisions.push(d),
      late: (n, sampled) => {
        if (sampled) late.kept += n;
        else late.dropped += n;
      },
      failed: (traceId) => failures.push(traceId),
    },
  );
  return { tail, kept, decisions, late, failures, keptTraces: () => new Set(kept.map((s) => s.traceId)) };
}

describe('tail sampling', () => {
  it('keeps every error trace and every slow trace under a 1 % probabilistic floor', () => {
    const { tail, kept, keptTraces } = sampler(policies(errors, slow, onePercent));
    const ids = traceIds(10_000, 11);
    const errorIds = new Set<string>();
    const slowIds = new Set<string>();
    ids.forEach((id, i) => {
      const spans = trace(id, { spans: 3 });
      if (i % 100 < 3) {
        spans[1]!.statusCode = StatusCode.ERROR; // 3 % errors
        errorIds.add(id);
      } else if (i % 100 === 50) {
        spans[2]!.endTimeUnixNano += 2_000_000_000n; // 1 % slow
        slowIds.add(id);
      }
      tail.offer(spans, 0);
    });
    tail.tick(WAIT - 1);
    expect(kept).toEqual([]); // nothing is complete before the wait
    tail.tick(WAIT);
    const keptIds = keptTraces();
    for (const id of errorIds) expect(keptIds.has(id)).toBe(true);
    for (const id of slowIds) expect(keptIds.has(id)).toBe(true);
    const byFloor = keptIds.size - errorIds.size - slowIds.size;
    expect(byFloor).toBeGreaterThan(96 - 40); // 1 % of 9,600
    expect(byFloor).toBeLessThan(96 + 40);
    expect(kept.length).toBe(keptIds.size * 3); // whole traces
    // Deterministic keeps stand for themselves; floor keeps for 100 each.
    for (const s of kept) {
      const expected = errorIds.has(s.traceId) || slowIds.has(s.traceId) ? '1' : '100';
      expect(s.attributes[ADJUSTED_COUNT_ATTRIBUTE]).toBe(expected);
      expect(s.traceState).toBe(expected === '1' ? '' : 'ot=th:fd70a3d70a3d71');
    }
  });

  it('waits decision_wait_ms after the latest span of a trace', () => {
    const { tail, decisions } = sampler(policies({ name: 'all', type: 'always_sample' }));
    const id = traceIdWithRandomness('12345678901234');
    tail.offer([span(id)], 0);
    tail.offer([span(id)], 800);
    tail.tick(1_500);
    expect(decisions).toEqual([]);
    tail.tick(1_800);
    expect(decisions.map((d) => [d.spanCount, d.reason])).toEqual([[2, 'complete']]);
  });

  it('makes late spans follow the decision, kept and dropped alike', () => {
    const { tail, kept, late } = sampler(policies(errors));
    const failing = traceIdWithRandomness('11111111111111');
    const fine = traceIdWithRandomness('22222222222222');
    tail.offer([span(failing, { status: StatusCode.ERROR }), span(fine)], 0);
    tail.tick(WAIT);
    expect(kept.map((s) => s.traceId)).toEqual([failing]);
    const lateKept = span(failing);
    tail.offer([lateKept, span(fine), span(fine)], WAIT + 10);
    expect(kept.at(-1)).toBe(lateKept); // handed on at once, not held again
    expect(lateKept.attributes[ADJUSTED_COUNT_ATTRIBUTE]).toBe('1');
    expect(late).toEqual({ kept: 1, dropped: 2 });
    expect(tail.traceCount).toBe(0);
  });

  it('decides the oldest traces early beyond max_traces or max_spans, and their later spans follow', () => {
    const { tail, decisions, late } = sampler(policies(errors), { maxTraces: 2, maxSpans: 5 });
    const [a, b, c, d] = traceIds(4, 5);
    tail.offer([span(a!)], 0);
    tail.offer([span(b!)], 1);
    tail.offer([span(c!)], 2);
    expect(decisions.map((x) => [x.traceId, x.reason])).toEqual([[a, 'evicted']]);
    tail.offer(trace(d!, { spans: 5 }), 3); // 3 traces, then 1 + 5 spans: both bounds press
    expect(decisions.map((x) => [x.traceId, x.reason])).toEqual([
      [a, 'evicted'],
      [b, 'evicted'],
      [c, 'evicted'],
    ]);
    expect([tail.traceCount, tail.heldSpans]).toEqual([1, 5]);
    tail.offer([span(a!)], 4);
    expect(late.dropped).toBe(1);
  });

  it('records the combined threshold: tail probability over a head threshold, the smallest count over several keeps', () => {
    const { tail, kept } = sampler(policies(errors, { name: 'quarter', type: 'probabilistic', probabilistic: { sampling_percentage: 25 } }));
    // All three were head-sampled at 50 % (th:8) and have R = f…: the 25 % policy keeps them.
    const plain = traceIdWithRandomness('f0000000000000');
    const failing = traceIdWithRandomness('f1000000000000');
    const stricter = traceIdWithRandomness('f2000000000000'); // upstream 12.5 % (th:e) beats the tail's 25 %
    tail.offer([span(plain, { traceState: 'ot=th:8,v=1' })], 0);
    tail.offer([span(failing, { traceState: 'ot=th:8', status: StatusCode.ERROR })], 0);
    tail.offer([span(stricter, { traceState: 'ot=th:e' })], 0);
    tail.flush(0);
    const of = (id: string) => kept.find((s) => s.traceId === id)!;
    expect([of(plain).traceState, of(plain).attributes[ADJUSTED_COUNT_ATTRIBUTE]]).toEqual(['ot=th:c,v=1', '4']);
    expect([of(failing).traceState, of(failing).attributes[ADJUSTED_COUNT_ATTRIBUTE]]).toEqual(['ot=th:8', '2']);
    expect([of(stricter).traceState, of(stricter).attributes[ADJUSTED_COUNT_ATTRIBUTE]]).toEqual(['ot=th:e', '8']);
  });

  it('asks rate limits only about traces no other policy keeps, and counts their keeps as 1 × head', () => {
    const { tail, kept, decisions } = sampler(policies(errors, { name: 'rate', type: 'rate_limiting', rate_limiting: { spans_per_second: 2 } }));
    const ids = traceIds(5, 9);
    for (const id of ids.slice(0, 3)) tail.offer([span(id, { status: StatusCode.ERROR })], 0);
    tail.offer([span(ids[3]!, { traceState: 'ot=th:8' })], 0);
    tail.offer([span(ids[4]!)], 0);
    tail.flush(0);
    expect(kept.length).toBe(5); // errors spent none of the 2 spans the rate allows
    expect(decisions[0]!.policies).toEqual([{ name: 'errors', sampled: true }]);
    expect(decisions[3]!.policies).toEqual([
      { name: 'errors', sampled: false },
      { name: 'rate', sampled: true },
    ]);
    expect(kept.find((s) => s.traceId === ids[3])!.attributes[ADJUSTED_COUNT_ATTRIBUTE]).toBe('2');
  });

  it('holds a rate limit over simulated seconds', () => {
    const { tail, decisions } = sampler(policies({ name: 'rate', type: 'rate_limiting', rate_limiting: { spans_per_second: 100 } }), { decisionWaitMs: 100 });
    const next = rng(21);
    const keptPerSecond = new Map<number, number>();
    let nowMs = 0;
    let keptOf = 0;
    // 1,000 spans/s offered (20 traces of 5 spans every 100 ms) for 20 s.
    for (let step = 0; step < 200; step++, nowMs += 100) {
      for (let i = 0; i < 20; i++) tail.offer(trace(randomTraceId(next), { spans: 5 }), nowMs);
      tail.tick(nowMs);
      for (; keptOf < decisions.length; keptOf++) {
        const d = decisions[keptOf]!;
        if (d.sampled) keptPerSecond.set(Math.floor(nowMs / 1000), (keptPerSecond.get(Math.floor(nowMs / 1000)) ?? 0) + d.spanCount);
      }
    }
    const seconds = [...keptPerSecond.entries()].sort((a, b) => a[0] - b[0]);
    expect(seconds[0]![1]).toBeLessThanOrEqual(200); // the first second also spends the initial burst
    for (const [, spans] of seconds.slice(1, -1)) {
      expect(spans).toBeGreaterThanOrEqual(90);
      expect(spans).toBeLessThanOrEqual(110);
    }
    const total = seconds.reduce((sum, [, n]) => sum + n, 0);
    expect(total).toBeLessThanOrEqual(100 * 20 + 100);
    expect(total).toBeGreaterThanOrEqual(100 * 19);
  });

  it('keeps memory bounded under 1,000,000 traces offered', () => {
    const bounds = { maxTraces: 1_000, maxSpans: 1_500, sampledCacheSize: 2_000, nonSampledCacheSize: 5_000 };
    const correlation = { name: 'debug', type: 'correlation_id', correlation_id: { flag: [{ key: 'debug' }], max_flagged: 100 } };
    let keptSpans = 0;
    const tail = new TailSampler(
      { decisionWaitMs: 50, ...bounds, policies: policies(errors, onePercent, correlation) },
      {
        kept: (spans) => {
          keptSpans += spans.length;
        },
      },
    );
    const next = rng(99);
    const sharedAttributes = {};
    let previous: string[] = [];
    for (let batch = 0; batch < 1_000; batch++) {
      const nowMs = batch * 10;
      const spans: Span[] = [];
      const ids: string[] = [];
      for (let i = 0; i < 1_000; i++) {
        const id = randomTraceId(next);
        ids.push(id);
        const s = span(id, i === 0 ? { status: StatusCode.ERROR, attributes: { debug: 'true', 'flowtrace.correlation_id': `c${batch}` } } : {});
        if (i !== 0) s.attributes = sharedAttributes; // small spans: most share one empty attributes object
        spans.push(s);
      }
      // Late spans of the previous batch's traces, some still held, some decided.
      for (const id of previous.slice(0, 50)) spans.push(span(id));
      previous = ids;
      tail.offer(spans, nowMs);
      tail.tick(nowMs);
      expect(tail.traceCount).toBeLessThanOrEqual(bounds.maxTraces);
      expect(tail.heldSpans).toBeLessThanOrEqual(bounds.maxSpans);
      expect(tail.sampledCacheSize).toBeLessThanOrEqual(bounds.sampledCacheSize);
      expect(tail.notSampledCacheSize).toBeLessThanOrEqual(bounds.nonSampledCacheSize);
    }
    tail.flush(1_000_000);
    expect(tail.traceCount).toBe(0);
    // One error trace per batch, about 1 % of the rest, and late spans of kept traces.
    expect(keptSpans).toBeGreaterThan(1_000 + 9_000);
    expect(keptSpans).toBeLessThan(1_000 + 11_000 + 2_000);
  }, 30_000);

  it('keeps a trace whose policy throws, and says so', () => {
    const broken: Policy = {
      name: 'broken',
      spendsBudget: false,
      evaluate: () => {
        throw new Error('bug');
      },
    };
    const { tail, kept, failures } = sampler([broken]);
    const id = traceIdWithRandomness('00000000000000');
    tail.offer([span(id)], 0);
    tail.flush(0);
    expect(kept.map((s) => s.traceId)).toEqual([id]);
    expect(failures).toEqual([id]);
  });
});
