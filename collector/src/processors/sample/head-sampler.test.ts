import { describe, expect, it } from 'vitest';
import { probabilityToThreshold } from './consistent-probability.js';
import { HeadSampler } from './head-sampler.js';
import { ADJUSTED_COUNT_ATTRIBUTE } from './marks.js';
import { span, traceIds, traceIdWithRandomness } from './sample-fixtures.js';

describe('head sampling', () => {
  it('makes the same decision for the same trace IDs on two instances, by the threshold arithmetic', () => {
    const ids = traceIds(20_000, 7);
    const decide = () => {
      const head = new HeadSampler(10);
      return ids.map((id) => head.keep(span(id), true));
    };
    const a = decide();
    const b = decide();
    expect(a).toEqual(b);
    const t = probabilityToThreshold(0.1)!;
    expect(a).toEqual(ids.map((id) => id.slice(-14) >= t));
    const kept = a.filter(Boolean).length;
    expect(kept).toBeGreaterThan(1_800);
    expect(kept).toBeLessThan(2_200);
  });

  it('records th and the adjusted count on kept spans', () => {
    const head = new HeadSampler(25);
    const kept = span(traceIdWithRandomness('c0000000000000'));
    const dropped = span(traceIdWithRandomness('bfffffffffffff'));
    expect(head.keep(kept, true)).toBe(true);
    expect(head.keep(dropped, true)).toBe(false);
    expect(kept.traceState).toBe('ot=th:c');
    expect(kept.attributes[ADJUSTED_COUNT_ATTRIBUTE]).toBe('4');
    expect(kept.attributeKinds?.[ADJUSTED_COUNT_ATTRIBUTE]).toBe('int');

    const half = span(traceIdWithRandomness('f0000000000000'));
    new HeadSampler(50).keep(half, true);
    expect(half.traceState).toBe('ot=th:8');
    const third = span(traceIdWithRandomness('f0000000000000'));
    new HeadSampler(30).keep(third, true);
    expect(third.attributeKinds?.[ADJUSTED_COUNT_ATTRIBUTE]).toBe('double');
    expect(Number(third.attributes[ADJUSTED_COUNT_ATTRIBUTE])).toBeCloseTo(10 / 3, 9);
  });

  it('draws on rv when the tracestate has one, not on the trace ID', () => {
    const head = new HeadSampler(25);
    const lowId = traceIdWithRandomness('00000000000000');
    expect(head.keep(span(lowId, { traceState: 'ot=rv:ffffffffffffff' }), false)).toBe(true);
    expect(head.keep(span(traceIdWithRandomness('ffffffffffffff'), { traceState: 'ot=rv:10000000000000' }), false)).toBe(false);
  });

  it('honours an upstream threshold: the higher one applies, and the tracestate keeps its other entries', () => {
    const head = new HeadSampler(25); // th:c
    // Upstream sampled at 12.5 % (th:e): stricter than ours, it stays.
    const stricter = span(traceIdWithRandomness('f0000000000000'), { traceState: 'vendor=x,ot=th:e;rv:f0000000000000;k:v' });
    expect(head.keep(stricter, true)).toBe(true);
    expect(stricter.traceState).toBe('vendor=x,ot=th:e;rv:f0000000000000;k:v');
    expect(stricter.attributes[ADJUSTED_COUNT_ATTRIBUTE]).toBe('8');
    // Upstream sampled at 50 % (th:8): ours raises it to th:c, ot moves to the front.
    const looser = span(traceIdWithRandomness('d0000000000000'), { traceState: 'vendor=x,ot=th:8;k:v' });
    expect(head.keep(looser, true)).toBe(true);
    expect(looser.traceState).toBe('ot=th:c;k:v,vendor=x');
    expect(looser.attributes[ADJUSTED_COUNT_ATTRIBUTE]).toBe('4');
    // Kept at 50 % upstream but below our threshold: dropped.
    expect(head.keep(span(traceIdWithRandomness('90000000000000'), { traceState: 'ot=th:8' }), true)).toBe(false);
  });

  it('passes spans through untouched at 100 %, except to record an upstream count', () => {
    const head = new HeadSampler(100);
    const plain = [span(traceIdWithRandomness('00000000000000')), span(traceIdWithRandomness('12345678901234'), { traceState: 'a=b' })];
    expect(head.sample(plain, true)).toBe(plain);
    expect(plain[0]!.attributes).toEqual({});
    expect(plain[0]!.traceState).toBe('');
    expect(plain[1]!.traceState).toBe('a=b');
    const upstream = span(traceIdWithRandomness('f0000000000000'), { traceState: 'ot=th:8' });
    head.keep(upstream, true);
    expect(upstream.traceState).toBe('ot=th:8');
    expect(upstream.attributes[ADJUSTED_COUNT_ATTRIBUTE]).toBe('2');
  });

  it('erases an upstream threshold its randomness fails (inconsistent), as the specification says', () => {
    const s = span(traceIdWithRandomness('10000000000000'), { traceState: 'ot=th:8;rv:10000000000000,a=b' });
    expect(new HeadSampler(100).keep(s, true)).toBe(true);
    expect(s.traceState).toBe('ot=rv:10000000000000,a=b');
    expect(s.attributes[ADJUSTED_COUNT_ATTRIBUTE]).toBe('1');
  });

  it('keeps nothing at 0 % and returns only the kept spans of a batch', () => {
    expect(new HeadSampler(0).sample([span(traceIdWithRandomness('ffffffffffffff'))], true)).toEqual([]);
    const batch = [
      span(traceIdWithRandomness('ffffffffffffff')),
      span(traceIdWithRandomness('00000000000000')),
      span(traceIdWithRandomness('c0000000000000')),
    ];
    expect(new HeadSampler(25).sample(batch, false)).toEqual([batch[0], batch[2]]);
  });
});
