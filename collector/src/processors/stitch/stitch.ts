import type { Span } from '../../model/span.js';
import { QueueFullError, type Consumer } from '../../pipeline/stage.js';
import { HandOff } from '../hand-off.js';
import { startTicker } from '../ticker.js';
import type { Processor, ProcessorContext } from '../processor.js';
import { TraceBuffer, type BufferedTrace, type ReleaseReason } from '../trace-buffer.js';
import type { StitchConfig } from './config.js';
import { StitchMetrics } from './metrics.js';
import { clockSkewRow, CorrelationAggregator, ServiceGraphAggregator, type ClockSkewRow } from './side-rows.js';
import { clickHouseSink, SideTableWriter, type SideTableSink } from './side-writer.js';
import { Stitcher, type ReleasedPiece, type StitchOutcome } from './stitcher.js';
import { migrateStitchTables, STITCH_TABLES } from './tables.js';
import type { SideRows, SideRowsTicket } from '../../pipeline/journal/stage-journal.js';

/** The hint given with a refusal, as the filter processor gives it. */
const RETRY_AFTER_SECONDS = 5;
/** With the journal, released traces are written in records of about this many spans. */
const SPANS_PER_OUTPUT = 20_000;
/** With the journal, evicted traces are stitched in groups of this many (or at the next tick). */
const EVICTED_PER_OUTPUT = 1_000;
/** Keeps one INSERT moderate when rows piled up during an outage. */
const MAX_ROWS_PER_INSERT = 50_000;
/** Side-table retries: 1 s, doubling, at most a minute apart. */
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 60_000;

/** Seams for tests: time, the side-table sink, how long shutdown may take. */
export interface StitchOptions {
  clock?: () => number;
  sink?: SideTableSink;
  shutdownTimeoutMs?: number;
}

/**
 * The `stitch` processor: holds each trace until no span of it arrived for `decision_wait_ms`,
 * stitches it (stitcher.ts) and hands it on. Released spans the next stage refuses wait here
 * and are offered again on the next tick; while too many wait, new spans are refused with
 * backpressure. What stitching finds goes to the side tables in batches (side-writer.ts).
 */
export class StitchProcessor implements Processor {
  private readonly buffer: TraceBuffer;
  private readonly stitcher: Stitcher;
  private readonly metrics: StitchMetrics;
  private readonly writer: SideTableWriter;
  private readonly graph = new ServiceGraphAggregator();
  private readonly correlationRows = new CorrelationAggregator();
  private skewRows: ClockSkewRow[] = [];
  private released: ReleasedPiece[] = [];
  private readonly handOff: HandOff;
  private timer: NodeJS.Timeout | undefined;
  private lastFlushMs: number;
  private readonly clock: () => number;
  private readonly shutdownTimeoutMs: number;
  /** Outputs being written to the journal; their spans are handed on once they are on disk. */
  private readonly journaling = new Set<Promise<void>>();

  constructor(
    private readonly config: StitchConfig,
    private readonly next: Consumer,
    private readonly context: ProcessorContext,
    options: StitchOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? 30_000;
    this.lastFlushMs = this.clock();
    this.metrics = new StitchMetrics(context.registry);
    this.handOff = new HandOff(next, context.logger);
    this.buffer = new TraceBuffer(
      { decisionWaitMs: config.decision_wait_ms, maxTraces: config.max_traces, maxSpans: config.max_spans },
      (trace, reason) => this.onRelease(trace, reason),
    );
    this.stitcher = new Stitcher({
      flagOrphans: config.orphans.flag,
      serviceGraph: config.service_graph.enabled,
      clockSkew: config.clock_skew.enabled,
      correlation: config.correlation.enabled,
      linkTraces: config.correlation.link_traces,
      maxLinks: config.correlation.max_links,
      memoryWindowMs: config.memory.window_ms,
      memoryMaxSpans: config.memory.max_spans,
      memoryMaxCorrelationIds: config.memory.max_correlation_ids,
    });
    const logger = context.logger;
    this.writer = new SideTableWriter(
      options.sink ?? clickHouseSink(context.storage.sideRows ?? context.storage.writer, context.storage.database),
      { maxPendingRows: config.flush.max_pending_rows, maxRowsPerInsert: MAX_ROWS_PER_INSERT, retryBaseMs: RETRY_BASE_MS, retryMaxMs: RETRY_MAX_MS },
      {
        written: (table, rows) => {
          this.metrics.rowsWritten.inc({ table }, rows);
          if (table === STITCH_TABLES.serviceGraph) this.metrics.edgesWritten.inc(rows);
        },
        failed: (table, rows, err) => {
          this.metrics.writeFailures.inc({ table });
          logger.warn({ table, rows, err: String(err) }, 'side-table write failed; will retry');
        },
        dropped: (table, rows) => {
          this.metrics.rowsDropped.inc({ table }, rows);
          logger.error({ table, rows }, 'side-table rows dropped: too many waiting for ClickHouse');
        },
      },
    );
  }

