/**
 * Draws a flame layout on a 2D canvas and answers "which frame is under the pointer".
 *
 * Written against the standard CanvasRenderingContext2D (only the members in FlameContext), so
 * a React component hands it `canvas.getContext('2d')` and the tests hand it a recording fake.
 * - devicePixelRatio: the backing store is `canvasPixels()` device pixels; drawing is in CSS
 *   pixels under a `dpr` transform, edges snapped to device pixels so frames stay crisp.
 * - Only the rows inside the viewport are drawn (`scrollTop`, `height`): the canvas is the size
 *   of the visible box, never of the whole graph (browsers refuse canvases over ~32,767 px, and
 *   a deep method-level tree easily needs that), and the page scrolls a spacer of contentHeight().
 * - Labels are the method, cut with "…" to the frame's width (measureText, binary search), and
 *   only on frames wide enough to hold a few characters.
 */
import type { FlameLayout, FlameRect } from './layout';
import { frameColours, THEMES, type FlameTheme } from './palette';
import type { FlameSearch } from './search';
import type { FlameNode, FlameTree } from './tree';

export type FlameContext = Pick<
  CanvasRenderingContext2D,
  'setTransform' | 'clearRect' | 'fillRect' | 'strokeRect' | 'fillText' | 'measureText' | 'fillStyle' | 'strokeStyle' | 'font' | 'textBaseline' | 'lineWidth'
>;

export interface FlameViewport {
  /** The canvas box in CSS pixels. */
  width: number;
  height: number;
  /** window.devicePixelRatio (1 when unknown). */
  dpr: number;
  /** Height of one row in CSS pixels. */
  rowHeight: number;
  /** How far the graph is scrolled down, in CSS pixels. */
  scrollTop: number;
}

export interface DrawOptions {
  theme: FlameTheme;
  /** Frames not matching it are dimmed. */
  search?: FlameSearch;
  /** Outlined: the frame under the pointer or with keyboard focus. */
  highlighted?: number;
  /** CSS font of the labels. */
  font?: string;
  label?: (node: FlameNode) => string;
}

export const DEFAULT_FONT = '12px system-ui, sans-serif';
/** Frames narrower than this (CSS px) get no label. */
export const MIN_LABEL_WIDTH = 24;
const LABEL_PADDING = 4;
const ELLIPSIS = '…';

/** The canvas's backing-store size in device pixels for a CSS box. */
export function canvasPixels(view: Pick<FlameViewport, 'width' | 'height' | 'dpr'>): { width: number; height: number } {
  return { width: Math.max(1, Math.round(view.width * view.dpr)), height: Math.max(1, Math.round(view.height * view.dpr)) };
}

/** Height of the whole graph in CSS pixels: what the scroll container's spacer should be. */
export function contentHeight(layout: FlameLayout, rowHeight: number): number {
  return layout.rows.length * rowHeight;
}

/** The narrowest fraction worth laying out for a canvas `width` CSS pixels wide: one device pixel. */
export function minWidthFor(view: Pick<FlameViewport, 'width' | 'dpr'>): number {
  return view.width > 0 ? 1 / (view.width * Math.max(1, view.dpr)) : 1;
}

