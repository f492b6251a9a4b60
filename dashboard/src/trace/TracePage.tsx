/**
 * `/traces/:traceId`: one trace as a waterfall, built for big method-level traces. The skeleton
 * (IDs, parents, times, names, status of every span) is loaded first and turned into flat
 * arrays (model/); attributes come per span when one is opened. State kept in the URL query
 * (trace-url.ts): the selected span, the clock-skew toggle, the tab. The trace's log records
 * under the waterfall (LogsPanel.tsx).
 */
import { lazy, Suspense, useDeferredValue, useEffect, useMemo, useRef, useState } from 'react';
import { useParams, useSearchParams } from 'react-router';
import { ApiError } from '../api/client';
import { ErrorMessage, Loading } from '../components/states';
import { useDocumentTheme } from '../flame/useDocumentTheme';
import { InsightsList, MissingReasons, useInsights } from './InsightsList';
import { LogsPanel } from './LogsPanel';
import { nextInTreeOrder, searchSpans } from './model';
import { SelfTimeTables } from './SelfTimeTables';
import { SpanPanel } from './SpanPanel';
import { TraceHeader } from './TraceHeader';
import { refusalTitle, traceStateFromUrl, urlOfTraceState, type TraceTab, type TraceUrlState } from './trace-url';
import { useCriticalPath, useTraceModel, type TraceModel } from './useTraceModel';
import { Waterfall } from './Waterfall';
import './trace.css';

const TraceFlame = lazy(() => import('../flame/TraceFlame'));