  async start(): Promise<void> {
    if (!this.config.enabled) return;
    await migrateStitchTables(this.context.storage.writer, this.context.storage.database, {
      serviceGraphDays: this.config.service_graph.retention_days,
      correlationsDays: this.config.correlation.retention_days,
      clockSkewDays: this.config.clock_skew.retention_days,
    });
    this.lastFlushMs = this.clock();
    // Side rows of outputs a crash left unwritten: again, under the same tokens (no-ops if they were in).
    for (const { ticket, side } of this.context.journal?.recoveredSideRows ?? []) this.enqueueSide(side, ticket);
    this.timer = startTicker(this.config.decision_wait_ms, () => this.tick(this.clock()), this.context.logger, 'stitch');
  }

  consume(spans: Span[]): Promise<void> {
    if (!this.config.enabled) return this.next.consume(spans);
    if (this.handOff.size > this.config.max_spans) {
      return Promise.reject(new QueueFullError(`stitch: ${this.handOff.size} spans wait for the next stage; retry later`, RETRY_AFTER_SECONDS));
    }
    const nowMs = this.clock();
    this.buffer.add(spans, nowMs);
    // Traces evicted by the bounds are stitched and offered now (with the journal, once enough
    // gathered: each output is a journal record and an INSERT per side table); the rest at the tick.
    if (this.released.length >= (this.context.journal ? EVICTED_PER_OUTPUT : 1) && this.stitchReleased(nowMs) > 0) void this.handOff.offer();
    this.updateGauges();
    return Promise.resolve();
  }

  /** Stitches the traces complete at `nowMs`, offers what waits to the next stage, flushes side tables when due. */
  async tick(nowMs: number): Promise<void> {
    if (!this.config.enabled) return;
    this.buffer.release(nowMs);
    this.stitchReleased(nowMs);
    this.stitcher.expire(nowMs);
    const flushed = this.flushIfDue(nowMs);
    await Promise.all([this.handOff.offer(), flushed, ...this.journaling]);
    this.updateGauges();
  }

  async shutdown(): Promise<void> {
    clearInterval(this.timer);
    if (!this.config.enabled) return;
    this.buffer.releaseAll();
    this.stitchReleased(this.clock());
    const deadline = Date.now() + this.shutdownTimeoutMs;
    await Promise.all(this.journaling);
    await this.handOff.drain(this.shutdownTimeoutMs);
    this.drainAggregates();
    while (this.writer.pendingRows > 0 && Date.now() < deadline) {
      await this.writer.flush(Number.POSITIVE_INFINITY);
      if (this.writer.pendingRows > 0) await sleep(500);
    }
    if (this.writer.pendingRows > 0) this.context.logger.error({ rows: this.writer.pendingRows }, 'shutdown timed out: side-table rows not written');
    this.updateGauges();
  }

  private onRelease(trace: BufferedTrace, reason: ReleaseReason): void {
    this.metrics.tracesStitched.inc({ reason });
    this.released.push({ traceId: trace.traceId, spans: trace.spans });
  }

  /** Stitches what the buffer released; the spans wait for the next stage whatever happens. */
  private stitchReleased(nowMs: number): number {
    if (this.released.length === 0) return 0;
    const released = this.released;
    this.released = [];
    // With the journal, in groups of whole traces: each group is one journal record holding its
    // spans and the rows they made, and moderate records keep the encoder's buffers small.
    for (const group of this.context.journal ? groupsOf(released, SPANS_PER_OUTPUT) : [released]) {
      try {
        this.record(this.stitcher.stitch(group, nowMs));
      } catch (err) {
        // A bug here must cost the stitching, never the spans.
        this.context.logger.error({ err, traces: group.length }, 'stitching failed; spans handed on unstitched');
      }
      const spans = group.length === 1 ? group[0].spans : group.flatMap((piece) => piece.spans);
      if (this.context.journal) this.journalOutput(spans);
      else this.handOff.push(spans);
    }
    return released.length;
  }

