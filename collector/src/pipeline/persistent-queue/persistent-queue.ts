import { mkdir } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Logger } from 'pino';
import type { Exporter, RecordFormat } from '../../../../exporters/exporter.js';
import type { CollectorMetrics } from '../../telemetry.js';
import type { DropRecorder } from '../drops.js';
import type { Keyring } from '../../storage/encryption/keyring.js';
import { QueueFullError } from '../stage.js';
import { BatchLedger, type LedgerBatch } from './batch-ledger.js';
import { systemClock, type Clock } from './clock.js';
import type { QueueConfig } from './config.js';
import { DeadLetterBox } from './dead-letter.js';
import { classify, RetryPolicy } from './retry-policy.js';
import { addTally, emptyTally, SegmentLog, type Tally } from './segment-log.js';

export interface PersistentQueueOptions {
  /** The queue's own directory: {@link queueDirectory}(dataDir, exporter.name). */
  dir: string;
  config: QueueConfig;
  metrics: CollectorMetrics;
  logger: Logger;
  /** The drop ledger: dead-lettered and dropped spans (service unknown here: ''). */
  drops?: DropRecorder;
  /** Test seam: drives batch timeouts, backoffs and the shutdown deadline. */
  clock?: Clock;
  /** Test seam: the jitter's random source. */
  random?: () => number;
  /** `storage.encryption`'s keys: segment files and dead letters are sealed (AES-256-GCM). Absent: written in the clear. */
  keyring?: Keyring;
}

interface Batch {
  entry: LedgerBatch;
  tally: Tally;
  /** The highest journal tag among its records. */
  maxTag: number;
  format: RecordFormat;
  /** The records, as read (views into the log's read chunks); dropped once the batch is done. */
  payload: Buffer[] | undefined;
  /** waiting: to send (new, failed, or re-formed after a restart); done: delivered or dead-lettered. */
  state: 'waiting' | 'sending' | 'done';
  /** Whether its ID is in the ledger on disk: required before the backend sees it. */
  persisted: boolean;
  attempts: number;
  firstFailureAt?: number;
}

type State = 'new' | 'starting' | 'running' | 'stopping' | 'closed';

/** Commit times kept for batch timeouts; beyond, newer records share the last time kept (sent sooner, never later). */
const ARRIVALS_KEPT = 10_000;
/**
 * Batches formed and not yet acknowledged, per unit of concurrency. Bounds the ledger (and
 * the out-of-order progress) while one slow batch holds the acknowledged cursor back.
 */
const WINDOW_PER_SLOT = 4;

/**
 * One exporter's durable queue. `append` resolves once a record is on disk (group commit);
 * a reader forms batches of consecutive records, records their boundaries and ID in the
 * ledger before the first send, and sends up to `concurrency` at once. Delivered batches
 * advance the acknowledged cursor in order and free whole segments. A failed send pauses
 * this queue (only) for an exponential backoff; a permanent failure dead-letters the batch.
 */
export class PersistentQueue {
  private state: State = 'new';
  private log!: SegmentLog;
  private ledger!: BatchLedger;
  /** Formed and not yet behind the acknowledged cursor, in seq order (as ledger.batches). */
  private readonly batches: Batch[] = [];
  private readonly undelivered = emptyTally();
  private arrivals: Array<{ last: number; at: number }> = [];
  /** Unread records up to this seq were found on disk at start: due at once. */
  private recoveredUpTo = 0;
  /** Sends, plus a batch being formed. */
  private inFlight = 0;
  private forming = false;
  /** Consecutive failed rounds: the backoff's exponent. */
  private failures = 0;
  private backoff: { until: number; cancel: () => void } | undefined;
  private batchTimer: { at: number; cancel: () => void } | undefined;
  private drainWaiters: Array<() => void> = [];
  /** Set when a send fails during shutdown: the rest waits on disk for the next start. */
  private givenUp = false;
  private stopped: Promise<void> | undefined;
  private readonly retry: RetryPolicy;
  private readonly deadLetters: DeadLetterBox;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly labels: { exporter: string };
  private readonly config: QueueConfig;
  private readonly metrics: CollectorMetrics;

