/**
 * The waterfall: a virtualised list (@tanstack/react-virtual: only the rows on screen are in the
 * DOM) of the model's visible rows, under a shared time axis. The list is one focusable tree
 * (aria-activedescendant marks the cursor row); rows are clickable, the twisty toggles a subtree.
 */
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useMemo, useRef, useState, type CSSProperties, type KeyboardEvent } from 'react';
import { frameColours, type FlameTheme } from '../flame/palette';
import { formatDurationNs, rowModel, timeScale, timeTicks, type CriticalPathMap, type SearchResult, type TimeScale } from './model';
import type { TraceModel } from './useTraceModel';
import { keyAction } from './waterfall-keys';

export const ROW_HEIGHT = 24;
const INDENT_PX = 14;

export interface WaterfallProps {
  model: TraceModel;
  /** The view's version: a new one re-renders the rows. */
  version: number;
  theme: FlameTheme;
  search: SearchResult | undefined;
  criticalPath: CriticalPathMap | undefined;
  /** The row with the keyboard cursor. */
  cursorRow: number;
  selectedNode: number;
  /** Bumped to scroll the cursor row into view (a jump from elsewhere: search, error, insight, URL). */
  scrollRequest: number;
  onCursor(row: number): void;
  onToggle(row: number, how: 'toggle' | 'collapse' | 'expand'): void;
  onOpen(row: number): void;
}

export function Waterfall(props: WaterfallProps) {
  const { model, version, cursorRow, scrollRequest } = props;
  const { view, tree } = model;
  const scrollRef = useRef<HTMLDivElement>(null);
  const [ready, setReady] = useState(false);
  const virtualizer = useVirtualizer({
    count: view.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });

  // The axis follows the span shown as root.
  const scale = useMemo(() => (view.root >= 0 ? timeScale(tree.startNs[view.root]!, tree.endNs[view.root]!) : timeScale(0, model.data.endOfTraceNs)), [model, tree, view.root, version]);
  const ticks = useMemo(() => timeTicks(scale, 8), [scale]);

  useEffect(() => {
    if (cursorRow >= 0 && cursorRow < view.length) virtualizer.scrollToIndex(cursorRow, { align: 'auto' });
    // Only on request: moving the cursor with the keys scrolls below.
  }, [scrollRequest]);

  // Interactive once the first rows are painted (the bench waits for this).
  useEffect(() => {
    const frame = requestAnimationFrame(() => {
      // A mark the bench (bench/dashboard-trace.ts) reads: first rows painted, list live.
      performance.mark('flowtrace:trace-ready');
      setReady(true);
    });
    return () => cancelAnimationFrame(frame);
  }, []);

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const action = keyAction(view, cursorRow, event.key);
    if (!action) return;
    event.preventDefault();
    if (action.kind === 'move') {
      props.onCursor(action.row);
      virtualizer.scrollToIndex(action.row, { align: 'auto' });
    } else if (action.kind === 'open') props.onOpen(action.row);
    else props.onToggle(action.row, action.kind);
  };

  const items = virtualizer.getVirtualItems();
  return (
    <div className="waterfall" data-ready={ready ? 'true' : undefined} data-rows={view.length} data-version={version}>
      <div className="waterfall-axis" aria-hidden="true">
        <div className="waterfall-axis-name">Span</div>
        <div className="waterfall-axis-time">
          {ticks.map((tick) => (
            <span key={tick.ns} className="tick" style={{ left: `${scale.fraction(tick.ns) * 100}%` }}>
              {tick.label}
            </span>
          ))}
        </div>
      </div>
      <div
        ref={scrollRef}
        className="waterfall-scroll"
        role="tree"
        aria-label="Spans of the trace"
        tabIndex={0}
        aria-activedescendant={cursorRow >= 0 && cursorRow < view.length ? `wf-row-${cursorRow}` : undefined}
        onKeyDown={onKeyDown}
      >
        <div className="waterfall-spacer" style={{ height: virtualizer.getTotalSize() }}>
          {items.map((item) => (
            <Row key={item.key} row={item.index} top={item.start} scale={scale} {...props} />
          ))}
        </div>
      </div>
    </div>
  );
}

