/**
 * The `GET /api/tail` stream through EventSource (same origin: the browser sends the session
 * cookie, and a GET needs no CSRF token). Spans are handed over in batches, at most every
 * FLUSH_MS (a timer, not an animation frame: a hidden tab must not pile spans up unbounded).
 *
 * EventSource reconnects by itself after a network error ("reconnecting"), but gives up on an
 * HTTP refusal without telling why; the same path is then fetched once through the API client
 * to read the API's message (a 401 there also brings up the login screen), and the probe is
 * aborted at once if the stream opens instead.
 */
import { useEffect, useRef, useState } from 'react';
import { api, ApiError } from '../api/client';
import { useSession } from '../session/useSession';
import { LIST_LIMIT, parseDropped, parseTailSpan, type TailSpan } from './tail-model';

const FLUSH_MS = 100;
/** How long the probe of a refused stream waits for an answer before calling the refusal unexplained. */
const PROBE_MS = 5000;

export type StreamStatus = { state: 'connecting' } | { state: 'open' } | { state: 'reconnecting' } | { state: 'closed'; error: unknown };

export interface TailHandlers {
  onSpans(spans: TailSpan[]): void;
  /** Spans the collector dropped for this stream since its previous `dropped` event. */
  onDropped(count: number): void;
}

/** `generation` reopens the stream when it changes (the Reconnect button). */
export function useTailStream(path: string, handlers: TailHandlers, generation: number): StreamStatus {
  const { epoch } = useSession();
  const [status, setStatus] = useState<StreamStatus>({ state: 'connecting' });
  const latest = useRef(handlers);
  latest.current = handlers;

  useEffect(() => {
    setStatus({ state: 'connecting' });
    const source = new EventSource(path, { withCredentials: false });
    let batch: TailSpan[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const probe = new AbortController();
    let done = false;
    /** Set on cleanup: a late answer of this stream's probe must not overwrite the next stream's status. */
    let disposed = false;
    const closed = (error: unknown) => {
      if (!disposed) setStatus({ state: 'closed', error });
    };
    const flush = () => {
      timer = undefined;
      if (batch.length === 0) return;
      const spans = batch;
      batch = [];
      latest.current.onSpans(spans);
    };
    source.addEventListener('open', () => {
      probe.abort();
      setStatus({ state: 'open' });
    });
    source.addEventListener('span', (event) => {
      const span = parseTailSpan((event as MessageEvent<string>).data);
      if (!span) return;
      batch.push(span);
      if (batch.length >= LIST_LIMIT) flush();
      else timer ??= setTimeout(flush, FLUSH_MS);
    });
    source.addEventListener('dropped', (event) => {
      const count = parseDropped((event as MessageEvent<string>).data);
      if (count !== undefined) latest.current.onDropped(count);
    });
    source.addEventListener('error', () => {
      if (done) return;
      if (source.readyState === EventSource.CONNECTING) {
        setStatus({ state: 'reconnecting' });
        return;
      }
      // CLOSED: the collector refused the stream (a status other than 200). Ask it why.
      done = true;
      const giveUp = setTimeout(() => probe.abort(), PROBE_MS);
      api<unknown>(path, { signal: probe.signal })
        .then(
          () => closed(new Error('the stream closed')),
          (error: unknown) => closed(error instanceof ApiError ? error : new Error('the stream closed; the collector may have stopped')),
        )
        .finally(() => clearTimeout(giveUp));
    });
    return () => {
      done = true;
      disposed = true;
      source.close();
      probe.abort();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [path, epoch, generation]);

  return status;
}
