/**
 * `/tail`: spans as the collector accepts them (`GET /api/tail`, Server-Sent Events), filtered
 * by service, operation, minimum duration and errors (the URL query); pausable; newest first in
 * a bounded, virtualised list where a click opens the trace. What pausing does and why:
 * tail-model.ts.
 */
import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useEffect, useMemo, useReducer, useRef, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import type { ServicesAnswer } from '../api/types';
import { ServiceOperationFields } from '../components/ServiceOperationFields';
import { Empty, ErrorMessage } from '../components/states';
import { useApi } from '../components/useApi';
import { formatDuration, formatTimestamp, timestampTitle } from '../format/time';
import { clear, droppedByCollector, INITIAL_TAIL, LIST_LIMIT, pause, receive, resume, type TailRow, type TailSpan, type TailState } from './tail-model';
import { tailApiPath, tailFormFromUrl, urlFromTailForm, type TailForm } from './tail-query';
import { useTailStream, type StreamStatus } from './useTailStream';
import './tail.css';

const ROW_HEIGHT = 30;

type Action =
  | { type: 'spans'; spans: TailSpan[] }
  | { type: 'dropped'; count: number }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'clear'; resetCounts?: boolean };

function reducer(state: TailState, action: Action): TailState {
  switch (action.type) {
    case 'spans':
      return receive(state, action.spans);
    case 'dropped':
      return droppedByCollector(state, action.count);
    case 'pause':
      return pause(state);
    case 'resume':
      return resume(state);
    case 'clear':
      return clear(state, action.resetCounts);
  }
}

export default function TailPage() {
  const [params, setParams] = useSearchParams();
  const query = params.toString();
  const form = useMemo(() => tailFormFromUrl(new URLSearchParams(query)), [query]);
  const path = tailApiPath(form);
  const [state, dispatch] = useReducer(reducer, INITIAL_TAIL);
  const [generation, setGeneration] = useState(0);
  const services = useApi<ServicesAnswer>('/api/services');

  const status = useTailStream(
    path,
    {
      onSpans: useCallback((spans: TailSpan[]) => dispatch({ type: 'spans', spans }), []),
      onDropped: useCallback((count: number) => dispatch({ type: 'dropped', count }), []),
    },
    generation,
  );

  // Another filter (the form, a link, back/forward): another stream, and a list of its spans only.
  useEffect(() => dispatch({ type: 'clear', resetCounts: true }), [path]);

  return (
    <div className="tail-page">
      <h1>Live tail</h1>
      <TailFilter key={query} initial={form} services={services.status === 'done' ? services.data.services : []} onApply={(next) => setParams(urlFromTailForm(next))} />
      <div className="tail-controls">
        <button type="button" className="primary" onClick={() => dispatch({ type: state.paused ? 'resume' : 'pause' })} aria-pressed={state.paused}>
          {state.paused ? `Resume${state.waiting.length > 0 ? ` (${state.waiting.length.toLocaleString('en')} new)` : ''}` : 'Pause'}
        </button>
        <button type="button" onClick={() => dispatch({ type: 'clear' })} disabled={state.rows.length === 0 && state.waiting.length === 0}>
          Clear
        </button>
        <StatusLine status={status} onReconnect={() => setGeneration((g) => g + 1)} />
      </div>
      <Counts state={state} />
      {status.state === 'closed' && <ErrorMessage error={status.error} title="The live tail stopped" />}
      {state.rows.length === 0 ? (
        <Empty>
          <p>
            {state.paused
              ? 'Paused: new spans wait until you resume.'
              : status.state === 'open'
                ? 'Waiting for spans that match… they appear here as the collector accepts them.'
                : 'Not connected yet.'}
          </p>
          {status.state === 'open' && !state.paused && (
            <p>
              Nothing coming in? Point your OTLP exporter at <code>:4317</code> (gRPC) or <code>:4318/v1/traces</code> (HTTP).
            </p>
          )}
        </Empty>
      ) : (
        <SpanList rows={state.rows} />
      )}
    </div>
  );
}

function StatusLine({ status, onReconnect }: { status: StreamStatus; onReconnect(): void }) {
  const text = { connecting: 'Connecting…', open: 'Live', reconnecting: 'Connection lost: reconnecting…', closed: 'Stopped' }[status.state];
  return (
    <span className="tail-status" data-status={status.state} role="status" aria-live="polite">
      <span className="tail-dot" aria-hidden="true" />
      {text}
      {status.state === 'reconnecting' && ' (spans sent meanwhile are not shown)'}
      {status.state === 'closed' && (
        <button type="button" onClick={onReconnect}>
          Reconnect
        </button>
      )}
    </span>
  );
}