  /**
   * With the journal, what stitching made of the released traces (spans with their orphan flags
   * and links, and the side-table rows) is written as one record before anything of it goes on:
   * after a crash it is replayed from there, never stitched (and counted) twice.
   */
  private journalOutput(spans: Span[]): void {
    const side = this.drainSideRows();
    const written = this.context.journal!.output(spans, side).then(
      (ticket) => {
        this.handOff.push(spans);
        this.enqueueSide(side, ticket);
        void this.handOff.offer();
      },
      (err: unknown) => {
        // The spans still go on (a crash now could lose or repeat them); the journal refuses new data.
        this.context.logger.error({ err: String(err), spans: spans.length }, 'stitch: could not journal released traces');
        this.handOff.push(spans);
        this.enqueueSide(side, undefined);
      },
    );
    const tracked = written.finally(() => this.journaling.delete(tracked));
    this.journaling.add(tracked);
  }

  /** Everything aggregated since the last output, by table. */
  private drainSideRows(): SideRows {
    const side: Record<string, readonly object[]> = {
      [STITCH_TABLES.serviceGraph]: this.graph.drain(),
      [STITCH_TABLES.correlations]: this.correlationRows.drain(),
      [STITCH_TABLES.clockSkew]: this.skewRows,
    };
    this.skewRows = [];
    return side;
  }

  /** Queues a journal record's side rows; the journal hears once every table's rows are in. */
  private enqueueSide(side: SideRows, ticket: SideRowsTicket | undefined): void {
    const tables = Object.values(STITCH_TABLES).filter((t) => (side[t]?.length ?? 0) > 0);
    if (ticket === undefined) {
      for (const t of tables) this.writer.enqueue(t, side[t]);
      return;
    }
    let left = tables.length;
    const settled = (): void => {
      if (--left === 0) this.context.journal!.sideRowsWritten(ticket);
    };
    if (left === 0) this.context.journal!.sideRowsWritten(ticket);
    for (const t of tables) this.writer.enqueue(t, side[t], { token: ticket.token, settled });
  }

  private record(outcome: StitchOutcome): void {
    const m = this.metrics;
    if (outcome.orphans > 0) m.orphans.inc(outcome.orphans);
    if (outcome.pairs.length > 0) m.callsPaired.inc(outcome.pairs.length);
    if (outcome.skew.length > 0) m.clockSkewAdjustments.inc(outcome.skew.length);
    if (outcome.joinsLinked > 0) m.correlationJoins.inc({ recorded: 'link' }, outcome.joinsLinked);
    if (outcome.joinsTableOnly > 0) m.correlationJoins.inc({ recorded: 'table' }, outcome.joinsTableOnly);
    for (const pair of outcome.pairs) this.graph.add(pair);
    for (const { traceId, adjustment } of outcome.skew) this.skewRows.push(clockSkewRow(traceId, adjustment));
    for (const sighting of outcome.sightings) this.correlationRows.add(sighting);
  }

  private flushIfDue(nowMs: number): Promise<void> {
    const waiting = this.graph.size + this.correlationRows.size + this.skewRows.length;
    if (nowMs - this.lastFlushMs < this.config.flush.interval_ms && waiting < this.config.flush.max_rows) return Promise.resolve();
    this.lastFlushMs = nowMs;
    this.drainAggregates();
    return this.writer.flush(nowMs);
  }

  private drainAggregates(): void {
    this.writer.enqueue(STITCH_TABLES.serviceGraph, this.graph.drain());
    this.writer.enqueue(STITCH_TABLES.correlations, this.correlationRows.drain());
    this.writer.enqueue(STITCH_TABLES.clockSkew, this.skewRows);
    this.skewRows = [];
  }

  private updateGauges(): void {
    const held = this.metrics.held;
    held.set({ what: 'traces' }, this.buffer.traceCount);
    held.set({ what: 'spans' }, this.buffer.heldSpans);
    held.set({ what: 'pending_spans' }, this.handOff.size);
    held.set({ what: 'remembered_spans' }, this.stitcher.rememberedSpans);
    held.set({ what: 'pending_rows' }, this.writer.pendingRows + this.graph.size + this.correlationRows.size + this.skewRows.length);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Consecutive pieces in groups of at least one piece and, past the first, at most `maxSpans` spans. */
function groupsOf(pieces: ReleasedPiece[], maxSpans: number): ReleasedPiece[][] {
  const groups: ReleasedPiece[][] = [];
  let current: ReleasedPiece[] = [];
  let spans = 0;
  for (const piece of pieces) {
    if (current.length > 0 && spans + piece.spans.length > maxSpans) {
      groups.push(current);
      current = [];
      spans = 0;
    }
    current.push(piece);
    spans += piece.spans.length;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}
