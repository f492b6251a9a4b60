import type { Threshold } from './consistent-probability.js';

/**
 * A string-keyed map of at most `capacity` entries that forgets the entry inserted longest ago.
 *
 * Insertion order lives in a ring of keys beside the Map, so dropping the oldest is O(1). (A Map
 * alone, trimmed with `keys().next()` after deletes, is O(n) per drop in V8: deleted slots stay
 * until the next rehash and iteration steps over each.) Setting a key again changes its value
 * but not its age — first in, first out — which keeps the ring free of stale items.
 */
export class BoundedMap<V> {
  private readonly entries = new Map<string, V>();
  /** Keys in insertion order, oldest at `next` once the ring is full. */
  private readonly ring: string[] = [];
  private next = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  set(key: string, value: V): void {
    if (this.capacity <= 0) return;
    if (this.entries.has(key)) {
      this.entries.set(key, value);
      return;
    }
    if (this.ring.length < this.capacity) {
      this.ring.push(key); // grows to capacity only as entries come, not allocated up front
    } else {
      this.entries.delete(this.ring[this.next]!);
      this.ring[this.next] = key;
      this.next = (this.next + 1) % this.capacity;
    }
    this.entries.set(key, value);
  }
}

/**
 * Tail decisions remembered after their traces left the buffer, so that spans arriving later
 * follow them (OpenTelemetry Collector tail_sampling's `decision_cache`). A kept trace
 * remembers the threshold its tail decision applied, for those spans' adjusted count.
 */
export class DecisionCache {
  private readonly sampled: BoundedMap<Threshold>;
  private readonly notSampled: BoundedMap<true>;

  constructor(sampledSize: number, notSampledSize: number) {
    this.sampled = new BoundedMap(sampledSize);
    this.notSampled = new BoundedMap(notSampledSize);
  }

  get sampledSize(): number {
    return this.sampled.size;
  }

  get notSampledSize(): number {
    return this.notSampled.size;
  }

  /** The tail threshold of a trace remembered as kept, or undefined. */
  sampledThreshold(traceId: string): Threshold | undefined {
    return this.sampled.get(traceId);
  }

  isNotSampled(traceId: string): boolean {
    return this.notSampled.has(traceId);
  }

  remember(traceId: string, verdict: Threshold | undefined): void {
    if (verdict === undefined) this.notSampled.set(traceId, true);
    else this.sampled.set(traceId, verdict);
  }
}
