import { describe, expect, it } from 'vitest';
import { countNodes, flatten, mergeSpans, OTHER_METHOD, ROOT_METHOD, type FlameSpan } from './flame.js';

const span = (traceId: string, spanId: string, parentSpanId: string, method: string, startNs: number, durationNs: number, extra: Partial<FlameSpan> = {}): FlameSpan => ({
  traceId,
  spanId,
  parentSpanId,
  service: 'orders',
  method,
  failed: false,
  startNs,
  durationNs,
  ...extra,
});

const row = (n: { service: string; method: string; totalNs: number; selfNs: number; calls: number }) => [n.service, n.method, n.totalNs, n.selfNs, n.calls];

describe('mergeSpans', () => {
  it('merges the same path across traces and repeated siblings into one node, with self time net of overlapping children', () => {
    const root = mergeSpans([
      // Trace a: GET 0-100 → query ×3 (10-30, 20-40 overlapping, 50-60) and billing's invoice 70-120 (outlives its parent).
      span('a', '1', '', 'GET /orders', 0, 100),
      span('a', '2', '1', 'query', 10, 20),
      span('a', '3', '1', 'query', 20, 20, { failed: true }),
      span('a', '4', '1', 'query', 50, 10),
      span('a', '5', '1', 'invoice', 70, 50, { service: 'billing' }),
      // Trace b: the same root, one query.
      span('b', '1', '', 'GET /orders', 1000, 200),
      span('b', '2', '1', 'query', 1000, 50),
    ]);
    expect(row(root)).toEqual(['', ROOT_METHOD, 300, 0, 2]);
    const [get] = root.children;
    // a: 100 − (10..40 ∪ 50..60 ∪ 70..100 = 70) = 30; b: 200 − 50 = 150.
    expect(row(get!)).toEqual(['orders', 'GET /orders', 300, 180, 2]);
    expect(get!.exampleTraceId).toBe('b');
    expect(get!.children.map(row)).toEqual([
      ['orders', 'query', 100, 100, 4],
      ['billing', 'invoice', 50, 50, 1],
    ]);
    expect(get!.children[0]!.errors).toBe(1);
    expect(get!.children[0]!.exampleTraceId).toBe('b');
  });

  it('keys a method by its path: the same method under two parents is two nodes', () => {
    const root = mergeSpans([span('a', '1', '', 'main', 0, 10), span('a', '2', '1', 'f', 0, 4), span('a', '3', '2', 'log', 0, 1), span('a', '4', '1', 'log', 5, 2)]);
    expect(countNodes(root)).toBe(5);
    const main = root.children[0]!;
    expect(main.children.map((c) => c.method)).toEqual(['f', 'log']);
    expect(main.children[0]!.children.map((c) => c.method)).toEqual(['log']);
  });

  it('hangs orphans under the root, survives a parent cycle and a duplicated span ID, and does not recurse', () => {
    const deep: FlameSpan[] = [span('d', '0', '', 'm', 0, 100_000)];
    for (let i = 1; i < 20_000; i++) deep.push(span('d', String(i), String(i - 1), 'm', i, 100_000 - 2 * i));
    const root = mergeSpans([
      span('a', '1', 'gone', 'orphan', 0, 5),
      span('a', 'x', 'y', 'cycle-x', 0, 3),
      span('a', 'y', 'x', 'cycle-y', 1, 1),
      span('a', '1', '', 'dup', 0, 2),
      ...deep,
    ]);
    expect(root.children.map((c) => c.method).sort()).toEqual(['cycle-x', 'dup', 'm', 'orphan']);
    expect(root.children.find((c) => c.method === 'cycle-x')!.children.map((c) => c.method)).toEqual(['cycle-y']);
    expect(countNodes(root)).toBe(1 + 4 + 1 + 19_999);
  });
});

describe('flatten', () => {
  const tree = () =>
    mergeSpans([
      span('a', '1', '', 'root', 0, 100),
      span('a', '2', '1', 'big', 0, 60),
      span('a', '3', '2', 'big.child', 0, 50),
      span('a', '4', '1', 'mid', 60, 30),
      span('a', '5', '1', 'small', 90, 6),
      span('a', '6', '1', 'tiny', 96, 4),
      span('a', '7', '6', 'tiny.child', 96, 1),
    ]);

  it('lists every node in pre-order, parents first, children by service then method', () => {
    const flat = flatten(tree(), 100);
    expect(flat.map((n) => [n.method, n.parent, n.depth])).toEqual([
      [ROOT_METHOD, -1, 0],
      ['root', 0, 1],
      ['big', 1, 2],
      ['big.child', 2, 3],
      ['mid', 1, 2],
      ['small', 1, 2],
      ['tiny', 1, 2],
      ['tiny.child', 6, 3],
    ]);
  });

  it('keeps the heaviest nodes under the cap and folds the rest into (other), never above the cap', () => {
    for (let cap = 3; cap <= 8; cap++) {
      const flat = flatten(tree(), cap);
      expect(flat.length, `cap ${cap}`).toBeLessThanOrEqual(cap);
      // Every level still adds up: the root's total is conserved in its children.
      const rootTotal = flat.filter((n) => n.parent === 1).reduce((s, n) => s + n.totalNs, 0);
      expect(rootTotal, `cap ${cap}`).toBe(100);
    }
    const five = flatten(tree(), 5);
    expect(five.map((n) => [n.method, n.parent, n.totalNs, n.selfNs, n.folded])).toEqual([
      [ROOT_METHOD, -1, 100, 0, 0],
      ['root', 0, 100, 0, 0],
      ['big', 1, 60, 10, 0],
      // Keeping the only child costs nothing: it takes the place of big's (other).
      ['big.child', 2, 50, 50, 0],
      [OTHER_METHOD, 1, 40, 40, 4],
    ]);
    expect(five[4]!.calls).toBe(4);
    expect(() => flatten(tree(), 1)).toThrow(RangeError);
  });
});
