/**
 * Flame-graph layout: the tree as rectangles, one row per depth (root on top, an icicle as
 * speedscope and Tempo draw it), x and width as fractions of the view in [0, 1].
 *
 * - Width ∝ total time. A parent's children sit side by side from its left edge; what is left
 *   on the right is the parent's self time. Children may add up to more than their parent
 *   (parallel calls, or calls that outlive it): they are then scaled down together to fit, so a
 *   child never pokes out of its parent — its tooltip still gives its real total.
 * - Zoom: the focused node fills the width; its ancestors are drawn above it full width (so the
 *   way back up stays clickable), nothing beside it.
 * - Culling: a rectangle narrower than `minWidth` is not drawn, nor anything under it (children
 *   are never wider than their parent); `culled` counts the nodes left out.
 * - Order: `name` keeps the API's order (service, then method: stable positions across reloads,
 *   as flame graphs sort), `heavy` puts the widest child first (speedscope's "left heavy").
 */
import type { FlameTree } from './tree';

export interface FlameRect {
  node: number;
  /** Row from the top (0: the root, or the topmost ancestor when zoomed). */
  row: number;
  x: number;
  width: number;
  /** An ancestor of the focused node, drawn full width above it. */
  ancestor: boolean;
}

export interface FlameLayout {
  rects: FlameRect[];
  /** Per row, indices into `rects`, left to right (for hit-testing). */
  rows: number[][];
  focus: number;
  /** Nodes under the focus not drawn because they were narrower than minWidth. */
  culled: number;
}

export interface LayoutOptions {
  /** The node that fills the width (default the root). */
  focus?: number;
  /** Narrowest rectangle drawn, as a fraction of the width (e.g. 1 px / canvas width). */
  minWidth?: number;
  order?: 'name' | 'heavy';
}

export function layoutFlame(tree: FlameTree, options: LayoutOptions = {}): FlameLayout {
  const focus = options.focus ?? 0;
  const minWidth = options.minWidth ?? 0;
  const heavy = options.order === 'heavy';
  if (!(focus >= 0 && focus < tree.nodes.length)) throw new RangeError(`flame: no node ${focus}`);
  const rects: FlameRect[] = [];
  const rows: number[][] = [];
  const add = (rect: FlameRect) => {
    (rows[rect.row] ??= []).push(rects.length);
    rects.push(rect);
  };
  const ancestors: number[] = [];
  for (let i = tree.nodes[focus]!.parent; i >= 0; i = tree.nodes[i]!.parent) ancestors.push(i);
  ancestors.reverse().forEach((node, row) => add({ node, row, x: 0, width: 1, ancestor: true }));

  let culled = 0;
  // Depth-first, children pushed right to left: each row fills left to right.
  const stack: Array<[node: number, row: number, x: number, width: number]> = [[focus, ancestors.length, 0, 1]];
  while (stack.length > 0) {
    const [index, row, x, width] = stack.pop()!;
    add({ node: index, row, x, width, ancestor: false });
    const node = tree.nodes[index]!;
    const children = heavy ? [...node.children].sort((a, b) => tree.nodes[b]!.totalNs - tree.nodes[a]!.totalNs || a - b) : node.children;
    let sum = 0;
    for (const c of children) sum += tree.nodes[c]!.totalNs;
    const scale = Math.max(node.totalNs, sum);
    if (scale <= 0) {
      for (const c of children) culled += tree.nodes[c]!.size;
      continue;
    }
    const placed: Array<[number, number, number, number]> = [];
    let cx = x;
    for (const c of children) {
      const w = (width * tree.nodes[c]!.totalNs) / scale;
      if (w < minWidth || w <= 0) culled += tree.nodes[c]!.size;
      else placed.push([c, row + 1, cx, w]);
      cx += w;
    }
    for (let i = placed.length - 1; i >= 0; i--) stack.push(placed[i]!);
  }
  return { rects, rows, focus, culled };
}
