import { describe, expect, it } from 'vitest';
import { computeCriticalPath, mapCriticalPath } from './critical-path.js';
import { decodeSkeleton } from './skeleton.js';
import { skeletonOf, type TestSpan } from './skeleton.testing.js';
import { selfTimes, selfTimeTables } from './self-time.js';
import { buildTree } from './tree.js';

const SPANS: TestSpan[] = [
  { id: 'root', parent: '', start: 0, end: 100, service: 'front', name: 'GET /x' },
  // Two overlapping children (20-60 ∪ 40-70 = 50) and one past the parent's end (clipped to 100).
  { id: 'a', parent: 'root', start: 20, end: 60, service: 'api', name: 'Svc.run', method: true },
  { id: 'b', parent: 'root', start: 40, end: 70, service: 'api', name: 'Svc.run', method: true },
  { id: 'c', parent: 'root', start: 90, end: 130, service: 'api', name: 'Audit.log', method: true },
  { id: 'a1', parent: 'a', start: 25, end: 35, service: 'db', name: 'SELECT 1' },
];

describe('self time', () => {
  it('is duration minus the union of the children clipped to the span', () => {
    const tree = buildTree(decodeSkeleton(skeletonOf(SPANS)));
    const self = selfTimes(tree);
    const byId = Object.fromEntries(tree.data.spanIds.map((id, i) => [id, self[i]]));
    expect(byId).toEqual({ root: 100 - 50 - 10, a: 30, b: 30, c: 40, a1: 10 });
  });

  it('sums by service and by method, most first', () => {
    const tree = buildTree(decodeSkeleton(skeletonOf(SPANS)));
    const tables = selfTimeTables(tree);
    expect(tables.byService.map((r) => [r.service, r.selfNs, r.spans])).toEqual([['api', 100, 3], ['front', 40, 1], ['db', 10, 1]]);
    expect(tables.byOperation[0]).toEqual({ service: 'api', name: 'Svc.run', method: true, spans: 2, selfNs: 60, totalNs: 70, maxNs: 40 });
    expect(tables.totalSelfNs).toBe(150);
    // Within one span's subtree ("show as root").
    expect(selfTimeTables(tree, undefined, tree.data.spanIds.indexOf('a')).byService.map((r) => r.service)).toEqual(['api', 'db']);
  });
});

describe('mapCriticalPath', () => {
  it('marks the spans of the API segments and adds up their time, counting segments it cannot place', () => {
    const tree = buildTree(decodeSkeleton(skeletonOf(SPANS)));
    const map = mapCriticalPath(tree, {
      rootSpanId: 'root',
      segments: [
        { spanId: 'root', durationNano: '20' },
        { spanId: 'b', durationNano: '30' },
        { spanId: 'hidden', durationNano: '5' },
        { spanId: 'root', durationNano: '30' },
      ],
    });
    const on = tree.data.spanIds.filter((_, i) => map.onPath[i]);
    expect(on).toEqual(['root', 'b']);
    expect(map.criticalNs[0]).toBe(50);
    expect(map.unmapped).toBe(1);
  });
});

describe('computeCriticalPath', () => {
  it('walks back from the root: the child that finished last, async children off the path', () => {
    const tree = buildTree(decodeSkeleton(skeletonOf([
      { id: 'root', parent: '', start: 0, end: 100 },
      { id: 'fast', parent: 'root', start: 10, end: 30 },
      { id: 'slow', parent: 'root', start: 10, end: 60 },
      { id: 'async', parent: 'root', start: 70, end: 150 },
      { id: 'inner', parent: 'slow', start: 20, end: 50 },
    ])));
    const path = computeCriticalPath(tree);
    expect(path.segments.map((s) => `${tree.data.spanIds[s.node]} ${s.startNs}-${s.endNs}`)).toEqual(['root 0-10', 'slow 10-20', 'inner 20-50', 'slow 50-60', 'root 60-100']);
    expect(tree.data.spanIds.filter((_, i) => path.onPath[i])).toEqual(['root', 'slow', 'inner']);
    expect(path.criticalNs[0]).toBe(50);
  });

  it('measures on the longest orphan when no root arrived', () => {
    const tree = buildTree(decodeSkeleton(skeletonOf([
      { id: 'a', parent: 'gone', start: 0, end: 10 },
      { id: 'b', parent: 'gone', start: 5, end: 40 },
    ])));
    expect(tree.data.spanIds[computeCriticalPath(tree).root]).toBe('b');
  });
});
