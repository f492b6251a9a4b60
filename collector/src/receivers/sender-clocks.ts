import type { Span } from '../model/span.js';

/** What `/api/status` and `flowtrace doctor` report about one sender's clock. */
export interface SenderClock {
  service: string;
  /** How far its newest span ends after the collector received it (clock ahead), in ms; 0 when never. */
  aheadMs: number;
  /** How long after its newest span ended it arrived (clock behind, or export delay), in ms. */
  behindMs: number;
}

const BUCKET_MS = 60_000;
/** Buckets (minutes) kept: the window the report covers. */
export const SENDER_CLOCK_WINDOW_MINUTES = 5;
/** Services tracked per minute at most; more senders than that are not tracked that minute. */
const MAX_SERVICES_PER_BUCKET = 1_000;
const NS_PER_MS = 1_000_000n;

/** Consecutive spans of one resource in a request. */
export interface ResourceRun {
  service: string;
  newestEndNs: bigint;
}

function* resourceRuns(spans: readonly Span[]): Generator<ResourceRun> {
  if (spans.length === 0) return;
  let resource = spans[0]!.resource;
  let newest = 0n;
  for (const span of spans) {
    if (span.resource !== resource) {
      yield { service: resource.serviceName, newestEndNs: newest };
      resource = span.resource;
      newest = 0n;
    }
    // An end before its start (or none) counts as the start: what the rows path's summaries
    // hold (SpanSummaries.resourceRuns), so both paths report the same clocks.
    const end = span.endTimeUnixNano > span.startTimeUnixNano ? span.endTimeUnixNano : span.startTimeUnixNano;
    if (end > newest) newest = end;
  }
  yield { service: resource.serviceName, newestEndNs: newest };
}

interface Bucket {
  minute: number;
  /** service → [min, max] of (receive time − newest span end) in ms. */
  skew: Map<string, [number, number]>;
}

/**
 * The clock skew of recent senders, measured cheaply at ingest: for each run of spans of one
 * resource in a request, receive time minus the newest span's end. A negative value means the
 * sender's clock is ahead (its spans end in the future); a large positive one means it is behind
 * or its exporter holds spans long. Kept per minute for the last few minutes, per service.
 */
export class SenderClocks {
  private buckets: Bucket[] = [];

  constructor(private readonly clock: () => number = Date.now) {}

  observe(spans: readonly Span[]): void {
    this.observeRuns(resourceRuns(spans));
  }

  /** The same from runs of one resource each: its service and its newest span's end. */
  observeRuns(runs: Iterable<ResourceRun>): void {
    const nowMs = this.clock();
    let bucket: Bucket | undefined;
    for (const run of runs) this.record((bucket ??= this.bucketAt(nowMs)), run.service, nowMs, run.newestEndNs);
  }

  /** Per service over the window, the largest skew either way first. */
  report(): SenderClock[] {
    const since = this.minuteOf(this.clock()) - (SENDER_CLOCK_WINDOW_MINUTES - 1) * BUCKET_MS;
    const merged = new Map<string, [number, number]>();
    for (const b of this.buckets) {
      if (b.minute < since) continue;
      for (const [service, [min, max]] of b.skew) {
        const seen = merged.get(service);
        merged.set(service, seen ? [Math.min(seen[0], min), Math.max(seen[1], max)] : [min, max]);
      }
    }
    return [...merged]
      .map(([service, [min, max]]) => ({ service, aheadMs: Math.max(0, -min), behindMs: Math.max(0, max) }))
      .sort((a, b) => Math.max(b.aheadMs, b.behindMs) - Math.max(a.aheadMs, a.behindMs) || a.service.localeCompare(b.service));
  }

  private record(bucket: Bucket, service: string, nowMs: number, newestEndNs: bigint): void {
    // No end time: nothing to say about the sender's clock.
    if (newestEndNs === 0n) return;
    const skewMs = nowMs - Number(newestEndNs / NS_PER_MS);
    const seen = bucket.skew.get(service);
    if (seen) {
      if (skewMs < seen[0]) seen[0] = skewMs;
      if (skewMs > seen[1]) seen[1] = skewMs;
    } else if (bucket.skew.size < MAX_SERVICES_PER_BUCKET) {
      bucket.skew.set(service, [skewMs, skewMs]);
    }
  }

  private bucketAt(nowMs: number): Bucket {
    const minute = this.minuteOf(nowMs);
    const last = this.buckets[this.buckets.length - 1];
    if (last && last.minute === minute) return last;
    const bucket = { minute, skew: new Map<string, [number, number]>() };
    this.buckets.push(bucket);
    if (this.buckets.length > SENDER_CLOCK_WINDOW_MINUTES) this.buckets.shift();
    return bucket;
  }

  private minuteOf(ms: number): number {
    return Math.floor(ms / BUCKET_MS) * BUCKET_MS;
  }
}
