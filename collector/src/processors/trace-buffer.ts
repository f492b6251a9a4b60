import type { Span } from '../model/span.js';
import { AgedMap } from './aged-map.js';

export interface TraceBufferOptions {
  /** A trace is complete once no span of it arrived for this long. */
  decisionWaitMs: number;
  /** Traces held at most; beyond, the least recently updated trace is released early. */
  maxTraces: number;
  /** Spans held at most, across traces; same early release. */
  maxSpans: number;
}

export interface BufferedTrace {
  traceId: string;
  spans: Span[];
  /** Clock times (ms) of the first and the latest span arrival. */
  firstSeenMs: number;
  lastSeenMs: number;
}

/** Why a trace left the buffer: its wait passed, memory bounds forced it out, or shutdown. */
export type ReleaseReason = 'complete' | 'evicted' | 'shutdown';

/**
 * Holds spans per trace until the trace is complete — `decisionWaitMs` after its latest span —
 * in memory bounded by `maxTraces` and `maxSpans`. Traces are kept in order of last update
 * ({@link AgedMap}: a touched trace becomes the newest), so both expiry and eviction take
 * from the oldest end: O(1) per span, no scan of the whole buffer.
 *
 * Time is passed in (`add(spans, nowMs)`, `release(nowMs)`), so tests decide it; the stage
 * that owns the buffer calls `release` from its own timer with `Date.now()`.
 */
export class TraceBuffer {
  private readonly traces = new AgedMap<BufferedTrace>();
  private spanCount = 0;

  constructor(
    private readonly options: TraceBufferOptions,
    private readonly onRelease: (trace: BufferedTrace, reason: ReleaseReason) => void,
  ) {}

  get traceCount(): number {
    return this.traces.size;
  }

  get heldSpans(): number {
    return this.spanCount;
  }

  has(traceId: string): boolean {
    return this.traces.get(traceId) !== undefined;
  }

  add(spans: readonly Span[], nowMs: number): void {
    for (const span of spans) {
      let trace = this.traces.get(span.traceId);
      if (trace === undefined) trace = { traceId: span.traceId, spans: [], firstSeenMs: nowMs, lastSeenMs: nowMs };
      trace.spans.push(span);
      // Set again only when time moved: a batch of one trace's spans costs one queue item.
      if (trace.spans.length === 1 || trace.lastSeenMs !== nowMs) this.traces.set(span.traceId, trace);
      trace.lastSeenMs = nowMs;
      this.spanCount++;
    }
    while (this.traces.size > this.options.maxTraces || this.spanCount > this.options.maxSpans) {
      this.releaseFirst('evicted');
    }
  }

  /** Releases every trace whose wait has passed at `nowMs`. */
  release(nowMs: number): void {
    for (let oldest = this.traces.oldest(); oldest !== undefined; oldest = this.traces.oldest()) {
      if (oldest[1].lastSeenMs + this.options.decisionWaitMs > nowMs) break;
      this.releaseFirst('complete');
    }
  }

  /** Releases everything (shutdown). */
  releaseAll(): void {
    while (this.traces.size > 0) this.releaseFirst('shutdown');
  }

  private releaseFirst(reason: ReleaseReason): void {
    const [, first] = this.traces.deleteOldest()!;
    this.spanCount -= first.spans.length;
    this.onRelease(first, reason);
  }
}
