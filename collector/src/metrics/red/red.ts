import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Span } from '../../model/span.js';
import type { Consumer, Stage } from '../../pipeline/stage.js';
import type { ChainTap } from '../../query/tail/tail-tap.js';
import { CardinalityCap, RedAggregator, forEachRowSample, sampleOf, type RedRow, type RedSample } from './aggregator.js';
import type { SpanSummaries } from '../../model/span-summaries.js';
import { takesRows, type RowBatch, type RowConsumer } from '../../pipeline/row-batch.js';
import type { RedConfig } from './config.js';
import { RedTotals } from './prometheus.js';
import { migrateRedTable, redTable } from './table.js';

/** Where flushed rows go: `flowtrace_red` in production, an array in unit tests. */
export interface RedSink {
  migrate(): Promise<boolean>;
  insert(rows: readonly RedRow[]): Promise<void>;
}

export function clickHouseRedSink(client: ClickHouseClient, database: string, retentionDays: number): RedSink {
  return {
    migrate: () => migrateRedTable(client, database, retentionDays),
    async insert(rows) {
      await client.insert({ table: redTable(database), values: rows as RedRow[], format: 'JSONEachRow' });
    },
  };
}

const ROWS_PER_INSERT = 10_000;

/**
 * RED metrics, true under sampling: every span is counted as it passes the tap right after
 * redaction (where the live tail also looks), before stitch and sample decide anything, so
 * the counts are the traffic's, whatever share of it is kept. Counted once the next stage
 * accepted the batch, so a batch refused with backpressure (which the sender retries) does not
 * count twice; a journal replay after a crash enters behind the tap, so it does not either.
 * What a crash (not a shutdown) interrupts loses at most one flush interval of counts.
 *
 * Minutes go to `flowtrace_red` every `flush_interval_ms` (table.ts); the cumulative counters
 * for Prometheus are kept in memory (prometheus.ts).
 */
export class RedMetrics {
  readonly totals = new RedTotals();
  private readonly cap: CardinalityCap;
  private readonly minutes = new RedAggregator();
  private pending: RedRow[] = [];
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly rowsWritten: Counter;
  private readonly rowsDropped: Counter;
  private readonly writeFailures: Counter;

  constructor(
    private readonly config: RedConfig,
    private readonly sink: RedSink,
    private readonly logger: Logger,
    registry: Registry,
  ) {
    this.cap = new CardinalityCap({ maxServices: config.max_services, maxOperationsPerService: config.max_operations_per_service });
    const registers = [registry];
    this.rowsWritten = new Counter({ name: 'flowtrace_red_rows_written_total', help: 'Minute rows written to flowtrace_red.', registers });
    this.rowsDropped = new Counter({ name: 'flowtrace_red_rows_dropped_total', help: 'Minute rows of flowtrace_red dropped unwritten (storage away longer than red.max_pending_rows allows).', registers });
    this.writeFailures = new Counter({ name: 'flowtrace_red_write_failures_total', help: 'Failed inserts into flowtrace_red (retried at the next flush).', registers });
  }

  /** Counts spans accepted by the pipeline. */
  record(spans: readonly Span[]): void {
    for (const span of spans) {
      const sample = sampleOf(span, this.cap);
      this.minutes.add(sample);
      this.totals.add(sample);
    }
  }

  /** Counts rows accepted by the pipeline (spans that travel as rows: pipeline/row-batch.ts). */
  recordRows(summary: SpanSummaries): void {
    forEachRowSample(summary, this.cap, this.addSample);
  }

  private readonly addSample = (sample: RedSample): void => {
    this.minutes.add(sample);
    this.totals.add(sample);
  };

  async start(): Promise<void> {
    if (await this.sink.migrate()) {
      this.logger.info('flowtrace_red created: RED metrics are counted from now on; spans stored before are not backfilled');
    }
    this.timer = setInterval(() => void this.flush(), this.config.flush_interval_ms);
    this.timer.unref();
  }

  /** Writes every minute counted so far; one round at a time, never throws. */
  flush(): Promise<void> {
    this.writing ??= this.write().finally(() => {
      this.writing = undefined;
    });
    return this.writing;
  }

  async shutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.writing;
    await this.flush();
    if (this.pending.length > 0) this.logger.warn({ rows: this.pending.length }, 'red: rows not written at shutdown (storage failing)');
  }

  private async write(): Promise<void> {
    this.pending.push(...this.minutes.drain());
    const over = this.pending.length - this.config.max_pending_rows;
    if (over > 0) {
      // The oldest go first: they are the least likely to be looked at.
      this.pending.splice(0, over);
      this.rowsDropped.inc(over);
      this.logger.warn({ rows: over }, 'red: storage is not taking rows; the oldest minutes were dropped');
    }
    while (this.pending.length > 0) {
      const chunk = this.pending.slice(0, ROWS_PER_INSERT);
      try {
        await this.sink.insert(chunk);
      } catch (err) {
        this.writeFailures.inc();
        this.logger.warn({ err: String(err), rows: this.pending.length }, 'red: writing flowtrace_red failed; retrying at the next flush');
        return;
      }
      this.pending.splice(0, chunk.length);
      this.rowsWritten.inc(chunk.length);
    }
  }
}

/** Counts what the next stage accepts (see {@link RedMetrics}). */
export class RedTap implements Stage, RowConsumer {
  constructor(
    private readonly red: RedMetrics,
    private readonly next: Consumer,
  ) {}

  consume(spans: Span[]): Promise<void> {
    return this.next.consume(spans).then(() => this.red.record(spans));
  }

  get takesRows(): boolean {
    return takesRows(this.next);
  }

  async consumeRows(batch: RowBatch): Promise<void> {
    if (!takesRows(this.next)) return this.consume(await batch.decodeSpans());
    await this.next.consumeRows(batch);
    this.red.recordRows(batch.summary);
  }

  async start(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

/** The live tail's tap with RED counting at the same place (right after redaction); the tap itself without RED. */
export function withRedTap(tap: ChainTap, red: RedMetrics | undefined): ChainTap {
  if (red === undefined) return tap;
  return { at: tap.at, wrap: (next) => tap.wrap(new RedTap(red, next)) };
}
