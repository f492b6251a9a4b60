import type { Logger } from 'pino';
import type { DropLedger } from './ledger.js';
import type { DropRowSink } from './table.js';

export interface DropTableWriterOptions {
  /** How often the pending rows are written. */
  intervalMs: number;
  logger: Logger;
}

/** The default flush interval: counts reach `/api/drops` within about this long. */
export const DROPS_FLUSH_INTERVAL_MS = 5_000;
/** Rows per INSERT. */
const MAX_ROWS_PER_INSERT = 5_000;
/** Attempts of the last flush at shutdown before giving up (the counts stay in the metrics). */
const SHUTDOWN_ATTEMPTS = 3;

/**
 * Writes the ledger's pending rows to `flowtrace_drops` in the background: on a timer that never
 * keeps the process alive, one flush at a time, never on the path of a request. A failed write
 * puts its rows back into the (bounded) tally for the next round; nothing here throws.
 */
export class DropTableWriter {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<boolean> | undefined;
  private failing = false;

  constructor(
    private readonly ledger: DropLedger,
    private readonly sink: DropRowSink,
    private readonly options: DropTableWriterOptions,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Writes what is pending; resolves to false when a write failed (its rows are kept). */
  flush(): Promise<boolean> {
    this.writing ??= this.write().finally(() => (this.writing = undefined));
    return this.writing;
  }

  /** Stops the timer and writes what is left, a few attempts at most. */
  async shutdown(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.writing;
    for (let attempt = 0; attempt < SHUTDOWN_ATTEMPTS && this.ledger.pending.size > 0; attempt++) {
      if (await this.flush()) return;
    }
    if (this.ledger.pending.size > 0) {
      this.options.logger.warn({ rows: this.ledger.pending.size }, 'drop ledger: could not write the last counts to flowtrace_drops (they are in /metrics)');
    }
  }

  private async write(): Promise<boolean> {
    const rows = this.ledger.pending.take();
    for (let at = 0; at < rows.length; at += MAX_ROWS_PER_INSERT) {
      try {
        await this.sink.insert(rows.slice(at, at + MAX_ROWS_PER_INSERT));
      } catch (err) {
        this.ledger.pending.putBack(rows.slice(at));
        // Once per outage, not once per tick.
        if (!this.failing) this.options.logger.warn({ err: err instanceof Error ? err.message : String(err), rows: rows.length - at }, 'drop ledger: writing to flowtrace_drops failed; will retry');
        this.failing = true;
        return false;
      }
    }
    if (this.failing) this.options.logger.info('drop ledger: writing to flowtrace_drops works again');
    this.failing = false;
    return true;
  }
}
