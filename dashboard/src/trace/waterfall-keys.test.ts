import { describe, expect, it } from 'vitest';
import { buildTree, decodeSkeleton, findSiblingGroups, TraceView } from './model';
import { skeletonOf, type TestSpan } from './model/skeleton.testing';
import { keyAction, parentRow } from './waterfall-keys';

/** root → a → a1; root → 5 identical queries (one group row); root → b. */
const SPANS: TestSpan[] = [
  { id: 'root', parent: '', start: 0, end: 100, name: 'GET /' },
  { id: 'a', parent: 'root', start: 1, end: 10, name: 'A.run', method: true },
  { id: 'a1', parent: 'a', start: 2, end: 3, name: 'A.inner', method: true },
  ...Array.from({ length: 5 }, (_, i) => ({ id: `q${i}`, parent: 'root', start: 20 + i, end: 21 + i, name: `SELECT ${i}` })),
  { id: 'b', parent: 'root', start: 50, end: 60, name: 'B.run' },
];

function view() {
  const tree = buildTree(decodeSkeleton(skeletonOf(SPANS)));
  return new TraceView(tree, findSiblingGroups(tree));
}

describe('waterfall keys', () => {
  it('moves up and down within the rows, and jumps to the ends', () => {
    const v = view();
    expect(v.length).toBe(5); // root, a, a1, [SELECT ? ×5], b
    expect(keyAction(v, 0, 'ArrowDown')).toEqual({ kind: 'move', row: 1 });
    expect(keyAction(v, 0, 'ArrowUp')).toEqual({ kind: 'move', row: 0 });
    expect(keyAction(v, 4, 'ArrowDown')).toEqual({ kind: 'move', row: 4 });
    expect(keyAction(v, 2, 'End')).toEqual({ kind: 'move', row: 4 });
    expect(keyAction(v, 2, 'PageUp')).toEqual({ kind: 'move', row: 0 });
    expect(keyAction(v, 0, 'x')).toBeUndefined();
  });

  it('← collapses an open row, then moves to the parent; → expands, then moves to the first child', () => {
    const v = view();
    expect(keyAction(v, 1, 'ArrowLeft')).toEqual({ kind: 'collapse', row: 1 });
    v.collapse(1);
    expect(keyAction(v, 1, 'ArrowLeft')).toEqual({ kind: 'move', row: 0 });
    expect(keyAction(v, 1, 'ArrowRight')).toEqual({ kind: 'expand', row: 1 });
    v.expand(1);
    expect(keyAction(v, 1, 'ArrowRight')).toEqual({ kind: 'move', row: 2 });
    expect(keyAction(v, 2, 'ArrowRight')).toBeUndefined(); // a leaf
    expect(keyAction(v, 0, 'ArrowLeft')).toEqual({ kind: 'collapse', row: 0 });
    expect(parentRow(v, 2)).toBe(1);
    expect(parentRow(v, 0)).toBeUndefined();
  });

  it('Enter opens a span and opens or closes a group row', () => {
    const v = view();
    expect(keyAction(v, 1, 'Enter')).toEqual({ kind: 'open', row: 1 });
    expect(v.rows[3]!).toBeLessThan(0);
    expect(keyAction(v, 3, 'Enter')).toEqual({ kind: 'toggle', row: 3 });
    expect(keyAction(v, 3, 'ArrowRight')).toEqual({ kind: 'expand', row: 3 });
    v.expand(3);
    expect(v.length).toBe(10);
    expect(keyAction(v, 3, 'ArrowLeft')).toEqual({ kind: 'collapse', row: 3 });
    expect(keyAction(v, 5, 'ArrowLeft')).toEqual({ kind: 'move', row: 3 });
  });
});

describe('waterfall keys on a missing parent', () => {
  it('Enter opens or closes the placeholder instead of opening details', () => {
    const tree = buildTree(decodeSkeleton(skeletonOf([{ id: 'orphan', parent: 'gone', start: 0, end: 5, name: 'Lost.child' }])));
    const v = new TraceView(tree);
    expect(v.length).toBe(2); // missing parent, orphan
    expect(keyAction(v, 0, 'Enter')).toEqual({ kind: 'toggle', row: 0 });
    expect(keyAction(v, 1, 'Enter')).toEqual({ kind: 'open', row: 1 });
  });
});
