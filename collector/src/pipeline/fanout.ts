import type { Span } from '../model/span.js';
import type { BatchQueue } from './batch-queue.js';
import type { Stage } from './stage.js';

/**
 * The end of the processor chain: hands every batch to each exporter's queue.
 * All-or-nothing: the spans are taken only if every queue has room, so a refused
 * client can retry without creating duplicates in the exporters that had room.
 */
export class ExportFanout implements Stage {
  constructor(private readonly queues: readonly BatchQueue[]) {}

  async start(): Promise<void> {
    for (const q of this.queues) await q.start();
  }

  consume(spans: Span[]): Promise<void> {
    const full = this.queues.find((q) => !q.hasRoomFor(spans.length));
    if (full) return Promise.reject(full.fullError());
    for (const q of this.queues) q.take(spans);
    return Promise.resolve();
  }

  async shutdown(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.shutdown()));
  }
}
