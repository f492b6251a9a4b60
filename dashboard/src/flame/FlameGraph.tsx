/**
 * A flame graph on a canvas (layout.ts, renderer.ts) with what people use it for: hover for a
 * frame's total, self time and calls; click to zoom into a frame (its ancestors stay above: click
 * one to zoom back out), Escape to zoom out one level; a search that dims what does not match;
 * the keyboard (arrows select, Enter zooms, Escape zooms out) with the selected frame described
 * in a live region; the selected frame's example trace one click away; and the top frames by self
 * time as a table (the accessible alternative to the canvas). Span data is untrusted: every
 * label is drawn with fillText or rendered as React text, never as HTML.
 */
import { useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent, type MouseEvent } from 'react';
import { Link } from 'react-router';
import { formatDuration } from '../format/time';
import { isSynthetic, topFrames } from './flame-summary';
import { isFlameKey, moveSelection } from './keyboard';
import { layoutFlame } from './layout';
import { canvasPixels, contentHeight, describeFrame, drawFlame, hitTest, minWidthFor, type FlameViewport } from './renderer';
import { searchFlame } from './search';
import { pathTo, type FlameTree } from './tree';
import { useDocumentTheme } from './useDocumentTheme';
import './flame.css';

const ROW_HEIGHT = 18;
/** The graph box never grows past this; deeper graphs scroll inside it. */
const MAX_HEIGHT = 520;
const MIN_HEIGHT = 3 * ROW_HEIGHT;
const TOP_FRAMES = 25;

export interface FlameGraphProps {
  tree: FlameTree;
  /** What the graph shows, for screen readers ("Flame graph of 200 traces"). */
  label: string;
}

interface Hover {
  node: number;
  x: number;
  y: number;
}

const formatNs = (ns: number) => formatDuration(Math.round(ns));