export default function TracePage() {
  const { traceId = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const url = useMemo(() => traceStateFromUrl(params), [params]);
  const state = useTraceModel(traceId, url.adjustClockSkew);
  const setUrl = (next: Partial<TraceUrlState>) => setParams(urlOfTraceState({ ...url, ...next }, params));

  if (state.status === 'loading') return <Loading what={`trace ${traceId}`} />;
  if (state.status === 'error') return <TraceRefused error={state.error} traceId={traceId} />;
  return <TraceLoaded key={`${traceId}/${url.adjustClockSkew}`} traceId={traceId} model={state.model} url={url} setUrl={setUrl} />;
}

function TraceRefused({ error, traceId }: { error: unknown; traceId: string }) {
  const title = refusalTitle(error instanceof ApiError ? error.status : 0);
  return (
    <div className="trace-page">
      <h1>
        Trace <code>{traceId}</code>
      </h1>
      <ErrorMessage error={error} title={title} />
    </div>
  );
}

interface LoadedProps {
  traceId: string;
  model: TraceModel;
  url: TraceUrlState;
  setUrl(next: Partial<TraceUrlState>): void;
}

function TraceLoaded({ traceId, model, url, setUrl }: LoadedProps) {
  const { view, tree, data } = model;
  const theme = useDocumentTheme();
  // The view is mutated in place; its version re-renders.
  const [version, setVersion] = useState(view.version);
  const bump = () => setVersion(view.version);
  // The cursor is a row entry (node, or group as < 0), so it survives rows moving.
  const [cursorItem, setCursorItem] = useState(() => (view.length > 0 ? view.rows[0]! : 0));
  const [scrollRequest, setScrollRequest] = useState(0);
  const [showCritical, setShowCritical] = useState(true);
  const [query, setQuery] = useState('');
  const searchRef = useRef<HTMLInputElement>(null);
  const criticalPath = useCriticalPath(traceId, model);
  const insights = useInsights(traceId, data.size);

  const cursorRow = useMemo(() => Math.max(0, view.rowOfNode(cursorItem)), [view, version, cursorItem]);
  const selectedNode = url.span ? (model.nodeOfSpan(url.span) ?? -1) : -1;

  // A span selected from the URL, a link, a search or an error jump: reveal it and scroll to it.
  useEffect(() => {
    if (selectedNode < 0) return;
    if (view.rowOfNode(selectedNode) < 0) {
      view.reveal(selectedNode);
      bump();
    }
    setCursorItem(selectedNode);
    setScrollRequest((n) => n + 1);
  }, [selectedNode]);

  const deferredQuery = useDeferredValue(query);
  const search = useMemo(() => (deferredQuery.trim() === '' ? undefined : searchSpans(tree, deferredQuery)), [tree, deferredQuery]);
  useEffect(() => {
    if (search && search.nodes.length > 0) {
      view.revealAll(search.nodes);
      bump();
    }
  }, [search]);

  const select = (node: number) => {
    if (node >= 0 && node < data.size) setUrl({ span: data.spanIds[node]! });
  };
  const fromNode = () => (selectedNode >= 0 ? selectedNode : view.length > 0 ? view.nodeOfRow(cursorRow) : -1);
  const jump = (nodes: Int32Array | undefined, direction: 1 | -1) => {
    if (!nodes) return;
    const target = nextInTreeOrder(tree, nodes, fromNode(), direction);
    if (target !== undefined) select(target);
  };
  const searchIndex = search && selectedNode >= 0 ? search.nodes.indexOf(selectedNode) : -1;

  // Page keys (not while typing): e / Shift+E next / previous error, Escape closes the details, / the search box.
  const keys = useRef<(event: KeyboardEvent) => void>(() => undefined);
  keys.current = (event) => {
    const target = event.target as HTMLElement | null;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target && (target.tagName === 'INPUT' || target.tagName === 'SELECT' || target.tagName === 'TEXTAREA')) return;
    if (event.key === 'e' || event.key === 'E') {
      event.preventDefault();
      jump(model.errors, event.shiftKey ? -1 : 1);
    } else if (event.key === 'Escape' && selectedNode >= 0) {
      setUrl({ span: '' });
    } else if (event.key === '/') {
      event.preventDefault();
      searchRef.current?.focus();
    }
  };
  useEffect(() => {
    const listener = (event: KeyboardEvent) => keys.current(event);
    document.addEventListener('keydown', listener);
    return () => document.removeEventListener('keydown', listener);
  }, []);

  const toggle = (row: number, how: 'toggle' | 'collapse' | 'expand') => {
    setCursorItem(view.rows[row]!);
    view[how](row);
    bump();
  };
  const open = (row: number) => {
    setCursorItem(view.rows[row]!);
    select(view.nodeOfRow(row));
  };
  const setRoot = (node: number) => {
    view.setRoot(node);
    setCursorItem(view.length > 0 ? view.rows[0]! : 0);
    setScrollRequest((n) => n + 1);
    bump();
  };
  const expandTo = (value: string) => {
    if (value === 'all') view.expandAll();
    else if (value !== '') view.expandToDepth(Number(value));
    bump();
  };
  const tabs: Array<[TraceTab, string]> = [
    ['waterfall', 'Waterfall'],
    ['self-time', 'Self time'],
    ['flame', 'Flame graph'],
  ];
  const { completeness } = tree;

  return (
    <div className="trace-page" data-trace-id={data.traceId} data-critical-path={criticalPath.source}>
      <TraceHeader traceId={traceId} model={model} adjustClockSkew={url.adjustClockSkew} onAdjustClockSkew={(on) => setUrl({ adjustClockSkew: on })} />
      {(!completeness.complete || data.readRestricted) && (
        <div className="completeness-banner" role="status">
          <strong>Part of this trace is missing.</strong>
          <ul>
            {completeness.messages.map((m) => (
              <li key={m}>{m}</li>
            ))}
            {data.readRestricted && completeness.hiddenSpanCount === 0 && <li>Your read rules hide some services of this trace.</li>}
          </ul>
          <MissingReasons state={insights} />
        </div>
      )}
      <InsightsList state={insights} spanCount={data.size} />
      <div className="trace-tabs" role="tablist" aria-label="Views of the trace">
        {tabs.map(([tab, label]) => (
          <button key={tab} type="button" role="tab" aria-selected={url.tab === tab} className={url.tab === tab ? 'active' : undefined} onClick={() => setUrl({ tab })}>
            {label}
          </button>
        ))}
      </div>
      {url.tab === 'self-time' && <SelfTimeTables model={model} root={view.root} />}
      {url.tab === 'flame' && (
        <Suspense fallback={<Loading what="the flame graph" />}>
          <TraceFlame traceId={traceId} />
        </Suspense>
      )}
      {url.tab === 'waterfall' && (
        <>
          <div className="trace-toolbar">
            <label className="trace-search">
              Find spans
              <input
                ref={searchRef}
                type="search"
                value={query}
                placeholder="name, service or span ID"
                onChange={(e) => setQuery(e.target.value)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') {
                    e.preventDefault();
                    jump(search?.nodes, e.shiftKey ? -1 : 1);
                  }
                }}
              />
            </label>
            {search && (
              <span className="search-count" aria-live="polite">
                {search.nodes.length === 0 ? 'no match' : `${searchIndex >= 0 ? `${searchIndex + 1} of ` : ''}${search.nodes.length} ${search.nodes.length === 1 ? 'match' : 'matches'} (Enter: next)`}
              </span>
            )}
            <span className="error-nav">
              <button type="button" onClick={() => jump(model.errors, -1)} disabled={model.errors.length === 0} title="Previous error (Shift+E)">
                ◂ Previous error
              </button>
              <button type="button" onClick={() => jump(model.errors, 1)} disabled={model.errors.length === 0} title="Next error (E)">
                Next error ▸
              </button>
            </span>
            <label>
              Expand to depth{' '}
              <select value="" onChange={(e) => expandTo(e.target.value)}>
                <option value="">…</option>
                {Array.from({ length: Math.min(model.maxDepth + 1, 30) }, (_, i) => (
                  <option key={i} value={i + 1}>
                    {i + 1}
                  </option>
                ))}
                <option value="all">all (groups too)</option>
              </select>
            </label>
            <label>
              <input type="checkbox" checked={showCritical} onChange={(e) => setShowCritical(e.target.checked)} /> Critical path
              {criticalPath.source === 'pending' && showCritical ? ' (computing…)' : ''}
            </label>
          </div>
          <p className="hint keys-hint">↑/↓ move · ←/→ collapse/expand · Enter details · Esc close · E / Shift+E next/previous error · / find</p>
          {view.root >= 0 && (
            <div className="root-banner" role="status">
              Showing the subtree of <strong>{data.names[data.name[view.root]!]}</strong> as root.{' '}
              <button type="button" onClick={() => setRoot(-1)}>
                Back to the whole trace
              </button>
            </div>
          )}
          {url.span !== '' && selectedNode < 0 && (
            <p className="hint" role="status">
              Span <code>{url.span}</code> is not in this trace (or not readable with your access).
            </p>
          )}
          <div className={selectedNode >= 0 ? 'trace-body with-panel' : 'trace-body'}>
            <Waterfall
              model={model}
              version={version}
              theme={theme}
              search={search}
              criticalPath={showCritical ? criticalPath.map : undefined}
              cursorRow={cursorRow}
              selectedNode={selectedNode}
              scrollRequest={scrollRequest}
              onCursor={(row) => setCursorItem(view.rows[row]!)}
              onToggle={toggle}
              onOpen={open}
            />
            {selectedNode >= 0 && (
              <SpanPanel
                key={url.span}
                traceId={traceId}
                spanId={url.span}
                node={selectedNode}
                model={model}
                shownAsRoot={view.root === selectedNode}
                onShowAsRoot={() => setRoot(selectedNode)}
                onClose={() => setUrl({ span: '' })}
              />
            )}
          </div>
          <LogsPanel
            traceId={traceId}
            traceStartNs={data.startTimeUnixNano}
            hasSpan={(spanId) => model.nodeOfSpan(spanId) !== undefined}
            selectedSpanId={url.span}
            onSelectSpan={(span) => setUrl({ span })}
          />
        </>
      )}
    </div>
  );
}
