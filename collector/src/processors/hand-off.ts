import type { Logger } from 'pino';
import type { Span } from '../model/span.js';
import type { Consumer } from '../pipeline/stage.js';

/** The exporters' default batch size: a hand-over the queues can take whole. */
const MAX_SPANS_PER_HAND_OVER = 20_000;

/**
 * Spans a processor has released (kept, stitched, decided) that the next stage has not taken
 * yet. Offered in bounded batches, one hand-over at a time; a batch the next stage refuses
 * goes back to the front and waits for the next offer. The owner bounds it: while `size` is
 * over its limit, the owner refuses new spans with backpressure.
 */
export class HandOff {
  private pending: Span[] = [];
  private handing: Promise<void> | undefined;

  constructor(
    private readonly next: Consumer,
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.pending.length;
  }

  push(spans: readonly Span[]): void {
    for (const s of spans) this.pending.push(s);
  }

  /** Offers everything waiting; resolves when the next stage took it all or refused a batch. */
  offer(): Promise<void> {
    if (this.pending.length === 0) return this.handing ?? Promise.resolve();
    this.handing ??= this.offerAll().finally(() => {
      this.handing = undefined;
    });
    return this.handing;
  }

  /** Shutdown: offers until nothing waits or `timeoutMs` passed; what is left is logged. */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // A hand-over in flight holds its spans outside `pending`: wait for it too.
    while ((this.pending.length > 0 || this.handing) && Date.now() < deadline) {
      await this.offer();
      if (this.pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (this.pending.length > 0) this.logger.error({ spans: this.pending.length }, 'shutdown timed out: spans not handed on');
  }

  private async offerAll(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.length > MAX_SPANS_PER_HAND_OVER ? this.pending.slice(0, MAX_SPANS_PER_HAND_OVER) : this.pending;
      this.pending = batch === this.pending ? [] : this.pending.slice(MAX_SPANS_PER_HAND_OVER);
      try {
        await this.next.consume(batch);
      } catch (err) {
        this.pending = batch.concat(this.pending);
        this.logger.warn({ spans: batch.length, err: String(err) }, 'next stage refused spans; will offer them again');
        return;
      }
    }
  }
}
