/**
 * A string-keyed map that knows which entry was set longest ago and drops it cheaply.
 *
 * The usual JavaScript idiom — a Map kept in update order, `map.keys().next()` to find the
 * oldest — is quadratic in V8: a deleted slot stays in the table until the next rehash, and
 * iteration from the front steps over every one of them (measured: 12 µs per drop with 30 000
 * live keys, 46 µs with 100 000). Here the order is a queue of keys beside the Map; a key set
 * again leaves a stale queue item behind, recognised by its stamp and skipped.
 */
export class AgedMap<V> {
  private readonly entries = new Map<string, { value: V; stamp: number }>();
  private keys: string[] = [];
  private stamps: number[] = [];
  private head = 0;
  private nextStamp = 0;

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    return this.entries.get(key)?.value;
  }

  /** Sets the value and makes the entry the newest. */
  set(key: string, value: V): void {
    const stamp = this.nextStamp++;
    this.entries.set(key, { value, stamp });
    this.keys.push(key);
    this.stamps.push(stamp);
    // Keys set again and again leave stale items faster than drops consume them: rebuild then.
    if (this.keys.length - this.head > 4 * this.entries.size + 1024) this.rebuild();
  }

  /** Removes an entry wherever it is; its queue item turns stale and is skipped. */
  delete(key: string): void {
    this.entries.delete(key);
  }

  /** The entry set longest ago. */
  oldest(): [key: string, value: V] | undefined {
    while (this.head < this.keys.length) {
      const key = this.keys[this.head]!;
      const entry = this.entries.get(key);
      if (entry && entry.stamp === this.stamps[this.head]) return [key, entry.value];
      this.head++; // stale: the key was set again later
    }
    this.compact();
    return undefined;
  }

  deleteOldest(): [key: string, value: V] | undefined {
    const oldest = this.oldest();
    if (!oldest) return undefined;
    this.entries.delete(oldest[0]);
    this.head++;
    this.compact();
    return oldest;
  }

  /** Drops consumed queue items once they are most of the queue. */
  private compact(): void {
    if (this.head < 1024 || this.head * 2 < this.keys.length) return;
    this.keys = this.keys.slice(this.head);
    this.stamps = this.stamps.slice(this.head);
    this.head = 0;
  }

  private rebuild(): void {
    const live = [...this.entries].sort((a, b) => a[1].stamp - b[1].stamp);
    this.keys = live.map(([key]) => key);
    this.stamps = live.map(([, e]) => e.stamp);
    this.head = 0;
  }
}
