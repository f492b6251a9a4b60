import { describe, expect, it } from 'vitest';
import { layoutFlame } from './layout';
import { THEMES, frameColours } from './palette';
import { canvasPixels, contentHeight, describeFrame, drawFlame, fitLabel, hitTest, minWidthFor, type FlameContext, type FlameViewport } from './renderer';
import { searchFlame } from './search';
import { flameTree, type FlameNodeJson } from './tree';

type Call = [op: string, ...args: unknown[]];

/** A CanvasRenderingContext2D stand-in that records what is drawn; every character is 7 px wide. */
class RecordingContext implements FlameContext {
  calls: Call[] = [];
  fillStyle: FlameContext['fillStyle'] = '#000000';
  strokeStyle: FlameContext['strokeStyle'] = '#000000';
  font = '';
  textBaseline: CanvasTextBaseline = 'alphabetic';
  lineWidth = 1;
  setTransform(...args: unknown[]) {
    this.calls.push(['setTransform', ...args]);
  }
  clearRect(...args: number[]) {
    this.calls.push(['clearRect', ...args]);
  }
  fillRect(x: number, y: number, w: number, h: number) {
    this.calls.push(['fillRect', this.fillStyle, x, y, w, h]);
  }
  strokeRect(x: number, y: number, w: number, h: number) {
    this.calls.push(['strokeRect', this.strokeStyle, x, y, w, h]);
  }
  fillText(text: string, x: number, y: number) {
    this.calls.push(['fillText', this.fillStyle, text, x, y]);
  }
  measureText(text: string) {
    return { width: [...text].length * 7 } as TextMetrics;
  }
  of(op: string) {
    return this.calls.filter((c) => c[0] === op);
  }
}

const node = (parent: number, service: string, method: string, total: number): FlameNodeJson => ({
  parent,
  depth: 0,
  service,
  method,
  totalNano: String(total),
  selfNano: '0',
  calls: 2,
  errors: 1,
  exampleTraceId: '',
  folded: 0,
});

/** (all) 1000 → orders GET /orders 1000 → [orders Orders.load 500 → billing POST /invoice 400], [orders tiny 1] */
const tree = () =>
  flameTree({
    nodes: [node(-1, '', '(all)', 1000), node(0, 'orders', 'GET /orders', 1000), node(1, 'orders', 'Orders.load', 500), node(2, 'billing', 'POST /invoice', 400), node(1, 'orders', 'tiny', 1)],
  });

const view = (over: Partial<FlameViewport> = {}): FlameViewport => ({ width: 400, height: 200, dpr: 1, rowHeight: 20, scrollTop: 0, ...over });

