import { Counter, type Registry } from 'prom-client';
import type { Span } from '../../model/span.js';
import { AgedMap } from '../../processors/aged-map.js';
import type { DropRecorder } from '../drops.js';
import type { Consumer, Stage } from '../stage.js';

export interface DedupeOptions {
  windowMs: number;
  maxSpans: number;
  drops: DropRecorder;
  registry: Registry;
  now?: () => number;
}

/**
 * Lets a span through once: a span (trace ID + span ID) taken in the last `windowMs` — at most
 * `maxSpans` remembered, the oldest forgotten first — is dropped as `pipeline/duplicate`. It sits
 * in front of the embedded-store owner's queue, where every `process` replica's output meets, so
 * a replay after a crash is stored once whichever replica sends it.
 *
 * A span counts as taken only once the next stage accepted it: a request refused with
 * backpressure is retried by its sender and must not then be called a duplicate. A request
 * carrying a span that another request is handing on right now waits for that outcome.
 */
export class SpanDedupe implements Stage {
  private readonly seen: AgedMap<number>;
  private readonly pending = new Map<string, Promise<unknown>>();
  private readonly duplicates: Counter;
  private readonly now: () => number;

  constructor(
    private readonly next: Consumer,
    private readonly options: DedupeOptions,
  ) {
    this.seen = new AgedMap<number>();
    this.now = options.now ?? Date.now;
    this.duplicates = new Counter({
      name: 'flowtrace_dedupe_duplicate_spans_total',
      help: 'Spans dropped because the same trace and span ID was taken within pipeline.dedupe.window_seconds.',
      registers: [options.registry],
    });
  }

  get remembered(): number {
    return this.seen.size;
  }

  async consume(spans: Span[]): Promise<void> {
    let keys = spans.map(spanKey);
    // Spans another request is handing on now: wait for its outcome, then look again.
    for (let waited = this.waitingOn(keys); waited.length > 0; waited = this.waitingOn(keys)) {
      await Promise.allSettled(waited);
      keys = spans.map(spanKey);
    }
    this.forgetOld();
    const fresh: Span[] = [];
    const freshKeys: string[] = [];
    const duplicate: Span[] = [];
    const inBatch = new Set<string>();
    for (let i = 0; i < spans.length; i++) {
      const key = keys[i]!;
      if (this.seen.get(key) !== undefined || inBatch.has(key)) {
        duplicate.push(spans[i]!);
      } else {
        inBatch.add(key);
        fresh.push(spans[i]!);
        freshKeys.push(key);
      }
    }
    if (fresh.length > 0) {
      const handed = this.next.consume(fresh);
      for (const key of freshKeys) this.pending.set(key, handed);
      try {
        await handed;
      } finally {
        for (const key of freshKeys) if (this.pending.get(key) === handed) this.pending.delete(key);
      }
      const at = this.now();
      for (const key of freshKeys) this.seen.set(key, at);
      this.forgetOld();
    }
    if (duplicate.length > 0) {
      this.options.drops.spans('pipeline', 'duplicate', duplicate);
      this.duplicates.inc(duplicate.length);
    }
  }

  private waitingOn(keys: readonly string[]): Array<Promise<unknown>> {
    if (this.pending.size === 0) return [];
    const waits = new Set<Promise<unknown>>();
    for (const key of keys) {
      const handing = this.pending.get(key);
      if (handing) waits.add(handing);
    }
    return [...waits];
  }

  private forgetOld(): void {
    const horizon = this.now() - this.options.windowMs;
    for (;;) {
      const oldest = this.seen.oldest();
      if (!oldest || (oldest[1] > horizon && this.seen.size <= this.options.maxSpans)) return;
      this.seen.deleteOldest();
    }
  }

  async start(): Promise<void> {}

  async shutdown(): Promise<void> {}
}

function spanKey(span: Span): string {
  return span.traceId + span.spanId;
}
