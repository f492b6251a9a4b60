import type { Span } from '../model/span.js';
import { AgedMap } from './aged-map.js';

export interface TraceBufferOptions {
  /** A trace is complete once no span of it arrived for this long. */
  decisionWaitMs: number;
  /** Traces held at most; beyond, the least recently updated trace is released early. */
  maxTraces: number;
  /** Spans held at most, across traces; same early release. */
  maxSpans: number;
  /**
   * A trace is released at the latest this long after its first span, even while spans keep
   * coming (later ones are late spans): nothing is held — nor kept in the journal — for ever.
   * Default {@link defaultMaxHoldMs}.
   */
  maxHoldMs?: number;
}

/** 12 waits, at least a minute. */
export function defaultMaxHoldMs(decisionWaitMs: number): number {
  return Math.max(60_000, 12 * decisionWaitMs);
}

export interface BufferedTrace {
  traceId: string;
  spans: Span[];
  /** Clock times (ms) of the first and the latest span arrival. */
  firstSeenMs: number;
  lastSeenMs: number;
}

/** Why a trace left the buffer: its wait passed, memory bounds forced it out, it was held for `maxHoldMs`, or shutdown. */
export type ReleaseReason = 'complete' | 'evicted' | 'max_hold' | 'shutdown';

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
  /** Traces in order of their first span, for `maxHoldMs` (items of released traces are skipped). */
  private byFirstSeen: BufferedTrace[] = [];
  private firstSeenHead = 0;
  private readonly maxHoldMs: number;

  constructor(
    private readonly options: TraceBufferOptions,
    private readonly onRelease: (trace: BufferedTrace, reason: ReleaseReason) => void,
  ) {
    this.maxHoldMs = options.maxHoldMs ?? defaultMaxHoldMs(options.decisionWaitMs);
  }

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
      if (trace === undefined) {
        trace = { traceId: span.traceId, spans: [], firstSeenMs: nowMs, lastSeenMs: nowMs };
        this.byFirstSeen.push(trace);
      }
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
    while (this.firstSeenHead < this.byFirstSeen.length) {
      const trace = this.byFirstSeen[this.firstSeenHead]!;
      if (this.traces.get(trace.traceId) === trace) {
        if (trace.firstSeenMs + this.maxHoldMs > nowMs) break;
        this.traces.delete(trace.traceId);
        this.spanCount -= trace.spans.length;
        this.onRelease(trace, 'max_hold');
      }
      this.firstSeenHead++;
    }
    if (this.firstSeenHead > 1024 && this.firstSeenHead * 2 > this.byFirstSeen.length) {
      this.byFirstSeen = this.byFirstSeen.slice(this.firstSeenHead);
      this.firstSeenHead = 0;
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
