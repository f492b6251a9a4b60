import { AgedMap } from '../aged-map.js';
import type { SpanBrief } from './brief.js';

/** A span of a released piece, as later pieces of its trace may need it. */
export interface RememberedSpan extends SpanBrief {
  /** Its clock-skew offset (0 for most spans). */
  offsetNs: bigint;
}

export interface RecentTracesOptions {
  windowMs: number;
  /** Span entries held at most, across traces (waiting callees included). */
  maxSpans: number;
}

interface Entry {
  releasedMs: number;
  /** Every span ID released (the spans' own strings: no copies). */
  spanIds: string[];
  /** The spans a later piece can use: callers, and spans whose times were shifted. */
  kept: RememberedSpan[];
  /** Callees released without their parent: a late caller still pairs with them. */
  waiting: SpanBrief[];
  /** Built on the first lookup only: most traces are never looked up again. */
  index?: Set<string>;
}

/**
 * The spans of recently released traces, so that a span arriving after its trace left still
 * finds its parent. Remembering is the hot path (every span of every trace), so it only
 * appends to arrays; lookups, needed only by traces that arrive in several pieces, pay for an
 * index then. Bounded by time and by span count, both taking the least recently released first.
 */
export class RecentTraces {
  private readonly traces = new AgedMap<Entry>();
  private size = 0;

  constructor(private readonly options: RecentTracesOptions) {}

  get spanCount(): number {
    return this.size;
  }

  remember(traceId: string, nowMs: number, spanIds: readonly string[], kept: readonly RememberedSpan[], waiting: readonly SpanBrief[]): void {
    const entry = this.traces.get(traceId);
    if (entry) {
      for (const id of spanIds) entry.spanIds.push(id);
      for (const k of kept) entry.kept.push(k);
      for (const w of waiting) entry.waiting.push(w);
      if (entry.index) for (const id of spanIds) entry.index.add(id);
      entry.releasedMs = nowMs;
      this.traces.set(traceId, entry);
    } else {
      this.traces.set(traceId, { releasedMs: nowMs, spanIds: [...spanIds], kept: [...kept], waiting: [...waiting] });
    }
    this.size += spanIds.length + waiting.length;
    while (this.size > this.options.maxSpans) this.dropFirst();
  }

  /** Whether this span of the trace was released recently. */
  has(traceId: string, spanId: string): boolean {
    const entry = this.traces.get(traceId);
    if (!entry) return false;
    entry.index ??= new Set(entry.spanIds);
    return entry.index.has(spanId);
  }

  /** The remembered span, null when it was released but not kept, undefined when unknown. */
  get(traceId: string, spanId: string): RememberedSpan | null | undefined {
    const kept = this.traces.get(traceId)?.kept.find((k) => k.spanId === spanId);
    if (kept) return kept;
    return this.has(traceId, spanId) ? null : undefined;
  }

  /** Callees released earlier that wait for this caller; they are handed out once. */
  takeWaiting(traceId: string, callerSpanId: string): SpanBrief[] {
    const entry = this.traces.get(traceId);
    if (!entry || entry.waiting.length === 0) return [];
    const taken = entry.waiting.filter((w) => w.parentSpanId === callerSpanId);
    if (taken.length > 0) {
      entry.waiting = entry.waiting.filter((w) => w.parentSpanId !== callerSpanId);
      this.size -= taken.length;
    }
    return taken;
  }

  expire(nowMs: number): void {
    for (let oldest = this.traces.oldest(); oldest && oldest[1].releasedMs + this.options.windowMs <= nowMs; oldest = this.traces.oldest()) {
      this.dropFirst();
    }
  }

  private dropFirst(): void {
    const [, entry] = this.traces.deleteOldest()!;
    this.size -= entry.spanIds.length + entry.waiting.length;
  }
}
