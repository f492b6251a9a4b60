import { describe, expect, it } from 'vitest';
import { layoutFlame, type FlameLayout } from './layout';
import { searchFlame } from './search';
import { flameTree, pathTo, type FlameNodeJson, type FlameTree } from './tree';

/** A tree from [parent, method, total, self] rows in pre-order (service from the method's prefix). */
function build(rows: Array<[parent: number, method: string, total: number, self?: number]>): FlameTree {
  const nodes: FlameNodeJson[] = rows.map(([parent, method, total, self]) => ({
    parent,
    depth: 0,
    service: method.startsWith('(') ? '' : method.split('.')[0]!,
    method,
    totalNano: String(total),
    selfNano: String(self ?? 0),
    calls: 1,
    errors: 0,
    exampleTraceId: '',
    folded: 0,
  }));
  return flameTree({ nodes });
}

/**
 * (all) 100
 * ├─ api.get 100
 * │  ├─ api.load 50 ─ db.query 40
 * │  ├─ api.render 30
 * │  └─ api.log 0.5
 * └─ (nothing else)
 */
const sample = () =>
  build([
    [-1, '(all)', 100],
    [0, 'api.get', 100, 19.5],
    [1, 'api.load', 50, 10],
    [2, 'db.query', 40, 40],
    [1, 'api.render', 30, 30],
    [1, 'api.log', 0.5, 0.5],
  ]);

const byMethod = (tree: FlameTree, layout: FlameLayout) =>
  Object.fromEntries(layout.rects.map((r) => [tree.nodes[r.node]!.method, [r.row, +r.x.toFixed(6), +r.width.toFixed(6)]]));

describe('flameTree', () => {
  it('links children, depths and subtree sizes from the pre-order list', () => {
    const tree = sample();
    expect(tree.nodes.map((n) => [n.depth, n.children, n.size])).toEqual([
      [0, [1], 6],
      [1, [2, 4, 5], 5],
      [2, [3], 2],
      [3, [], 1],
      [2, [], 1],
      [2, [], 1],
    ]);
    expect(tree.maxDepth).toBe(3);
    expect(pathTo(tree, 3).map((n) => n.method)).toEqual(['(all)', 'api.get', 'api.load', 'db.query']);
  });

  it('refuses a list that is not in pre-order', () => {
    expect(() => build([[-1, '(all)', 1], [2, 'a', 1], [0, 'b', 1]])).toThrow(/pre-order/);
    expect(() => build([[0, 'a', 1]])).toThrow(/pre-order/);
    expect(() => flameTree({ nodes: [] })).toThrow(/no nodes/);
  });
});

