/**
 * Keyboard moves over a drawn flame graph (the canvas itself is not readable): the selection
 * goes up to the parent, down to the widest drawn child (the hot path), left and right to the neighbours on the
 * same row (as speedscope does: across parents too). Only frames the layout drew are reachable.
 */
import type { FlameLayout } from './layout';
import type { FlameTree } from './tree';

export type FlameKey = 'ArrowUp' | 'ArrowDown' | 'ArrowLeft' | 'ArrowRight' | 'Home';

export function isFlameKey(key: string): key is FlameKey {
  return key === 'ArrowUp' || key === 'ArrowDown' || key === 'ArrowLeft' || key === 'ArrowRight' || key === 'Home';
}

/** The node selected after `key`; the same node when there is nowhere to go. */
export function moveSelection(tree: FlameTree, layout: FlameLayout, selected: number, key: FlameKey): number {
  const at = new Map<number, { row: number; pos: number }>();
  layout.rows.forEach((row, r) => row.forEach((rectIndex, pos) => at.set(layout.rects[rectIndex]!.node, { row: r, pos })));
  const here = at.get(selected);
  if (key === 'Home' || here === undefined) return layout.focus;
  if (key === 'ArrowUp') {
    const parent = tree.nodes[selected]!.parent;
    return parent >= 0 && at.has(parent) ? parent : selected;
  }
  if (key === 'ArrowDown') {
    let widest = selected;
    let width = -1;
    for (const rectIndex of layout.rows[here.row + 1] ?? []) {
      const rect = layout.rects[rectIndex]!;
      if (tree.nodes[rect.node]!.parent === selected && rect.width > width) {
        widest = rect.node;
        width = rect.width;
      }
    }
    return widest;
  }
  const row = layout.rows[here.row]!;
  const next = here.pos + (key === 'ArrowRight' ? 1 : -1);
  if (next < 0 || next >= row.length) return selected;
  return layout.rects[row[next]!]!.node;
}