export function FlameGraph({ tree, label }: FlameGraphProps) {
  const theme = useDocumentTheme();
  const box = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(0);
  const [dpr, setDpr] = useState(() => window.devicePixelRatio || 1);
  const [focusState, setFocus] = useState(0);
  const [selectedState, setSelected] = useState(0);
  // Until the reset below runs, a new (smaller) tree must not be laid out around an old index.
  const focus = focusState < tree.nodes.length ? focusState : 0;
  const selected = selectedState < tree.nodes.length ? selectedState : focus;
  const [hover, setHover] = useState<Hover>();
  const [query, setQuery] = useState('');
  const [order, setOrder] = useState<'name' | 'heavy'>('name');
  const scrollTop = useRef(0);

  // A new tree (new filter, new trace): start from the top again.
  useEffect(() => {
    setFocus(0);
    setSelected(0);
    setHover(undefined);
  }, [tree]);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const observer = new ResizeObserver(() => {
      setWidth(el.clientWidth);
      setDpr(window.devicePixelRatio || 1);
    });
    observer.observe(el);
    setWidth(el.clientWidth);
    return () => observer.disconnect();
  }, []);

  const layout = useMemo(() => layoutFlame(tree, { focus, minWidth: width > 0 ? minWidthFor({ width, dpr }) : 0, order }), [tree, focus, width, dpr, order]);
  const search = useMemo(() => searchFlame(tree, query), [tree, query]);
  const top = useMemo(() => topFrames(tree, TOP_FRAMES), [tree]);
  const fullHeight = contentHeight(layout, ROW_HEIGHT);
  const height = Math.max(MIN_HEIGHT, Math.min(fullHeight, MAX_HEIGHT));

  const viewport = useCallback((): FlameViewport => ({ width, height, dpr, rowHeight: ROW_HEIGHT, scrollTop: scrollTop.current }), [width, height, dpr]);

  const frame = useRef(0);
  const draw = useCallback(() => {
    cancelAnimationFrame(frame.current);
    frame.current = requestAnimationFrame(() => {
      const el = canvas.current;
      const ctx = el?.getContext('2d');
      if (!el || !ctx || width === 0) return;
      const view = viewport();
      const pixels = canvasPixels(view);
      if (el.width !== pixels.width) el.width = pixels.width;
      if (el.height !== pixels.height) el.height = pixels.height;
      el.style.width = `${view.width}px`;
      el.style.height = `${view.height}px`;
      const drawn = drawFlame(ctx, tree, layout, view, { theme, search, highlighted: hover?.node ?? selected });
      el.dataset.framesDrawn = String(drawn.frames);
    });
  }, [tree, layout, theme, search, hover, selected, viewport, width]);

  useEffect(() => {
    draw();
    return () => cancelAnimationFrame(frame.current);
  }, [draw]);

  /** Zooms into a frame (the root: all of it) and selects it. */
  const zoom = useCallback(
    (node: number) => {
      setFocus(node);
      setSelected(node);
      scrollTop.current = 0;
      if (box.current) box.current.scrollTop = 0;
    },
    [],
  );
  const zoomOut = useCallback(() => {
    const parent = tree.nodes[focus]?.parent ?? -1;
    if (parent >= 0) zoom(parent);
  }, [tree, focus, zoom]);

  /** Keeps the selected frame's row in view when the keyboard moves it. */
  function reveal(node: number) {
    const el = box.current;
    const rect = layout.rects.find((r) => r.node === node);
    if (!el || !rect) return;
    const top = rect.row * ROW_HEIGHT;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + ROW_HEIGHT > el.scrollTop + height) el.scrollTop = top + ROW_HEIGHT - height;
  }

  function onKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    if (isFlameKey(event.key)) {
      event.preventDefault();
      const next = moveSelection(tree, layout, selected, event.key);
      setSelected(next);
      reveal(next);
    } else if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      zoom(selected);
    }
    // Escape bubbles to the wrapper, which zooms out from anywhere in the view.
  }

  function hitAt(event: MouseEvent<HTMLCanvasElement>) {
    const bounds = event.currentTarget.getBoundingClientRect();
    const x = event.clientX - bounds.left;
    const y = event.clientY - bounds.top;
    return { x, y, rect: hitTest(layout, viewport(), x, y) };
  }

  const focusPath = pathTo(tree, focus);
  const shown = tree.nodes[selected] ?? tree.nodes[0]!;
  const shownLines = describeFrame(tree, shown.index, formatNs);
  const focusNode = tree.nodes[focus]!;

  return (
    <div
      className="flame"
      onKeyDown={(e) => {
        if (e.key !== 'Escape' || e.target instanceof HTMLInputElement) return;
        e.preventDefault();
        zoomOut();
      }}
    >
      <div className="flame-toolbar">
        <label>
          Highlight
          <input type="search" value={query} onChange={(e) => setQuery(e.target.value)} placeholder="method or service" spellCheck={false} autoComplete="off" />
        </label>
        {search && (
          <span className="flame-search-result" role="status">
            {search.count} {search.count === 1 ? 'frame matches' : 'frames match'}, {(search.share * 100).toFixed(1)} % of the time
          </span>
        )}
        <label>
          Order
          <select value={order} onChange={(e) => setOrder(e.target.value === 'heavy' ? 'heavy' : 'name')}>
            <option value="name">by name</option>
            <option value="heavy">heaviest first</option>
          </select>
        </label>
        <button type="button" onClick={() => zoom(0)} disabled={focus === 0}>
          Reset zoom
        </button>
      </div>

      <nav className="flame-breadcrumbs" aria-label="Zoomed into">
        {focusPath.map((node, i) => (
          <span key={node.index}>
            {i > 0 && <span aria-hidden="true"> › </span>}
            {node.index === focus ? (
              <strong aria-current="location">{node.method}</strong>
            ) : (
              <button type="button" className="link-button" onClick={() => zoom(node.index)}>
                {node.method}
              </button>
            )}
          </span>
        ))}
      </nav>

      <figure
        className="flame-figure"
        data-focus-method={focusNode.method}
        data-focus-service={focusNode.service}
        data-selected-method={shown.method}
        data-culled={layout.culled}
        aria-label={label}
      >
        <div
          ref={box}
          className="flame-box"
          style={{ height: `${height}px` }}
          tabIndex={0}
          role="application"
          aria-roledescription="flame graph"
          aria-label={`${label}. Arrow keys select a frame, Enter zooms into it, Escape zooms out; the table below lists the top frames.`}
          aria-describedby="flame-selected"
          onKeyDown={onKeyDown}
          onScroll={(e) => {
            scrollTop.current = e.currentTarget.scrollTop;
            draw();
          }}
        >
          <div className="flame-spacer" style={{ height: `${fullHeight}px` }}>
            <canvas
              ref={canvas}
              className="flame-canvas"
              onMouseMove={(e) => {
                const { x, y, rect } = hitAt(e);
                setHover(rect ? { node: rect.node, x, y } : undefined);
              }}
              onMouseLeave={() => setHover(undefined)}
              onClick={(e) => {
                const { rect } = hitAt(e);
                if (rect) zoom(rect.node);
              }}
            />
          </div>
        </div>
        {hover && hover.node < tree.nodes.length && <Tooltip lines={describeFrame(tree, hover.node, formatNs)} x={hover.x} y={hover.y} width={width} />}
        <figcaption className="hint">
          Width is total time, the gap on a frame's right its self time; colour is the service. Click a frame to zoom in, a frame above it (or Escape) to zoom out.
          {layout.culled > 0 && ` ${layout.culled.toLocaleString('en')} frames too narrow to draw here: zoom in to see them.`}
        </figcaption>
      </figure>

      <section className="flame-selected" aria-label="Selected frame">
        <p id="flame-selected" aria-live="polite" className="flame-selected-text">
          {shownLines.join(' · ')}
        </p>
        {!isSynthetic(shown.index, shown.method, shown.service) && shown.exampleTraceId !== '' && (
          <Link to={`/traces/${shown.exampleTraceId}`} className="flame-example-link">
            Open the trace with its longest call
          </Link>
        )}
      </section>

      <details className="flame-table" open>
        <summary>{top.length === 1 ? 'The frame' : `Top ${top.length} frames`} by self time</summary>
        <table className="results">
          <thead>
            <tr>
              <th scope="col">Method</th>
              <th scope="col">Service</th>
              <th scope="col" className="num">
                Self
              </th>
              <th scope="col" className="num">
                Total
              </th>
              <th scope="col" className="num">
                Calls
              </th>
              <th scope="col" className="num">
                Errors
              </th>
              <th scope="col">Show</th>
            </tr>
          </thead>
          <tbody>
            {top.map((f) => (
              <tr key={`${f.service}\u0000${f.method}`} data-method={f.method} data-service={f.service}>
                <td className="flame-method">{f.method}</td>
                <td>{f.service}</td>
                <td className="num">{formatNs(f.selfNs)}</td>
                <td className="num">{formatNs(f.totalNs)}</td>
                <td className="num">{f.calls}</td>
                <td className="num">{f.errors > 0 ? <span className="error-count">{f.errors}</span> : '0'}</td>
                <td className="flame-actions">
                  <button type="button" className="link-button" onClick={() => zoom(f.node)} aria-label={`Zoom into ${f.method}`}>
                    Zoom
                  </button>
                  {f.exampleTraceId !== '' && (
                    <Link to={`/traces/${f.exampleTraceId}`} aria-label={`Example trace of ${f.method}`}>
                      Trace
                    </Link>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </div>
  );
}

/** Follows the pointer; flips to the left near the right edge. Text only. */
function Tooltip({ lines, x, y, width }: { lines: string[]; x: number; y: number; width: number }) {
  const left = x > width - 280 ? Math.max(0, x - 272) : x + 12;
  return (
    <div className="flame-tooltip" role="tooltip" style={{ left: `${left}px`, top: `${y + 14}px` }}>
      {lines.map((line, i) => (
        <div key={i} className={i === 0 ? 'flame-tooltip-title' : undefined}>
          {line}
        </div>
      ))}
      <div className="flame-tooltip-hint">click to zoom</div>
    </div>
  );
}
