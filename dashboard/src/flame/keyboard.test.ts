import { describe, expect, it } from 'vitest';
import { isFlameKey, moveSelection } from './keyboard';
import { layoutFlame } from './layout';
import { flameTree, type FlameNodeJson } from './tree';

/**
 * 0 (all) 100
 * ├─ 1 a 40 ─ 2 b 30
 * │        └─ 3 c 1  (culled at minWidth 0.05)
 * └─ 4 d 60 ─ 5 e 60
 */
const tree = flameTree({
  nodes: ([
    [-1, '(all)', 100],
    [0, 'a', 40],
    [1, 'b', 30],
    [1, 'c', 1],
    [0, 'd', 60],
    [4, 'e', 60],
  ] as const).map(([parent, method, total]): FlameNodeJson => ({ parent, depth: 0, service: 's', method, totalNano: String(total), selfNano: '0', calls: 1, errors: 0, exampleTraceId: '', folded: 0 })),
});
const layout = layoutFlame(tree, { minWidth: 0.05 });

describe('moveSelection', () => {
  it('goes down to the widest drawn child and up to the parent', () => {
    expect(moveSelection(tree, layout, 0, 'ArrowDown')).toBe(4);
    expect(moveSelection(tree, layout, 4, 'ArrowDown')).toBe(5);
    expect(moveSelection(tree, layout, 1, 'ArrowDown')).toBe(2);
    expect(moveSelection(tree, layout, 2, 'ArrowDown')).toBe(2);
    expect(moveSelection(tree, layout, 2, 'ArrowUp')).toBe(1);
    expect(moveSelection(tree, layout, 0, 'ArrowUp')).toBe(0);
  });

  it('moves along the row, across parents, and stops at the ends; culled frames are skipped', () => {
    expect(moveSelection(tree, layout, 1, 'ArrowRight')).toBe(4);
    expect(moveSelection(tree, layout, 4, 'ArrowRight')).toBe(4);
    expect(moveSelection(tree, layout, 2, 'ArrowRight')).toBe(5);
    expect(moveSelection(tree, layout, 5, 'ArrowLeft')).toBe(2);
    expect(moveSelection(tree, layout, 1, 'ArrowLeft')).toBe(1);
  });

  it('goes back to the focus with Home, or when the selection is not drawn', () => {
    const zoomed = layoutFlame(tree, { focus: 4 });
    expect(moveSelection(tree, zoomed, 5, 'Home')).toBe(4);
    expect(moveSelection(tree, zoomed, 2, 'ArrowDown')).toBe(4);
    // Zoomed: the ancestors stay reachable above the focus.
    expect(moveSelection(tree, zoomed, 4, 'ArrowUp')).toBe(0);
  });

  it('knows its keys', () => {
    expect(['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Home'].every(isFlameKey)).toBe(true);
    expect(isFlameKey('Enter')).toBe(false);
  });
});