describe('drawFlame', () => {
  it('fills each frame in its service colour at its place, with a 1 px gap and a label that fits', () => {
    const t = tree();
    const ctx = new RecordingContext();
    const drawn = drawFlame(ctx, t, layoutFlame(t), view(), { theme: 'light' });
    expect(drawn).toEqual({ frames: 5, labels: 4 });
    expect(ctx.calls[0]).toEqual(['setTransform', 1, 0, 0, 1, 0, 0]);
    const frames = ctx.of('fillRect').slice(1); // after the background
    expect(ctx.of('fillRect')[0]).toEqual(['fillRect', THEMES.light.background, 0, 0, 400, 200]);
    expect(frames).toEqual([
      ['fillRect', THEMES.light.neutral.fill, 0, 0, 399, 19],
      ['fillRect', frameColours('orders', 'light').fill, 0, 20, 399, 19],
      ['fillRect', frameColours('orders', 'light').fill, 0, 40, 199, 19],
      // 0.4 px wide: still one device pixel.
      ['fillRect', frameColours('orders', 'light').fill, 200, 40, 1, 19],
      ['fillRect', frameColours('billing', 'light').fill, 0, 60, 159, 19],
    ]);
    expect(ctx.of('fillText').map((c) => [c[1], c[2], c[3], c[4]])).toEqual([
      [THEMES.light.neutral.text, '(all)', 4, 9.5],
      [THEMES.light.hueText, 'GET /orders', 4, 29.5],
      [THEMES.light.hueText, 'Orders.load', 4, 49.5],
      [THEMES.light.hueText, 'POST /invoice', 4, 69.5],
    ]);
    expect(ctx.textBaseline).toBe('middle');
  });

  it('draws in CSS pixels under the devicePixelRatio transform, edges snapped to device pixels', () => {
    const t = tree();
    const ctx = new RecordingContext();
    drawFlame(ctx, t, layoutFlame(t), view({ width: 333, dpr: 2 }), { theme: 'dark' });
    expect(ctx.calls[0]).toEqual(['setTransform', 2, 0, 0, 2, 0, 0]);
    for (const [, , x, y, w] of ctx.of('fillRect') as Array<[string, string, number, number, number]>) {
      expect(Number.isInteger(x * 2) && Number.isInteger(y * 2), `${x},${y}`).toBe(true);
      expect(w).toBeGreaterThanOrEqual(0.5);
    }
    expect(canvasPixels({ width: 333, height: 200.4, dpr: 2 })).toEqual({ width: 666, height: 401 });
    expect(minWidthFor({ width: 500, dpr: 2 })).toBe(0.001);
  });

  it('draws only the rows in view when scrolled', () => {
    const t = tree();
    const layout = layoutFlame(t);
    expect(contentHeight(layout, 20)).toBe(80);
    const ctx = new RecordingContext();
    const drawn = drawFlame(ctx, t, layout, view({ height: 30, scrollTop: 45 }), { theme: 'light' });
    // Rows 2 (y 40-60) and 3 (60-80) meet the 45-75 window.
    expect(drawn.frames).toBe(3);
    expect(ctx.of('fillRect').slice(1).map((c) => c[3])).toEqual([-5, -5, 15]);
  });

  it('dims the frames a search does not match and outlines the highlighted one', () => {
    const t = tree();
    const ctx = new RecordingContext();
    drawFlame(ctx, t, layoutFlame(t), view(), { theme: 'dark', search: searchFlame(t, 'invoice'), highlighted: 2 });
    const fills = ctx.of('fillRect').slice(1).map((c) => c[1]);
    expect(fills).toEqual([THEMES.dark.dimmed.fill, THEMES.dark.dimmed.fill, THEMES.dark.dimmed.fill, THEMES.dark.dimmed.fill, frameColours('billing', 'dark').fill]);
    expect(ctx.of('strokeRect')).toEqual([['strokeRect', THEMES.dark.outline, 1, 41, 197, 17]]);
  });
});

describe('fitLabel', () => {
  const ctx = new RecordingContext();
  it('keeps a label that fits and cuts one that does not with an ellipsis', () => {
    expect(fitLabel(ctx, 'Orders.load', 77)).toBe('Orders.load');
    expect(fitLabel(ctx, 'Orders.load', 76)).toBe('Orders.lo…');
    expect(fitLabel(ctx, 'Orders.load', 14)).toBe('O…');
    expect(fitLabel(ctx, 'Orders.load', 13)).toBe('');
    expect(fitLabel(ctx, '', 100)).toBe('');
  });
});

describe('hitTest', () => {
  const t = tree();
  const layout = layoutFlame(t);
  const at = (x: number, y: number, scrollTop = 0) => {
    const rect = hitTest(layout, { width: 400, rowHeight: 20, scrollTop }, x, y);
    return rect && t.nodes[rect.node]!.method;
  };
  it('finds the frame under the pointer, row by row, and nothing in self-time gaps or outside', () => {
    expect(at(10, 5)).toBe('(all)');
    expect(at(399, 25)).toBe('GET /orders');
    expect(at(199, 45)).toBe('Orders.load');
    expect(at(200.2, 45)).toBe('tiny');
    expect(at(300, 45)).toBeUndefined(); // GET /orders' self time
    expect(at(100, 65)).toBe('POST /invoice');
    expect(at(170, 65)).toBeUndefined();
    expect(at(10, 85)).toBeUndefined();
    expect(at(-1, 5)).toBeUndefined();
    expect(at(400, 5)).toBeUndefined();
    expect(at(100, 5, 60)).toBe('POST /invoice');
  });
});

describe('describeFrame', () => {
  it('gives service, method, total and self time with shares, calls and errors', () => {
    const lines = describeFrame(tree(), 2, (ns) => `${ns} ns`);
    expect(lines).toEqual(['orders · Orders.load', 'total 500 ns (50.0 %)', 'self 0 ns (0.0 %)', '2 calls, 1 failed']);
  });
});
