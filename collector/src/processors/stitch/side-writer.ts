import { stitchTable, type StitchTable } from './tables.js';
import type { RowInserter } from '../../roles/owner-rows.js';

/** Where side-table rows go; ClickHouse in production, a fake in unit tests. */
export interface SideTableSink {
  /** With a token, inserting the same rows under it again is a no-op (insert deduplication). */
  insert(table: StitchTable, rows: readonly object[], dedupToken?: string): Promise<void>;
}

export function clickHouseSink(client: RowInserter, database: string): SideTableSink {
  return {
    async insert(table, rows, dedupToken) {
      await client.insert({
        table: stitchTable(database, table),
        values: rows as object[],
        format: 'JSONEachRow',
        clickhouse_settings: dedupToken === undefined ? undefined : { insert_deduplicate: 1, insert_deduplication_token: dedupToken },
      });
    },
  };
}

/** Rows of one journal record: inserted alone under its token, and reported once all are in (or dropped). */
export interface SideRowsTicketed {
  token: string;
  /** Called once per table batch of the record when it is written or dropped. */
  settled(): void;
}

export interface SideWriterOptions {
  /** Rows kept at most (waiting, retrying, in flight); beyond, the oldest waiting ones are dropped. */
  maxPendingRows: number;
  /** One INSERT carries at most this many rows. */
  maxRowsPerInsert: number;
  /** First retry delay; doubled per failed attempt up to `retryMaxMs`. */
  retryBaseMs: number;
  retryMaxMs: number;
}

export interface SideWriterEvents {
  written(table: StitchTable, rows: number): void;
  failed(table: StitchTable, rows: number, err: unknown): void;
  dropped(table: StitchTable, rows: number): void;
}

interface Batch {
  table: StitchTable;
  rows: readonly object[];
  attempts: number;
  notBeforeMs: number;
  ticket?: SideRowsTicketed;
}

/**
 * Batched side-table writes: rows queue up between flushes and each flush writes every table's
 * waiting rows in as few INSERTs as it can. A failed INSERT keeps its rows for a later flush,
 * with exponential backoff; the queue is bounded, dropping the oldest rows (reported) rather
 * than growing while ClickHouse is away. Never throws.
 */
export class SideTableWriter {
  private queue: Batch[] = [];
  private pending = 0;
  private writing: Promise<void> | undefined;

  constructor(
    private readonly sink: SideTableSink,
    private readonly options: SideWriterOptions,
    private readonly events: SideWriterEvents,
  ) {}

  get pendingRows(): number {
    return this.pending;
  }

  /** With a ticket the rows are inserted on their own, under the ticket's token (see {@link SideRowsTicketed}). */
  enqueue(table: StitchTable, rows: readonly object[], ticket?: SideRowsTicketed): void {
    if (rows.length === 0) {
      ticket?.settled();
      return;
    }
    this.queue.push({ table, rows, attempts: 0, notBeforeMs: 0, ticket });
    this.pending += rows.length;
    while (this.pending > this.options.maxPendingRows && this.queue.length > 0) {
      const oldest = this.queue.shift()!;
      this.pending -= oldest.rows.length;
      this.events.dropped(oldest.table, oldest.rows.length);
      oldest.ticket?.settled();
    }
  }

  /** Writes what is due at `nowMs` (`Infinity`: everything, backoff or not); one round at a time. */
  flush(nowMs: number): Promise<void> {
    this.writing ??= this.writeDue(nowMs).finally(() => {
      this.writing = undefined;
    });
    return this.writing;
  }

  private async writeDue(nowMs: number): Promise<void> {
    const due = this.queue.filter((b) => b.notBeforeMs <= nowMs);
    if (due.length === 0) return;
    this.queue = this.queue.filter((b) => b.notBeforeMs > nowMs);
    for (const b of due) if (b.ticket) await this.writeTicketed(b, nowMs);
    const byTable = new Map<StitchTable, Batch[]>();
    for (const b of due) if (!b.ticket) byTable.set(b.table, [...(byTable.get(b.table) ?? []), b]);
    for (const [table, batches] of byTable) {
      const rows = batches.flatMap((b) => b.rows);
      const attempts = Math.max(...batches.map((b) => b.attempts));
      for (let at = 0; at < rows.length; at += this.options.maxRowsPerInsert) {
        const chunk = rows.slice(at, at + this.options.maxRowsPerInsert);
        try {
          await this.sink.insert(table, chunk);
          this.pending -= chunk.length;
          this.events.written(table, chunk.length);
        } catch (err) {
          const rest = rows.slice(at);
          const delay = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** attempts);
          // Back to the front: these are the oldest rows, the first to go if the bound is hit.
          this.queue.unshift({ table, rows: rest, attempts: attempts + 1, notBeforeMs: Number.isFinite(nowMs) ? nowMs + delay : 0 });
          this.events.failed(table, rest.length, err);
          break;
        }
      }
    }
  }

  /** A journal record's rows: alone, in chunks whose tokens are the same every time they are written. */
  private async writeTicketed(batch: Batch, nowMs: number): Promise<void> {
    const { table, rows, ticket } = batch;
    const size = this.options.maxRowsPerInsert;
    try {
      for (let at = 0; at < rows.length; at += size) {
        await this.sink.insert(table, rows.slice(at, at + size), `${ticket!.token}-${table}-${at / size}`);
      }
    } catch (err) {
      const delay = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** batch.attempts);
      // Whole again: the chunks already in are no-ops the next time, by their tokens.
      this.queue.unshift({ ...batch, attempts: batch.attempts + 1, notBeforeMs: Number.isFinite(nowMs) ? nowMs + delay : 0 });
      this.events.failed(table, rows.length, err);
      return;
    }
    this.pending -= rows.length;
    this.events.written(table, rows.length);
    ticket!.settled();
  }
}
