import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Span } from '../model/span.js';
import { CollectorMetrics } from '../telemetry.js';
import { BatchQueue, type BatchQueueOptions, type BatchSink } from './batch-queue.js';
import { QueueFullError } from './stage.js';

/** A sink that records batches and fails the first `failures` attempts. */
class RecordingSink implements BatchSink {
  readonly name = 'test';
  batches: string[][] = [];
  attempts = 0;
  shutdowns = 0;
  constructor(private failures = 0) {}
  async start() {}
  async consume(spans: Span[]) {
    this.attempts++;
    if (this.failures > 0) {
      this.failures--;
      throw new Error('backend down');
    }
    this.batches.push(spans.map((s) => s.name));
  }
  async shutdown() {
    this.shutdowns++;
  }
}

function spans(...names: string[]): Span[] {
  return names.map((name) => ({ name }) as Span);
}

const OPTIONS: BatchQueueOptions = { maxBatchSpans: 3, timeoutMs: 1000, maxQueuedSpans: 5, retryAfterSeconds: 9, concurrency: 1 };
const silent = pino({ level: 'silent' });

describe('BatchQueue', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('seals a batch at its size and sends it', async () => {
    const sink = new RecordingSink();
    const q = new BatchQueue(sink, OPTIONS, new CollectorMetrics(), silent);
    await q.consume(spans('a', 'b', 'c', 'd'));
    await vi.advanceTimersByTimeAsync(0);
    expect(sink.batches).toEqual([['a', 'b', 'c', 'd']]);
    expect(q.size).toBe(0);
  });

  it('seals a partial batch after the timeout, not before', async () => {
    const sink = new RecordingSink();
    const q = new BatchQueue(sink, OPTIONS, new CollectorMetrics(), silent);
    await q.consume(spans('a'));
    await vi.advanceTimersByTimeAsync(999);
    expect(sink.batches).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(sink.batches).toEqual([['a']]);
  });

  it('refuses beyond its capacity until spans are delivered', async () => {
    const sink = new RecordingSink(1);
    const q = new BatchQueue(sink, { ...OPTIONS, maxBatchSpans: 100 }, new CollectorMetrics(), silent);
    await q.consume(spans('a', 'b', 'c', 'd'));
    const refused = await q.consume(spans('e', 'f')).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(QueueFullError);
    expect((refused as QueueFullError).retryAfterSeconds).toBe(9);
    await q.consume(spans('e'));
    // The batch fails once, is retried after the backoff, and frees the queue when delivered.
    await vi.advanceTimersByTimeAsync(1000);
    expect(sink.attempts).toBe(1);
    expect(q.size).toBe(5);
    await vi.advanceTimersByTimeAsync(300);
    expect(sink.batches).toEqual([['a', 'b', 'c', 'd', 'e']]);
    expect(q.size).toBe(0);
    await expect(q.consume(spans('f', 'g'))).resolves.toBeUndefined();
  });

  it('keeps arrival order across retries', async () => {
    const sink = new RecordingSink(3);
    const q = new BatchQueue(sink, { ...OPTIONS, maxQueuedSpans: 100 }, new CollectorMetrics(), silent);
    await q.consume(spans('a', 'b', 'c'));
    await q.consume(spans('d', 'e', 'f'));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sink.batches).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e', 'f'],
    ]);
  });

  it('delivers everything held on shutdown, retrying without waiting out the backoff', async () => {
    const sink = new RecordingSink(2);
    const q = new BatchQueue(sink, { ...OPTIONS, maxQueuedSpans: 100 }, new CollectorMetrics(), silent);
    await q.consume(spans('a', 'b', 'c'));
    await q.consume(spans('d'));
    const done = q.shutdown();
    await vi.advanceTimersByTimeAsync(2_000);
    await done;
    expect(sink.batches.flat()).toEqual(['a', 'b', 'c', 'd']);
    expect(sink.shutdowns).toBe(1);
  });

  it('gives up on shutdown after its timeout when the backend never recovers', async () => {
    const sink = new RecordingSink(Infinity);
    const logged: unknown[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => logged.push(JSON.parse(line)) });
    const q = new BatchQueue(sink, OPTIONS, new CollectorMetrics(), logger);
    await q.consume(spans('a'));
    const done = q.shutdown(5_000);
    await vi.advanceTimersByTimeAsync(5_000);
    await done;
    expect(logged).toEqual([expect.objectContaining({ msg: 'shutdown timed out: spans not delivered', spans: 1 })]);
  });
});
