import type { Logger } from 'pino';
import type { Span } from '../model/span.js';
import type { CollectorMetrics } from '../telemetry.js';
import { QueueFullError, type Stage } from './stage.js';

export interface BatchQueueOptions {
  /** A batch is sealed when it holds this many spans… */
  maxBatchSpans: number;
  /** …or when its first span has waited this long. */
  timeoutMs: number;
  /** Spans held at most (batching + sealed + in flight + retrying); beyond it, `consume` refuses. */
  maxQueuedSpans: number;
  retryAfterSeconds: number;
  /** Batches sent at once. */
  concurrency: number;
}

/** An exporter as the queue sees it: something that delivers a batch or throws. */
export interface BatchSink extends Stage {
  readonly name: string;
}

const MIN_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 30_000;

/**
 * Batches spans for one exporter, bounded in memory: spans stay counted until the exporter
 * has delivered them, so a slow or failing backend fills the queue and receivers answer
 * 429 / RESOURCE_EXHAUSTED instead of memory growing. A failed batch is retried first, after
 * an exponential backoff with jitter, so batches reach the exporter in order of arrival.
 */
export class BatchQueue implements Stage {
  private current: Span[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly ready: Array<{ spans: Span[]; attempt: number }> = [];
  private queued = 0;
  private inFlight = 0;
  /** Set while the queue waits out a backoff after a failed send: nothing is sent meanwhile. */
  private backoff: NodeJS.Timeout | undefined;
  private drained: Array<() => void> = [];
  private stopping = false;

  constructor(
    private readonly sink: BatchSink,
    private readonly options: BatchQueueOptions,
    private readonly metrics: CollectorMetrics,
    private readonly logger: Logger,
  ) {
    metrics.queueCapacity.set({ exporter: sink.name }, options.maxQueuedSpans);
    metrics.queueSpans.set({ exporter: sink.name }, 0);
  }

  get name(): string {
    return this.sink.name;
  }

  /** Spans currently held. */
  get size(): number {
    return this.queued;
  }

  hasRoomFor(count: number): boolean {
    return this.queued + count <= this.options.maxQueuedSpans;
  }

  async start(): Promise<void> {
    await this.sink.start();
  }

  consume(spans: Span[]): Promise<void> {
    if (!this.hasRoomFor(spans.length)) return Promise.reject(this.fullError());
    this.take(spans);
    return Promise.resolve();
  }

  /** Adds spans without the room check: for a fan-out that checked every queue first. */
  take(spans: Span[]): void {
    if (spans.length === 0) return;
    this.queued += spans.length;
    this.metrics.queueSpans.set({ exporter: this.name }, this.queued);
    for (const span of spans) this.current.push(span);
    if (this.current.length >= this.options.maxBatchSpans) this.seal();
    else this.timer ??= setTimeout(() => this.seal(), this.options.timeoutMs);
  }

  fullError(): QueueFullError {
    return new QueueFullError(
      `exporter queue '${this.name}' is full (${this.queued} of ${this.options.maxQueuedSpans} spans); retry later`,
      this.options.retryAfterSeconds,
    );
  }

  /** Sends everything held, waiting for retries, up to `timeoutMs`; then releases the exporter. */
  async shutdown(timeoutMs = 30_000): Promise<void> {
    this.stopping = true;
    // A backoff in progress ends now: the process is about to stop.
    clearTimeout(this.backoff);
    this.backoff = undefined;
    this.seal();
    this.pump();
    if (this.queued > 0) {
      let timeout: NodeJS.Timeout | undefined;
      const expired = new Promise<void>((resolve) => (timeout = setTimeout(resolve, timeoutMs)));
      await Promise.race([new Promise<void>((resolve) => this.drained.push(resolve)), expired]);
      clearTimeout(timeout);
      if (this.queued > 0) {
        this.logger.error({ exporter: this.name, spans: this.queued }, 'shutdown timed out: spans not delivered');
      }
    }
    await this.sink.shutdown();
  }

  private seal(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.current.length === 0) return;
    this.ready.push({ spans: this.current, attempt: 0 });
    this.current = [];
    this.pump();
  }

  private pump(): void {
    if (this.backoff) return;
    while (this.inFlight < this.options.concurrency && this.ready.length > 0) {
      void this.send(this.ready.shift()!);
    }
  }

  private async send(batch: { spans: Span[]; attempt: number }): Promise<void> {
    this.inFlight++;
    const stopTimer = this.metrics.exportLatency.startTimer({ exporter: this.name });
    try {
      await this.sink.consume(batch.spans);
      stopTimer();
      this.queued -= batch.spans.length;
      this.metrics.spansExported.inc({ exporter: this.name }, batch.spans.length);
      this.metrics.queueSpans.set({ exporter: this.name }, this.queued);
    } catch (err) {
      this.metrics.exportFailures.inc({ exporter: this.name });
      this.retryLater(batch, err);
    } finally {
      this.inFlight--;
    }
    if (this.queued === 0) this.drained.splice(0).forEach((resolve) => resolve());
    this.pump();
  }

  /**
   * Puts a failed batch back at the head of the queue and pauses sending for a backoff with
   * jitter: the backend is likely down, so the batches behind it would fail the same way.
   */
  private retryLater(batch: { spans: Span[]; attempt: number }, err: unknown): void {
    batch.attempt++;
    this.ready.unshift(batch);
    const backoff = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** (batch.attempt - 1));
    const delay = this.stopping ? MIN_BACKOFF_MS : backoff / 2 + Math.random() * (backoff / 2);
    this.logger.warn(
      { exporter: this.name, spans: batch.spans.length, attempt: batch.attempt, retryInMs: Math.round(delay), err: String(err) },
      'export failed; will retry',
    );
    if (this.backoff) return;
    this.backoff = setTimeout(() => {
      this.backoff = undefined;
      this.pump();
    }, delay);
  }
}
