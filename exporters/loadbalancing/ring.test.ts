import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hash32, HashRing } from './ring.js';

const TRACES = 100_000;
const traceIds = Array.from({ length: TRACES }, () => randomBytes(16).toString('hex'));
const three = ['10.0.0.1:4317', '10.0.0.2:4317', '10.0.0.3:4317'];

function shares(ring: HashRing): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of traceIds) {
    const owner = ring.owner(id)!;
    counts.set(owner, (counts.get(owner) ?? 0) + 1);
  }
  return counts;
}

describe('consistent-hash ring', () => {
  it('spreads 100k random trace IDs over 3 backends within ±20 % of a third each', () => {
    const counts = shares(new HashRing(three));
    expect([...counts.keys()].sort()).toEqual(three);
    for (const n of counts.values()) {
      expect(n).toBeGreaterThan((TRACES / 3) * 0.8);
      expect(n).toBeLessThan((TRACES / 3) * 1.2);
    }
  });

  it('moves only about a quarter of the traces, all to the new backend, when a 4th joins', () => {
    const before = new HashRing(three);
    const after = new HashRing([...three, '10.0.0.4:4317']);
    let moved = 0;
    for (const id of traceIds) {
      const a = before.owner(id);
      const b = after.owner(id);
      if (a !== b) {
        moved++;
        expect(b).toBe('10.0.0.4:4317');
      }
    }
    expect(moved / TRACES).toBeGreaterThan(0.25 * 0.8);
    expect(moved / TRACES).toBeLessThan(0.25 * 1.2);
  });

  it('moves only the removed backend\'s traces when one leaves', () => {
    const before = new HashRing([...three, '10.0.0.4:4317']);
    const after = new HashRing(three);
    for (const id of traceIds.slice(0, 20_000)) {
      if (before.owner(id) !== '10.0.0.4:4317') expect(after.owner(id)).toBe(before.owner(id));
    }
  });

  it('routes the same set alike whatever the order it is given in (every collector agrees)', () => {
    const a = new HashRing(three);
    const b = new HashRing([...three].reverse());
    const c = new HashRing([three[1]!, three[2]!, three[0]!, three[1]!]);
    expect(b.endpoints).toEqual(a.endpoints);
    for (const id of traceIds.slice(0, 20_000)) {
      expect(b.owner(id)).toBe(a.owner(id));
      expect(c.owner(id)).toBe(a.owner(id));
    }
  });

  it('is stable across processes: the hash is a fixed function of the text', () => {
    // FNV-1a + MurmurHash3 fmix32; a change here would reroute every trace during an upgrade.
    expect([hash32('a'), hash32('4bf92f3577b34da6a3ce929d0e0e4736')]).toEqual([HASH_A, HASH_TRACE]);
    expect(new HashRing(three).owner('4bf92f3577b34da6a3ce929d0e0e4736')).toBe(new HashRing(three).owner('4BF92F3577B34DA6A3CE929D0E0E4736'));
  });

  it('has no owner when empty, and one backend owns everything alone', () => {
    expect(new HashRing([]).owner(traceIds[0]!)).toBeUndefined();
    const one = new HashRing(['a:1']);
    expect(traceIds.slice(0, 100).every((id) => one.owner(id) === 'a:1')).toBe(true);
  });
});

const HASH_A = 444641715;
const HASH_TRACE = 3785779378;
