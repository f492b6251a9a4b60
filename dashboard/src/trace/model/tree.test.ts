import { describe, expect, it } from 'vitest';
import { decodeSkeleton, SkeletonError } from './skeleton.js';
import { skeletonOf, type TestSpan } from './skeleton.testing.js';
import { buildTree, isPlaceholder, type TraceTree } from './tree.js';

const tree = (spans: TestSpan[], extra = {}) => buildTree(decodeSkeleton(skeletonOf(spans, extra)));
const ids = (t: TraceTree, nodes: ArrayLike<number>) => Array.from(nodes, (v) => (isPlaceholder(t, v) ? `?${t.data.missingParentIds[v - t.data.size]}` : t.data.spanIds[v]));

describe('decodeSkeleton', () => {
  it('turns columns into typed arrays in nanoseconds, scaled by unitNs', () => {
    const json = skeletonOf([{ id: 'r', parent: '', start: 0, end: 10 }, { id: 'c', parent: 'r', start: 2, end: 5 }], { unitNs: 1000 });
    const data = decodeSkeleton(json);
    expect(Array.from(data.startNs)).toEqual([0, 2000]);
    expect(Array.from(data.endNs)).toEqual([10_000, 5000]);
    expect(data.endOfTraceNs).toBe(10_000);
  });

  it('refuses columns of different lengths and parents outside the trace', () => {
    const json = skeletonOf([{ id: 'r', parent: '', start: 0, end: 10 }]);
    expect(() => decodeSkeleton({ ...json, start: [] })).toThrow(new SkeletonError('skeleton: start has 0 entries, expected 1'));
    expect(() => decodeSkeleton({ ...json, parent: [5] })).toThrow(/parent 5, outside the trace/);
  });
});

describe('buildTree', () => {
  it('nests children by start, with depths and subtree ends in display order', () => {
    const t = tree([
      { id: 'root', parent: '', start: 0, end: 100 },
      { id: 'b', parent: 'root', start: 50, end: 90 },
      { id: 'a', parent: 'root', start: 10, end: 40 },
      { id: 'a1', parent: 'a', start: 11, end: 20 },
      { id: 'b1', parent: 'b', start: 60, end: 70 },
    ]);
    expect(ids(t, t.preorder)).toEqual(['root', 'a', 'a1', 'b', 'b1']);
    expect(ids(t, t.preorder).map((_, p) => t.depth[t.preorder[p]!])).toEqual([0, 1, 2, 1, 2]);
    const a = t.data.spanIds.indexOf('a');
    expect(t.subtreeEnd[a]! - t.position[a]!).toBe(2);
    expect(t.subtreeEnd[0]).toBe(5);
    expect(t.completeness.complete).toBe(true);
  });

  it('shows orphans under one "missing parent" placeholder per missing parent ID, and says why', () => {
    const t = tree([
      { id: 'root', parent: '', start: 0, end: 100 },
      { id: 'o1', parent: 'gone', start: 20, end: 30 },
      { id: 'o2', parent: 'gone', start: 25, end: 40 },
      { id: 'o3', parent: 'lost', start: 5, end: 8 },
      { id: 'o1a', parent: 'o1', start: 21, end: 22 },
    ]);
    expect(ids(t, t.tops)).toEqual(['root', '?lost', '?gone']);
    expect(ids(t, t.preorder)).toEqual(['root', '?lost', 'o3', '?gone', 'o1', 'o1a', 'o2']);
    const gone = t.completeness.missingParents.find((p) => p.parentSpanId === 'gone')!;
    expect(gone.orphans).toBe(2);
    // A placeholder spans its orphans.
    expect([t.startNs[gone.node], t.endNs[gone.node]]).toEqual([20, 40]);
    expect(t.completeness).toMatchObject({ complete: false, orphanCount: 3, rootCount: 1 });
    expect(t.completeness.messages).toEqual(['3 spans under 2 missing parents: never received (dropped, not sampled upstream, or still arriving).']);
  });

  it('names spans hidden by read rules as a reason parents are missing', () => {
    const t = tree([{ id: 'o', parent: 'hidden', start: 0, end: 1 }], { hiddenSpanCount: 4, readRestricted: true });
    expect(t.completeness.messages).toEqual([
      "4 spans of this trace belong to services your access does not cover; calls into them look like missing parents.",
      '1 span under 1 missing parent: hidden by your access, or never received (dropped, not sampled upstream, or still arriving).',
      "No root span: the request's entry span was not received.",
    ]);
  });

  it('cuts a parent cycle at its earliest span instead of losing the spans', () => {
    const t = tree([
      { id: 'root', parent: '', start: 0, end: 100 },
      { id: 'x', parent: 'y', start: 10, end: 20 },
      { id: 'y', parent: 'x', start: 12, end: 18 },
    ]);
    expect(ids(t, t.tops)).toEqual(['root', 'x']);
    expect(ids(t, t.preorder)).toEqual(['root', 'x', 'y']);
    expect(t.completeness.cycleCuts).toBe(1);
  });

  it('re-sorts children whose adjusted start no longer follows the stored order', () => {
    const json = skeletonOf([
      { id: 'r', parent: '', start: 0, end: 100 },
      { id: 'a', parent: 'r', start: 10, end: 20 },
      { id: 'b', parent: 'r', start: 30, end: 40 },
    ]);
    json.start[2] = 5; // b moved before a by a clock-skew offset
    const t = buildTree(decodeSkeleton(json));
    expect(ids(t, t.preorder)).toEqual(['r', 'b', 'a']);
  });

  it('handles a chain far deeper than the call stack', () => {
    const spans: TestSpan[] = Array.from({ length: 50_000 }, (_, i) => ({ id: `s${i}`, parent: i === 0 ? '' : `s${i - 1}`, start: i, end: 100_000 - i }));
    const t = tree(spans);
    expect(t.depth[t.preorder[49_999]!]).toBe(49_999);
    expect(t.subtreeEnd[0]).toBe(50_000);
  });
});