interface RowProps extends WaterfallProps {
  row: number;
  top: number;
  scale: TimeScale;
}

function Row({ model, row, top, scale, theme, search, criticalPath, cursorRow, selectedNode, onCursor, onToggle, onOpen }: RowProps) {
  const { view, data } = model;
  const m = rowModel(view, row, { search, criticalPath });
  const colours = m.service ? frameColours(m.service, theme) : undefined;
  const left = Math.max(0, scale.fraction(m.startNs));
  const right = Math.min(1, scale.fraction(m.endNs));
  const width = Math.max(right - left, 0);
  const spanId = m.kind === 'missing-parent' ? undefined : data.spanIds[m.node];
  const selected = m.kind === 'span' && m.node === selectedNode;
  const classes = ['wf-row', `wf-${m.kind}`];
  if (m.error) classes.push('wf-error');
  if (m.match) classes.push('wf-match');
  if (m.onCriticalPath) classes.push('wf-critical');
  if (row === cursorRow) classes.push('wf-cursor');
  if (selected) classes.push('wf-selected');
  const click = () => {
    onCursor(row);
    if (m.kind === 'group') onToggle(row, 'toggle');
    else if (m.kind === 'span') onOpen(row);
  };
  return (
    <div
      id={`wf-row-${row}`}
      className={classes.join(' ')}
      role="treeitem"
      aria-level={m.depth + 1}
      aria-expanded={m.expandable ? m.expanded : undefined}
      aria-selected={selected}
      data-kind={m.kind}
      data-depth={m.depth}
      data-span-id={m.kind === 'span' ? spanId : undefined}
      data-name={m.label}
      data-critical={m.onCriticalPath ? 'true' : undefined}
      data-match={m.match ? 'true' : undefined}
      data-error={m.error ? 'true' : undefined}
      style={{ transform: `translateY(${top}px)`, height: ROW_HEIGHT }}
      onClick={click}
    >
      <div className="wf-name" style={{ paddingLeft: m.depth * INDENT_PX }}>
        {m.expandable ? (
          <button
            type="button"
            className="wf-twisty"
            tabIndex={-1}
            aria-label={m.expanded ? 'Collapse' : 'Expand'}
            onClick={(event) => {
              event.stopPropagation();
              onCursor(row);
              onToggle(row, 'toggle');
            }}
          >
            {m.expanded ? '▾' : '▸'}
          </button>
        ) : (
          <span className="wf-twisty-space" />
        )}
        {colours && <span className="wf-swatch" style={{ background: colours.fill }} />}
        {m.kind === 'missing-parent' ? (
          <span className="wf-label">
            missing parent <code>{m.label}</code>
          </span>
        ) : (
          <>
            <span className="wf-service">{m.service}</span>
            <span className="wf-label" title={m.label}>
              {m.label}
            </span>
            {m.kind === 'group' ? (
              <span className="wf-group-stats">
                ×{m.count} · total {formatDurationNs(m.durationNs)} · max {formatDurationNs(m.maxNs)}
                {m.errors > 0 ? ` · ${m.errors} failed` : ''}
              </span>
            ) : (
              m.spanKind && <span className={m.method ? 'wf-kind wf-method' : 'wf-kind'}>{m.method ? 'method' : m.spanKind.toLowerCase()}</span>
            )}
            {m.error && <span className="wf-error-mark">error</span>}
          </>
        )}
      </div>
      <div className="wf-timeline">
        <span
          className="wf-bar"
          style={{ left: `${left * 100}%`, width: `max(${width * 100}%, 1px)`, background: colours?.fill }}
        />
        <span className="wf-duration" style={durationLabelPlace(left, right)}>
          {formatDurationNs(m.durationNs)}
        </span>
      </div>
    </div>
  );
}

/** The duration label after the bar, else before it, else at the right edge (a bar across the whole axis). */
function durationLabelPlace(left: number, right: number): CSSProperties {
  if (right <= 0.85) return { left: `${right * 100}%` };
  if (left >= 0.15) return { right: `${(1 - left) * 100}%`, paddingRight: 4 };
  return { right: 0, paddingRight: 4, textAlign: 'right' };
}