  constructor(
    readonly exporter: Exporter,
    private readonly options: PersistentQueueOptions,
  ) {
    this.config = options.config;
    this.metrics = options.metrics;
    this.clock = options.clock ?? systemClock;
    this.retry = new RetryPolicy(options.config.retry, options.random);
    this.deadLetters = new DeadLetterBox(options.dir, options.keyring);
    this.logger = options.logger.child({ exporter: exporter.name });
    this.labels = { exporter: exporter.name };
    this.metrics.queueCapacityBytes.set(this.labels, options.config.max_bytes);
    for (const c of [this.metrics.spansExported, this.metrics.exportFailures, this.metrics.exportRetries, this.metrics.spansDeadLettered, this.metrics.batchesDeadLettered]) {
      c.inc(this.labels, 0);
    }
  }

  get name(): string {
    return this.exporter.name;
  }

  get encoding(): string {
    return this.exporter.encoding;
  }

  /** Records not yet delivered (nor dead-lettered, nor dropped). */
  get depth(): Readonly<Tally> {
    return this.undelivered;
  }

  /** Writes, fsyncs and records of the log since start: group commit at work. */
  get writeStats(): Readonly<{ writes: number; syncs: number; records: number }> {
    return this.log.stats;
  }

  /**
   * The highest journal tag this queue holds or delivered, as found at start: every record
   * appended with a lower tag is here too (records are written in the order of their tags),
   * except those whose append failed (the journal cancels those).
   */
  get recoveredLastTag(): number {
    return Math.max(this.ledger.lastTag, this.log.recovery.maxTag);
  }

  /** Opens the directory, recovers records and formed batches, starts the exporter, then sends. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`queue '${this.name}' was already started`);
    this.state = 'starting';
    const { dir } = this.options;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    this.ledger = await BatchLedger.open(dir, this.logger);
    const lastFormed = this.ledger.batches.reduce((max, b) => Math.max(max, b.last), this.ledger.acked);
    this.log = await SegmentLog.open({
      dir,
      // At most an eighth of max_bytes, so that deleting or dropping segments frees room in steps.
      segmentBytes: Math.min(this.config.segment_bytes, Math.floor(this.config.max_bytes / 8)),
      ackedSeq: this.ledger.acked,
      readAfter: lastFormed,
      minNextSeq: lastFormed + 1,
      logger: this.logger,
      beforeWrite: this.config.full_policy === 'drop_oldest' ? (bytes) => this.makeRoom(bytes) : undefined,
      onCommit: (_first, last, added) => this.committed(last, added),
      encryption: this.options.keyring && { keyring: this.options.keyring, context: `queue:${basename(dir)}` },
    });
    const recovered = this.log.recovery;
    addTally(this.undelivered, recovered.undelivered.records, recovered.undelivered.spans, recovered.undelivered.bytes);
    this.recoveredUpTo = recovered.lastSeq;
    await this.reform();
    this.updateGauges();
    if (recovered.undelivered.records > 0 || recovered.truncatedBytes > 0) {
      this.logger.info(
        { ...this.undelivered, batches: this.batches.length, truncatedBytes: recovered.truncatedBytes },
        'queue: recovered undelivered records from disk',
      );
    }
    try {
      await this.exporter.start();
    } catch (err) {
      this.state = 'closed';
      await this.log.close();
      throw err;
    }
    this.state = 'running';
    this.pump();
  }

  /**
   * Room for a record of `bytes` (as `encode` returned it)? Always, with drop_oldest (up to
   * max_bytes itself); with refuse, when the segment files and the appends being written
   * leave room. A fan-out checks every queue first, then appends to each.
   */
  hasRoomFor(bytes: number): boolean {
    if (this.state !== 'running') return false;
    const need = this.log.recordOverhead + bytes;
    if (this.config.full_policy === 'drop_oldest') return need <= this.config.max_bytes;
    return this.log.diskBytes + this.log.pendingBytes + need <= this.config.max_bytes;
  }