/** Draws the visible rows; returns how many frames and labels were drawn. */
export function drawFlame(ctx: FlameContext, tree: FlameTree, layout: FlameLayout, view: FlameViewport, options: DrawOptions): { frames: number; labels: number } {
  const { width, height, dpr, rowHeight, scrollTop } = view;
  const colours = THEMES[options.theme];
  const label = options.label ?? ((n: FlameNode) => n.method);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = colours.background;
  ctx.fillRect(0, 0, width, height);
  ctx.font = options.font ?? DEFAULT_FONT;
  ctx.textBaseline = 'middle';
  const snap = (px: number) => Math.round(px * dpr) / dpr;
  const first = Math.max(0, Math.floor(scrollTop / rowHeight));
  const last = Math.min(layout.rows.length - 1, Math.floor((scrollTop + height) / rowHeight));
  let frames = 0;
  let labels = 0;
  let outlined: { x: number; y: number; w: number } | undefined;
  for (let row = first; row <= last; row++) {
    const y = snap(row * rowHeight - scrollTop);
    for (const i of layout.rows[row] ?? []) {
      const rect = layout.rects[i]!;
      const node = tree.nodes[rect.node]!;
      const x0 = snap(rect.x * width);
      const x1 = snap((rect.x + rect.width) * width);
      // A 1 px gap between frames when there is room for it; never narrower than a device pixel.
      const w = Math.max(x1 - x0 - (x1 - x0 >= 3 ? 1 : 0), 1 / dpr);
      const dimmed = options.search !== undefined && options.search.matches[node.index] !== 1;
      const { fill, text } = frameColours(node.service, options.theme, dimmed);
      ctx.fillStyle = fill;
      ctx.fillRect(x0, y, w, rowHeight - 1);
      frames++;
      if (w >= MIN_LABEL_WIDTH) {
        const shown = fitLabel(ctx, label(node), w - 2 * LABEL_PADDING);
        if (shown !== '') {
          ctx.fillStyle = text;
          ctx.fillText(shown, x0 + LABEL_PADDING, y + (rowHeight - 1) / 2);
          labels++;
        }
      }
      if (node.index === options.highlighted) outlined = { x: x0, y, w };
    }
  }
  if (outlined) {
    ctx.strokeStyle = colours.outline;
    ctx.lineWidth = 2;
    ctx.strokeRect(outlined.x + 1, outlined.y + 1, Math.max(outlined.w - 2, 1), rowHeight - 3);
  }
  return { frames, labels };
}

/** `text`, or its longest prefix with "…" that fits `maxWidth`; '' when not even one character does. */
export function fitLabel(ctx: Pick<FlameContext, 'measureText'>, text: string, maxWidth: number): string {
  if (maxWidth <= 0 || text === '') return '';
  if (ctx.measureText(text).width <= maxWidth) return text;
  let lo = 0;
  let hi = text.length - 1;
  // Largest k with text[0..k) + "…" fitting.
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ctx.measureText(text.slice(0, mid) + ELLIPSIS).width <= maxWidth) lo = mid;
    else hi = mid - 1;
  }
  return lo === 0 ? '' : text.slice(0, lo) + ELLIPSIS;
}

/** The frame at (x, y) CSS pixels from the canvas's top left, or undefined. */
export function hitTest(layout: FlameLayout, view: Pick<FlameViewport, 'width' | 'rowHeight' | 'scrollTop'>, x: number, y: number): FlameRect | undefined {
  if (x < 0 || x >= view.width || y < 0) return undefined;
  const row = layout.rows[Math.floor((y + view.scrollTop) / view.rowHeight)];
  if (!row) return undefined;
  const fx = x / view.width;
  // Rows are left to right: the last rectangle starting at or before fx.
  let lo = 0;
  let hi = row.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (layout.rects[row[mid]!]!.x <= fx) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (found < 0) return undefined;
  const rect = layout.rects[row[found]!]!;
  return fx < rect.x + rect.width ? rect : undefined;
}

/** What a tooltip or the keyboard-focus description says about a frame. */
export function describeFrame(tree: FlameTree, index: number, formatNs: (ns: number) => string): string[] {
  const node = tree.nodes[index]!;
  const rootNs = tree.nodes[0]!.totalNs;
  const pct = (ns: number) => (rootNs > 0 ? `${((100 * ns) / rootNs).toFixed(ns > 0 && ns / rootNs < 0.001 ? 3 : 1)} %` : '0 %');
  const lines = [node.service === '' ? node.method : `${node.service} · ${node.method}`];
  lines.push(`total ${formatNs(node.totalNs)} (${pct(node.totalNs)})`, `self ${formatNs(node.selfNs)} (${pct(node.selfNs)})`);
  lines.push(`${node.calls} call${node.calls === 1 ? '' : 's'}${node.errors > 0 ? `, ${node.errors} failed` : ''}`);
  if (node.folded > 0) lines.push(`${node.folded} smaller frames folded`);
  return lines;
}
