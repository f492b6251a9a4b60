import { describe, expect, it } from 'vitest';
import { CorrelationIndex } from './correlation-index.js';
import { RecentTraces } from './recent-traces.js';

describe('memory bounds', () => {
  it('RecentTraces forgets the least recently released traces beyond max_spans', () => {
    const r = new RecentTraces({ windowMs: 1_000, maxSpans: 4 });
    r.remember('t1', 0, ['a', 'b'], [], []);
    r.remember('t2', 1, ['c', 'd'], [], []);
    r.remember('t1', 2, ['e'], [], []); // t1 released again: now the newest
    expect(r.spanCount).toBe(3);
    expect([r.has('t1', 'a'), r.has('t1', 'e'), r.has('t2', 'c')]).toEqual([true, true, false]);
    r.expire(1_001);
    expect(r.has('t1', 'a')).toBe(true);
    r.expire(1_002);
    expect(r.has('t1', 'a')).toBe(false);
    expect(r.spanCount).toBe(0);
  });

  it('CorrelationIndex forgets the least recently updated IDs beyond max_correlation_ids', () => {
    const c = new CorrelationIndex({ windowMs: 1_000, maxIds: 2, maxPerId: 4 });
    const ref = (traceId: string) => ({ traceId, rootSpanId: '1', startNs: 0n });
    c.join('x', ref('t1'), 0);
    c.join('y', ref('t2'), 1);
    c.join('x', ref('t3'), 2);
    c.join('z', ref('t4'), 3); // y goes
    expect(c.size).toBe(2);
    expect(c.join('x', ref('t6'), 4).earlier.map((p) => p.traceId)).toEqual(['t1', 't3']);
    expect(c.join('y', ref('t5'), 5).earlier).toEqual([]); // forgotten (and z goes now)
    expect(c.join('z', ref('t7'), 6).earlier).toEqual([]);
  });
});