  fullError(): QueueFullError {
    const used = this.state === 'running' ? this.log.diskBytes + this.log.pendingBytes : 0;
    const why = this.state === 'running' ? `is full (${used} of ${this.config.max_bytes} bytes on disk)` : `is not accepting records (${this.state})`;
    return new QueueFullError(`exporter queue '${this.name}' ${why}; retry later`, this.config.retry_after_seconds);
  }

  /**
   * Stores one record (an encoded request holding `spanCount` spans); resolves once it is
   * durable. Rejects with {@link QueueFullError} when full (refuse) or stopping.
   */
  append(record: Uint8Array, spanCount: number, tag = 0): Promise<void> {
    if (this.state === 'new' || this.state === 'starting') return Promise.reject(new Error(`queue '${this.name}' is not started`));
    if (this.state !== 'running') return Promise.reject(this.fullError());
    if (this.log.recordOverhead + record.length > this.config.max_bytes) {
      return Promise.reject(new Error(`a record of ${record.length} bytes cannot fit in exporter queue '${this.name}' (max_bytes ${this.config.max_bytes})`));
    }
    if (!this.hasRoomFor(record.length)) return Promise.reject(this.fullError());
    return this.log.append(record, spanCount, tag).then(() => undefined);
  }

  /**
   * Stops accepting, sends what is queued until `timeoutMs`, then closes the files and the
   * exporter. A backoff in progress ends at once (one immediate retry); a send failing now ends
   * the wait, since nothing is lost: whatever is not delivered stays on disk and is sent after
   * the next start, in the same batches.
   */
  shutdown(timeoutMs = 30_000): Promise<void> {
    this.stopped ??= this.stop(timeoutMs);
    return this.stopped;
  }

  private async stop(timeoutMs: number): Promise<void> {
    // Never started, or its start failed (and closed what it had opened).
    if (this.state === 'new' || this.state === 'closed') return;
    this.state = 'stopping';
    this.cancelTimers();
    await this.log.idle();
    this.pump();
    if (timeoutMs > 0 && !this.isDrained()) {
      let cancel = (): void => undefined;
      const expired = new Promise<void>((resolve) => (cancel = this.clock.schedule(resolve, timeoutMs)));
      await Promise.race([new Promise<void>((resolve) => this.drainWaiters.push(resolve)), expired]);
      cancel();
    }
    // Sends still in flight are abandoned: their batches stay in the ledger, resent after a restart.
    this.state = 'closed';
    this.cancelTimers();
    try {
      await this.ledger.save();
      await this.log.deleteThrough(this.ledger.persistedAcked);
    } catch (err) {
      this.logger.warn({ err: message(err) }, 'queue: could not save acknowledgements at shutdown; some batches will be sent again');
    }
    await this.log.close();
    this.updateGauges();
    if (this.undelivered.records > 0) {
      this.logger.warn({ ...this.undelivered }, 'queue: undelivered records stay on disk; they are sent after the next start');
    }
    await this.exporter.shutdown();
  }

  /** Re-forms the batches the ledger lists exactly as before the restart: same records, same IDs. */
  private async reform(): Promise<void> {
    for (const entry of this.ledger.batches) {
      const read = await this.log.readRange(entry.first, entry.last);
      const tally = { records: read.records, spans: read.spans, bytes: read.bytes };
      const batch: Batch = { entry, tally, maxTag: read.maxTag, format: read.format, payload: undefined, state: 'done', persisted: true, attempts: 0 };
      if (!entry.done && read.records === 0) {
        this.logger.warn({ batchId: entry.id }, 'queue: the records of an unsent batch are gone (dropped to make room); skipping it');
        entry.done = true;
      } else if (!entry.done) {
        if (read.first !== entry.first || read.last !== entry.last) {
          this.logger.warn({ batchId: entry.id, found: `${read.first}-${read.last}` }, 'queue: some records of an unsent batch were dropped; sending the rest under its ID');
        }
        batch.payload = read.data;
        batch.state = 'waiting';
      } else addTally(this.undelivered, -tally.records, -tally.spans, -tally.bytes);
      this.batches.push(batch);
    }
    this.advance();
  }

