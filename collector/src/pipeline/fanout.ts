import type { Logger } from 'pino';
import type { Span } from '../model/span.js';
import type { DropRecorder } from './drops.js';
import { Journal } from './journal/journal.js';
import type { PersistentQueue } from './persistent-queue/index.js';
import { ROW_BATCH_ENCODING, type RowBatch, type RowConsumer } from './row-batch.js';
import type { Stage } from './stage.js';

export interface FanoutOptions {
  /** Where spans no exporter can encode are reported. */
  drops: DropRecorder;
  logger: Logger;
}

/**
 * The end of the processor chain: writes every request to each exporter's durable queue, and
 * resolves once it is on disk in all of them — what makes an acknowledgement mean "kept".
 * Each encoding is made once per request and shared by the exporters using it. All or
 * nothing: the request is taken only if every queue has room, so a refused client can retry
 * without creating duplicates in the queues that had room.
 *
 * With the journal, spans carry positions: the fan-out writes which positions it is about to
 * append under a new tag, appends with that tag (the storage queue last, so that a tag in
 * storage's queue means every queue has it), then marks the positions done. After a crash the
 * journal compares the tags on disk and replays only what storage's queue does not hold.
 */
export class ExportFanout implements Stage, RowConsumer {
  private journal: Journal | undefined;
  /** Settles once the previous emission's append to storage's queue was issued: tags reach it in order. */
  private storageTurn: Promise<void> = Promise.resolve();

  constructor(
    /** The first is storage's queue. */
    private readonly queues: readonly PersistentQueue[],
    private readonly options: FanoutOptions,
  ) {}

  /** Turns on the journal's bookkeeping (set before any spans arrive). */
  useJournal(journal: Journal): void {
    this.journal = journal;
  }

  /** Storage's queue: the one whose tags decide, after a crash, what was emitted. */
  get storageQueue(): PersistentQueue {
    return this.queues[0];
  }

  async start(): Promise<void> {
    for (const q of this.queues) await q.start();
  }

  /**
   * Rows transcoded by the receivers can go to the queues as they are when storage is the only
   * encoding and there is no journal (which tracks spans by position as objects).
   */
  get takesRows(): boolean {
    return this.journal === undefined && this.queues.every((q) => q.encoding === ROW_BATCH_ENCODING);
  }

  async consumeRows(batch: RowBatch): Promise<void> {
    if (!this.takesRows) return this.consume(await batch.decodeSpans());
    if (batch.summary.count === 0) return;
    const full = this.queues.find((q) => !q.hasRoomFor(batch.rows.length));
    if (full) throw full.fullError();
    await Promise.all(this.queues.map((q) => q.append(batch.rows, batch.summary.count, 0)));
  }

  async consume(spans: Span[]): Promise<void> {
    const records = this.encode(spans);
    if (records === undefined) return;
    if ('split' in records) {
      // Every span encodes alone but not all together (a record past what one buffer holds):
      // stored in halves, each an emission of its own.
      const half = Math.ceil(records.split.length / 2);
      await this.consume(records.split.slice(0, half));
      await this.consume(records.split.slice(half));
      return;
    }
    const { encoded, kept } = records;
    const full = this.queues.find((q) => !q.hasRoomFor(encoded.get(q.encoding)!.length));
    if (full) throw full.fullError();
    const append = (q: PersistentQueue, tag: number) => q.append(encoded.get(q.encoding)!, kept.length, tag);
    const positions = this.journal ? Journal.positionsOf(kept) : [];
    if (!this.journal || positions.length === 0) {
      await Promise.all(this.queues.map((q) => append(q, 0)));
      return;
    }
    const journal = this.journal;
    const tag = journal.nextTag();
    // Storage's queue must get tags in increasing order (after a crash, its highest tag stands
    // for all below it): each emission issues its append only after the previous one did.
    const previous = this.storageTurn;
    let turnDone!: () => void;
    this.storageTurn = new Promise((resolve) => (turnDone = resolve));
    try {
      const [storage, ...others] = this.queues;
      let stored: Promise<void>;
      try {
        await journal.emitted(tag, positions);
        await Promise.all(others.map((q) => append(q, tag)));
        await previous;
        stored = append(storage, tag); // issued: the queue writes in call order
      } finally {
        // The next emission goes once this one issued (or failed) and the one before it did.
        void previous.then(turnDone);
      }
      await stored;
    } catch (err) {
      // Not all queues took it: it is offered again under a new tag (other queues may get it twice).
      await journal.cancel(tag);
      throw err;
    }
    journal.resolve(positions);
  }

  /** Each queue sends what it can within the time; what is left stays on disk for the next start. */
  async shutdown(timeoutMs = 30_000): Promise<void> {
    await Promise.all(this.queues.map((q) => q.shutdown(timeoutMs)));
  }

  /**
   * One record per encoding. A span an encoder cannot take (a value the decoders let through)
   * is found by encoding span by span, reported as dropped and left out: a batch that cannot be
   * encoded must never come back forever, holding everyone's spans behind it. When every span
   * encodes alone and the batch still does not, it is too large for one record: `split`.
   */
  private encode(spans: Span[]): { encoded: Map<string, Uint8Array>; kept: Span[] } | { split: Span[] } | undefined {
    let kept = spans;
    for (let attempt = 0; attempt < 2; attempt++) {
      if (kept.length === 0) return undefined;
      const encoded = new Map<string, Uint8Array>();
      try {
        for (const q of this.queues) if (!encoded.has(q.encoding)) encoded.set(q.encoding, q.exporter.encode(kept));
        return { encoded, kept };
      } catch (err) {
        if (attempt === 1) {
          if (kept.length > 1) return { split: kept };
          this.options.drops.spans('pipeline', 'unencodable', kept); // encoded alone a moment ago: never silently
          return undefined;
        }
        kept = this.withoutUnencodable(kept, err);
      }
    }
    return undefined;
  }

  private withoutUnencodable(spans: Span[], cause: unknown): Span[] {
    const good: Span[] = [];
    const bad: Span[] = [];
    for (const span of spans) {
      try {
        for (const q of this.queues) q.exporter.encode([span]);
        good.push(span);
      } catch {
        bad.push(span);
      }
    }
    if (bad.length === 0) return good;
    this.options.logger.error(
      { spans: bad.length, traceIds: bad.slice(0, 5).map((s) => s.traceId), err: cause instanceof Error ? cause.message : String(cause) },
      'spans that no exporter can encode were dropped (see the drop ledger: pipeline/unencodable)',
    );
    this.options.drops.spans('pipeline', 'unencodable', bad);
    return good;
  }
}