function Counts({ state }: { state: TailState }) {
  return (
    <p className="tail-counts">
      <span data-count="received">{state.received.toLocaleString('en')} received</span>
      {' · '}
      <span data-count="shown">
        {state.rows.length.toLocaleString('en')} shown (the newest {LIST_LIMIT.toLocaleString('en')} are kept)
      </span>
      {state.paused && (
        <>
          {' · '}
          <span data-count="waiting">{state.waiting.length.toLocaleString('en')} waiting while paused</span>
        </>
      )}
      {state.overflowWhilePaused > 0 && (
        <>
          {' · '}
          <span data-count="overflow" className="tail-warning">
            {state.overflowWhilePaused.toLocaleString('en')} arrived while paused beyond what the list keeps
          </span>
        </>
      )}
      {state.droppedByCollector > 0 && (
        <>
          {' · '}
          <span data-count="dropped" className="tail-warning" title="The collector drops spans for a client that reads slower than they arrive, or past its tail rate limit">
            {state.droppedByCollector.toLocaleString('en')} dropped by the collector (this page fell behind)
          </span>
        </>
      )}
    </p>
  );
}

function SpanList({ rows }: { rows: readonly TailRow[] }) {
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({ count: rows.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan: 10, getItemKey: (i) => rows[i]!.seq });
  return (
    <div ref={scroller} className="tail-scroll" tabIndex={-1}>
      <div className="tail-head" aria-hidden="true">
        <span>Start</span>
        <span>Service</span>
        <span>Span</span>
        <span>Kind</span>
        <span className="num">Duration</span>
        <span>Status</span>
      </div>
      <ul className="tail-list" style={{ height: `${virtualizer.getTotalSize()}px` }} aria-label={`${rows.length} spans, newest first`}>
        {virtualizer.getVirtualItems().map((item) => {
          const { span, seq } = rows[item.index]!;
          const failed = span.status.code === 'Error';
          return (
            <li key={seq} className="tail-item" style={{ transform: `translateY(${item.start}px)`, height: `${ROW_HEIGHT}px` }} data-trace-id={span.traceId} data-span-name={span.name}>
              <Link to={`/traces/${span.traceId}`} className={failed ? 'tail-row failed' : 'tail-row'} title={`Open trace ${span.traceId}`}>
                <span title={timestampTitle(span.startTimeUnixNano)}>{formatTimestamp(span.startTimeUnixNano)}</span>
                <span className="service-name">{span.service}</span>
                <span className="tail-name">{span.name}</span>
                <span className="tail-kind">{span.kind}</span>
                <span className="num" title={`${span.durationNano} ns`}>
                  {formatDuration(span.durationNano)}
                </span>
                <span className={failed ? 'error-count' : 'tail-ok'} title={span.status.message || undefined}>
                  {span.status.code === 'Unset' ? '' : span.status.code}
                </span>
              </Link>
            </li>
          );
        })}
      </ul>
    </div>
  );
}

function TailFilter({ initial, services, onApply }: { initial: TailForm; services: readonly string[]; onApply(form: TailForm): void }) {
  const [form, setForm] = useState(initial);
  const set = <K extends keyof TailForm>(key: K, value: TailForm[K]) => setForm((f) => ({ ...f, [key]: value }));

  function submit(event: FormEvent) {
    event.preventDefault();
    onApply(form);
  }

  return (
    <form className="search-form" onSubmit={submit} aria-label="Tail filter">
      <ServiceOperationFields listId="tail" value={form} services={services} onChange={(v) => setForm((f) => ({ ...f, ...v }))} />
      <label>
        Min duration
        <input name="minDuration" value={form.minDuration} onChange={(e) => set('minDuration', e.target.value)} placeholder="250ms" autoComplete="off" />
      </label>
      <label className="checkbox">
        <input name="errorsOnly" type="checkbox" checked={form.errorsOnly} onChange={(e) => set('errorsOnly', e.target.checked)} />
        Errors only
      </label>
      <div className="actions">
        <button type="submit">Apply filter</button>
      </div>
      <p className="hint">
        Spans show as they are accepted, after redaction and before sampling: some may later be sampled out and not be stored. Pausing keeps the stream open and holds the newest{' '}
        {LIST_LIMIT.toLocaleString('en')} arrivals until you resume.
      </p>
    </form>
  );
}