  /** Records became durable (called by the log before their appends resolve). */
  private committed(last: number, added: Tally): void {
    addTally(this.undelivered, added.records, added.spans, added.bytes);
    const now = this.clock.now();
    const tail = this.arrivals[this.arrivals.length - 1];
    if (tail && (tail.at === now || this.arrivals.length >= ARRIVALS_KEPT)) tail.last = last;
    else this.arrivals.push({ last, at: now });
    this.updateGauges();
    this.pump();
  }

  /** Starts what can start now: retries and re-formed batches first, then a new batch when due. */
  private pump(): void {
    if (this.state !== 'running' && this.state !== 'stopping') return;
    if (this.backoff || this.givenUp) return;
    // After a failure, one batch probes the backend until a send succeeds: a recovering backend is not flooded.
    const concurrency = this.failures > 0 ? 1 : this.config.concurrency;
    for (const batch of this.batches) {
      if (this.inFlight >= concurrency) return;
      if (batch.state === 'waiting') void this.send(batch);
    }
    if (this.inFlight >= concurrency || this.forming) return;
    if (this.batches.length >= WINDOW_PER_SLOT * this.config.concurrency) return;
    const unread = this.log.unread;
    if (unread.records === 0) return;
    const { max_spans, max_bytes, timeout_ms } = this.config.batch;
    const full = this.state === 'stopping' || unread.spans >= max_spans || unread.bytes >= max_bytes;
    const due = full ? -Infinity : this.oldestUnreadAt() + timeout_ms;
    const now = this.clock.now();
    if (due <= now) {
      void this.form();
      return;
    }
    if (this.batchTimer && this.batchTimer.at <= due) return;
    this.batchTimer?.cancel();
    const cancel = this.clock.schedule(() => {
      this.batchTimer = undefined;
      this.pump();
    }, due - now);
    this.batchTimer = { at: due, cancel };
  }

  /** When the oldest unread record was committed; -Infinity when unknown (recovered): due at once. */
  private oldestUnreadAt(): number {
    const read = this.log.lastReadSeq;
    if (read < this.recoveredUpTo) return -Infinity;
    let drop = 0;
    while (drop < this.arrivals.length && this.arrivals[drop].last <= read) drop++;
    if (drop > 0) this.arrivals.splice(0, drop);
    return this.arrivals[0]?.at ?? -Infinity;
  }

  /** Reads the next batch from the log; it is persisted in the ledger by its first send. */
  private async form(): Promise<void> {
    this.forming = true;
    this.inFlight++;
    try {
      const { max_spans, max_bytes } = this.config.batch;
      const read = await this.log.readNext(max_spans, max_bytes);
      this.countLost();
      if (read && !this.closed) {
        const entry: LedgerBatch = { id: this.ledger.idFor(read.first, read.last), first: read.first, last: read.last, done: false };
        this.ledger.batches.push(entry);
        const tally = { records: read.records, spans: read.spans, bytes: read.bytes };
        this.batches.push({ entry, tally, maxTag: read.maxTag, format: read.format, payload: read.data, state: 'waiting', persisted: false, attempts: 0 });
      }
    } catch (err) {
      this.logger.error({ err: message(err) }, 'queue: could not read records from disk');
      this.backOff(err);
    } finally {
      this.forming = false;
      this.inFlight--;
    }
    this.pump();
    this.checkDrained();
  }

