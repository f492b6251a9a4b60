import type { Span } from '../model/span.js';
import type { PersistentQueue } from './persistent-queue/index.js';
import type { Stage } from './stage.js';

/**
 * The end of the processor chain: writes every request to each exporter's durable queue, and
 * resolves once it is on disk in all of them — what makes an acknowledgement mean "kept".
 * Each encoding is made once per request and shared by the exporters using it. All or
 * nothing: the request is taken only if every queue has room, so a refused client can retry
 * without creating duplicates in the queues that had room.
 */
export class ExportFanout implements Stage {
  constructor(private readonly queues: readonly PersistentQueue[]) {}

  async start(): Promise<void> {
    for (const q of this.queues) await q.start();
  }

  async consume(spans: Span[]): Promise<void> {
    if (spans.length === 0) return;
    const records = new Map<string, Uint8Array>();
    for (const q of this.queues) if (!records.has(q.encoding)) records.set(q.encoding, q.exporter.encode(spans));
    const full = this.queues.find((q) => !q.hasRoomFor(records.get(q.encoding)!.length));
    if (full) throw full.fullError();
    await Promise.all(this.queues.map((q) => q.append(records.get(q.encoding)!, spans.length)));
  }

  /** Each queue sends what it can within the time; what is left stays on disk for the next start. */
  async shutdown(timeoutMs = 30_000): Promise<void> {
    await Promise.all(this.queues.map((q) => q.shutdown(timeoutMs)));
  }
}
