import { describe, expect, it } from 'vitest';
import { ALWAYS_SAMPLE } from './consistent-probability.js';
import { BoundedMap, DecisionCache } from './decision-cache.js';

describe('BoundedMap', () => {
  it('forgets the entry inserted longest ago beyond its capacity', () => {
    const m = new BoundedMap<number>(3);
    for (const [i, k] of ['a', 'b', 'c', 'd', 'e'].entries()) m.set(k, i);
    expect(m.size).toBe(3);
    expect(['a', 'b', 'c', 'd', 'e'].map((k) => m.has(k))).toEqual([false, false, true, true, true]);
  });

  it('changes the value of a key set again without making it younger', () => {
    const m = new BoundedMap<number>(2);
    m.set('a', 1);
    m.set('b', 2);
    m.set('a', 3);
    expect(m.get('a')).toBe(3);
    m.set('c', 4);
    expect(m.has('a')).toBe(false);
    expect(m.get('b')).toBe(2);
  });

  it('holds nothing at capacity 0 and stays at capacity over many keys', () => {
    const off = new BoundedMap<number>(0);
    off.set('a', 1);
    expect(off.size).toBe(0);
    const m = new BoundedMap<number>(1000);
    for (let i = 0; i < 100_000; i++) m.set(String(i), i);
    expect(m.size).toBe(1000);
    expect(m.has('98999')).toBe(false);
    expect(m.get('99000')).toBe(99000);
  });
});

describe('DecisionCache', () => {
  it('remembers kept traces with their threshold and dropped ones, each bounded', () => {
    const cache = new DecisionCache(2, 1);
    cache.remember('t1', ALWAYS_SAMPLE);
    cache.remember('t2', 'c0000000000000');
    cache.remember('t3', undefined);
    expect(cache.sampledThreshold('t2')).toBe('c0000000000000');
    expect(cache.isNotSampled('t3')).toBe(true);
    expect(cache.sampledThreshold('t3')).toBeUndefined();
    cache.remember('t4', undefined);
    expect(cache.isNotSampled('t3')).toBe(false);
    expect([cache.sampledSize, cache.notSampledSize]).toEqual([2, 1]);
  });
});