  private async send(batch: Batch): Promise<void> {
    batch.state = 'sending';
    this.inFlight++;
    try {
      if (!batch.persisted) {
        // The ID must be on disk before the backend sees it: after a crash the batch is formed again identically.
        try {
          await this.ledger.save();
          batch.persisted = true;
        } catch (err) {
          this.logger.error({ err: message(err) }, 'queue: could not save the ledger');
          batch.state = 'waiting';
          this.backOff(err);
          return;
        }
      }
      if (this.closed) return;
      if (batch.attempts > 0) this.metrics.exportRetries.inc(this.labels);
      batch.attempts++;
      const stopTimer = this.metrics.exportLatency.startTimer(this.labels);
      try {
        const records = batch.payload!;
        if (this.exporter.sendRecords) await this.exporter.sendRecords(records, batch.tally.spans, batch.entry.id, batch.format);
        else await this.exporter.send(records.length === 1 ? records[0]! : Buffer.concat(records), batch.tally.spans, batch.entry.id, batch.format);
      } catch (err) {
        if (!this.closed) await this.failed(batch, err);
        return;
      }
      stopTimer();
      this.metrics.spansExported.inc(this.labels, batch.tally.spans);
      if (this.closed) return;
      this.failures = 0;
      this.settle(batch);
    } finally {
      this.inFlight--;
      this.pump();
      this.checkDrained();
    }
  }

  private async failed(batch: Batch, err: unknown): Promise<void> {
    this.metrics.exportFailures.inc(this.labels);
    const { retryable, retryAfterMs } = classify(err);
    const now = this.clock.now();
    batch.firstFailureAt ??= now;
    if (!retryable) return this.deadLetter(batch, err, 'rejected by the backend (permanent error)');
    if (this.retry.exhausted(batch.firstFailureAt, now)) {
      const elapsed = Math.round(now - batch.firstFailureAt);
      return this.deadLetter(batch, err, `still failing after ${batch.attempts} attempts over ${elapsed} ms (retry.max_elapsed_ms)`);
    }
    batch.state = 'waiting';
    if (this.state === 'stopping') {
      // Everything is on disk: waiting out a backoff for a backend that is down only delays the stop.
      this.logger.warn({ batchId: batch.entry.id, err: message(err) }, 'queue: send failed during shutdown; the rest stays on disk for the next start');
      this.givenUp = true;
      this.drainWaiters.splice(0).forEach((resolve) => resolve());
      return;
    }
    this.backOff(err, retryAfterMs, batch);
  }

  /**
   * Pauses all sending of this queue: the backend is likely down, and the batches behind would
   * fail the same way. A longer hint from another failure extends the pause.
   */
  private backOff(err: unknown, hintMs?: number, batch?: Batch): void {
    if (!this.backoff) this.failures++;
    const delay = this.retry.delay(this.failures, hintMs);
    const now = this.clock.now();
    if (this.backoff && this.backoff.until >= now + delay) return;
    this.backoff?.cancel();
    this.logger.warn(
      { batchId: batch?.entry.id, spans: batch?.tally.spans, attempt: batch?.attempts, retryInMs: delay, retryAfterMs: hintMs, err: message(err) },
      'queue: send failed; will retry',
    );
    const cancel = this.clock.schedule(() => {
      this.backoff = undefined;
      this.pump();
    }, delay);
    this.backoff = { until: now + delay, cancel };
  }

  private async deadLetter(batch: Batch, err: unknown, reason: string): Promise<void> {
    const letter = { batchId: batch.entry.id, reason, error: message(err), spanCount: batch.tally.spans, records: batch.tally.records, attempts: batch.attempts };
    try {
      const file = await this.deadLetters.put(letter, batch.payload!);
      this.logger.error({ ...letter, file }, 'queue: batch dead-lettered; moving on');
    } catch (writeErr) {
      this.logger.error({ ...letter, writeError: message(writeErr) }, 'queue: batch rejected and could not be dead-lettered; dropping it');
    }
    this.metrics.spansDeadLettered.inc(this.labels, batch.tally.spans);
    this.options.drops?.count('exporter', 'dead_lettered', '', batch.tally.spans);
    this.metrics.batchesDeadLettered.inc(this.labels);
    if (!this.closed) this.settle(batch);
  }