describe('layoutFlame', () => {
  it('makes widths proportional to total time, children from the parent’s left edge, self time on the right', () => {
    const tree = sample();
    const layout = layoutFlame(tree);
    expect(byMethod(tree, layout)).toEqual({
      '(all)': [0, 0, 1],
      'api.get': [1, 0, 1],
      'api.load': [2, 0, 0.5],
      'db.query': [3, 0, 0.4],
      'api.render': [2, 0.5, 0.3],
      'api.log': [2, 0.8, 0.005],
    });
    expect(layout.culled).toBe(0);
    // Rows list their rectangles left to right.
    expect(layout.rows[2]!.map((i) => layout.rects[i]!.x)).toEqual([0, 0.5, 0.8]);
  });

  it('never lets children add up to more than their parent, whatever the tree', () => {
    // Fan-out: three parallel calls of 60 under a parent of 100 are scaled to fit.
    const tree = build([
      [-1, '(all)', 100],
      [0, 'api.fanout', 100],
      [1, 'a.call', 60],
      [1, 'b.call', 60],
      [1, 'c.call', 60],
    ]);
    const calls = layoutFlame(tree).rects.filter((r) => r.row === 2);
    expect(calls.reduce((s, r) => s + r.width, 0)).toBeCloseTo(1, 9);
    expect(calls[2]!.x).toBeCloseTo(2 / 3, 9);
    // A random tree: at every node the children's widths add up to at most its own, inside its span.
    const rows: Array<[number, string, number]> = [[-1, '(all)', 1000]];
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (let i = 1; i < 2000; i++) rows.push([Math.floor(random() * i), `s${i % 5}.m${i}`, Math.floor(random() * 1000)]);
    const big = build(rows);
    const all = layoutFlame(big);
    const rectOf = new Map(all.rects.map((r) => [r.node, r]));
    expect(all.rects.length).toBeGreaterThan(1900);
    for (const node of big.nodes) {
      const r = rectOf.get(node.index);
      if (!r) continue; // zero time: not drawn
      const kids = node.children.flatMap((c) => rectOf.get(c) ?? []);
      const sum = kids.reduce((s, k) => s + k.width, 0);
      expect(sum).toBeLessThanOrEqual(r.width + 1e-9);
      for (const k of kids) {
        expect(k.x).toBeGreaterThanOrEqual(r.x - 1e-9);
        expect(k.x + k.width).toBeLessThanOrEqual(r.x + r.width + 1e-9);
        expect(k.row).toBe(r.row + 1);
      }
    }
  });

  it('culls rectangles narrower than minWidth with everything under them, and counts them', () => {
    const tree = sample();
    const layout = layoutFlame(tree, { minWidth: 0.45 });
    expect(Object.keys(byMethod(tree, layout))).toEqual(['(all)', 'api.get', 'api.load']);
    // db.query (0.4) under api.load, api.render (0.3), api.log (0.005).
    expect(layout.culled).toBe(3);
    expect(layoutFlame(tree, { minWidth: 0.01 }).culled).toBe(1);
  });

  it('zooms to a node: it fills the width, its ancestors stay above it full width, nothing else is drawn', () => {
    const tree = sample();
    const layout = layoutFlame(tree, { focus: 2 });
    expect(layout.rects.map((r) => [tree.nodes[r.node]!.method, r.row, r.x, r.width, r.ancestor])).toEqual([
      ['(all)', 0, 0, 1, true],
      ['api.get', 1, 0, 1, true],
      ['api.load', 2, 0, 1, false],
      ['db.query', 3, 0, 0.8, false],
    ]);
    // Culling is relative to the zoomed width: api.log is 1 % of api.get.
    expect(layoutFlame(tree, { focus: 1, minWidth: 0.01 }).culled).toBe(1);
    expect(layoutFlame(tree, { focus: 1, minWidth: 0.001 }).culled).toBe(0);
    expect(() => layoutFlame(tree, { focus: 99 })).toThrow(RangeError);
  });

  it('puts the heaviest child first in left-heavy order', () => {
    const tree = build([
      [-1, '(all)', 10],
      [0, 'a.light', 2],
      [0, 'b.heavy', 8],
    ]);
    expect(byMethod(tree, layoutFlame(tree, { order: 'heavy' }))).toMatchObject({ 'b.heavy': [1, 0, 0.8], 'a.light': [1, 0.8, 0.2] });
    expect(byMethod(tree, layoutFlame(tree))).toMatchObject({ 'a.light': [1, 0, 0.2], 'b.heavy': [1, 0.2, 0.8] });
  });

  it('draws nothing under a node of zero time', () => {
    const tree = build([
      [-1, '(all)', 0],
      [0, 'a.idle', 0],
    ]);
    expect(layoutFlame(tree)).toMatchObject({ rects: [{ node: 0 }], culled: 1 });
  });
});

describe('searchFlame', () => {
  it('marks frames matching the method or service, case-insensitively, counting nested matches once', () => {
    const tree = build([
      [-1, '(all)', 100],
      [0, 'api.handle', 100],
      [1, 'api.render', 60],
      [2, 'api.render', 20],
      [1, 'db.query', 30],
    ]);
    const found = searchFlame(tree, ' RENDER ')!;
    expect([...found.matches]).toEqual([0, 0, 1, 1, 0]);
    expect(found).toMatchObject({ count: 2, matchedNs: 60, share: 0.6 });
    expect(searchFlame(tree, 'db')).toMatchObject({ count: 1, share: 0.3 });
    expect(searchFlame(tree, 'API')!.share).toBe(1);
    expect(searchFlame(tree, 'nothing')).toMatchObject({ count: 0, share: 0 });
    expect(searchFlame(tree, '   ')).toBeUndefined();
  });
});