  /** The batch is delivered or dead-lettered: acknowledge it once every batch before it is too. */
  private settle(batch: Batch): void {
    batch.state = 'done';
    batch.entry.done = true;
    batch.payload = undefined;
    addTally(this.undelivered, -batch.tally.records, -batch.tally.spans, -batch.tally.bytes);
    this.advance();
    this.updateGauges();
  }

  /** Moves the acknowledged cursor over the done prefix, then saves it lazily and frees segments. */
  private advance(): void {
    while (this.batches[0]?.state === 'done') {
      const { entry, maxTag } = this.batches.shift()!;
      this.ledger.batches.splice(this.ledger.batches.indexOf(entry), 1);
      this.ledger.acked = Math.max(this.ledger.acked, entry.last);
      this.ledger.lastTag = Math.max(this.ledger.lastTag, maxTag);
    }
    void this.persistAcks();
  }

  private async persistAcks(): Promise<void> {
    try {
      await this.ledger.save();
      if (this.closed) return;
      if ((await this.log.deleteThrough(this.ledger.persistedAcked)) > 0) this.updateGauges();
    } catch (err) {
      // At-least-once holds: an unsaved acknowledgement only means a resend after a crash.
      this.logger.warn({ err: message(err) }, 'queue: could not save acknowledgements');
    }
  }

  /** drop_oldest: deletes the oldest segments until `bytes` more fit in max_bytes. */
  private async makeRoom(bytes: number): Promise<void> {
    while (this.log.diskBytes + bytes > this.config.max_bytes) {
      const freed = await this.log.dropOldest();
      if (!freed) return;
      const { dropped } = freed;
      addTally(this.undelivered, -dropped.records, -dropped.spans, -dropped.bytes);
      if (dropped.records > 0) {
        this.metrics.spansDropped.inc({ ...this.labels, reason: 'queue_full' }, dropped.spans);
        this.options.drops?.count('exporter', 'queue_dropped', '', dropped.spans);
        this.logger.warn({ records: dropped.records, spans: dropped.spans, freedBytes: freed.freedBytes }, 'queue: full; dropped the oldest unsent records (full_policy drop_oldest)');
      }
      this.updateGauges();
    }
  }

  private countLost(): void {
    const lost = this.log.takeLost();
    if (lost.records === 0) return;
    addTally(this.undelivered, -lost.records, -lost.spans, -lost.bytes);
    this.metrics.spansDropped.inc({ ...this.labels, reason: 'damaged' }, lost.spans);
    this.options.drops?.count('exporter', 'queue_dropped', '', lost.spans);
    this.updateGauges();
  }

  /** Read through a getter: TypeScript keeps narrowing `this.state` across awaits. */
  private get closed(): boolean {
    return this.state === 'closed';
  }

  private isDrained(): boolean {
    return this.batches.length === 0 && !this.forming && this.log.unread.records === 0;
  }

  private checkDrained(): void {
    if (this.drainWaiters.length > 0 && this.isDrained()) this.drainWaiters.splice(0).forEach((resolve) => resolve());
  }

  private cancelTimers(): void {
    this.backoff?.cancel();
    this.backoff = undefined;
    this.batchTimer?.cancel();
    this.batchTimer = undefined;
  }

  private updateGauges(): void {
    const { records, spans, bytes } = this.undelivered;
    this.metrics.queueRecords.set(this.labels, records);
    this.metrics.queueSpans.set(this.labels, spans);
    this.metrics.queueBytes.set(this.labels, bytes);
    this.metrics.queueDiskBytes.set(this.labels, this.log.diskBytes);
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
