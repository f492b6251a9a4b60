import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { encodeTraceRequest, inEncodingOrder } from '../../../../exporters/otlp/encoder.js';
import type { Span } from '../../model/span.js';
import { decodeTraceRequest } from '../../receivers/otlp/proto-decoder.js';
import { isCode, replaceDurably, syncDirectory } from '../persistent-queue/durable-fs.js';
import { SegmentLog } from '../persistent-queue/segment-log.js';
import { indexOf, MAX_SPANS_PER_RECORD, position, seqOf } from './positions.js';
import { decodeRecord, encodeDecisions, encodeEmitted, encodeNumberMark, encodeSpansHeader, RecordKind, type StageName } from './records.js';
import type { SideRows } from './stage-journal.js';
import type { Decision } from './records.js';
import type { Keyring } from '../../storage/encryption/keyring.js';

export interface JournalOptions {
  /** `<data_dir>/journal`. */
  dir: string;
  /** Segments are deleted whole once every record in them is done. */
  segmentBytes: number;
  logger: Logger;
  registry: Registry;
  /** `storage.encryption`'s keys: records are sealed (AES-256-GCM). Absent: written in the clear. */
  keyring?: Keyring;
}

/** A spans record whose positions are not all done yet. */
interface LiveSpans {
  kind: 'spans';
  seq: number;
  stage: StageName;
  /** 1 per position done. */
  resolved: Uint8Array;
  unresolved: number;
  /** Its side rows are not known to be in ClickHouse. */
  sidePending: boolean;
}

/** A decisions record: when its segment is deleted, decisions still remembered (and recent) are written again. */
interface LiveDecisions {
  kind: 'decisions';
  seq: number;
  stage: string;
  decisions: Decision[];
}

type Tracked = LiveSpans | LiveDecisions;

/** Spans to feed again after a crash: the positions of one record not done before it. */
interface ReplayItem {
  seq: number;
  stage: StageName;
  otlp: Buffer;
  /** Spans in the record. */
  count: number;
  /** Indexes in the record to replay. */
  indexes: number[];
}

interface RecoveredSideRows {
  seq: number;
  side: SideRows;
}

const META_FILE = 'journal.json';
/**
 * Decisions are carried forward (for late spans after a crash) while younger than this, at
 * most this many per trim: the decision cache serves spans that arrive shortly after their
 * trace was decided, and the journal must not spend its writes re-writing old verdicts.
 */
export const DECISION_CARRY_MS = 5 * 60_000;
const DECISION_CARRY_MAX = 50_000;

/**
 * The write-ahead journal in front of the processors that hold spans (stitch, tail sampling):
 * every accepted request is written here, group-committed and fsync'd, before it is
 * acknowledged; a stage's output and decisions are written as they happen; and every position
 * (a span of a record) is tracked until it is done — in every exporter queue, dropped, or
 * consumed by a later record. Segments whose records are all done are deleted. After a crash,
 * what was not done is fed to the processors again, and what was (marks on disk, the tags the
 * exporter queues hold) is not: nothing acknowledged is lost, and nothing is stored twice.
 */
export class Journal {
  /** Records in seq order that keep the journal from being trimmed, from `head` on. */
  private tracked: Tracked[] = [];
  private head = 0;
  private readonly spansBySeq = new Map<number, LiveSpans>();
  private lastSeq = 0;
  private lastTag = 0;
  private trimming: Promise<void> | undefined;
  private trimmedThrough = 0;
  private pendingDecisions = new Map<string, Decision[]>();
  /** Decisions records trimming has passed, waiting for their segment to be deleted. */
  private passedDecisions: LiveDecisions[] = [];
  /** Per stage: the verdict it still remembers for a trace (undefined once forgotten). */
  private readonly keepers = new Map<string, (traceId: string) => string | undefined>();
  private replayItems: ReplayItem[] = [];
  private readonly recoveredDecisions = new Map<string, Map<string, string>>();
  private recoveredSide: RecoveredSideRows[] = [];
  private failed: Error | undefined;
  private readonly metrics: { live: Gauge; disk: Gauge; replayed: Counter };

  private constructor(
    private readonly dir: string,
    private readonly log: SegmentLog,
    /** Drawn when the directory is new: side-table tokens of a wiped journal never collide with earlier ones. */
    readonly incarnation: string,
    private readonly logger: Logger,
    registry: Registry,
  ) {
    this.lastSeq = log.recovery.lastSeq;
    this.metrics = {
      live: new Gauge({ name: 'flowtrace_journal_records_pending', help: 'Journal records with spans not yet in every exporter queue (or side rows not yet written).', registers: [registry] }),
      disk: new Gauge({ name: 'flowtrace_journal_disk_bytes', help: 'Bytes of the write-ahead journal on disk.', registers: [registry] }),
      replayed: new Counter({ name: 'flowtrace_journal_replayed_spans_total', help: 'Spans fed to the processors again after a crash.', registers: [registry] }),
    };
  }

  static async open(options: JournalOptions): Promise<Journal> {
    await mkdir(options.dir, { recursive: true, mode: 0o700 });
    const incarnation = await readIncarnation(options.dir);
    const log = await SegmentLog.open({
      dir: options.dir,
      segmentBytes: options.segmentBytes,
      ackedSeq: 0,
      // The journal is read whole at start (readRange), never through the queue's cursor.
      readAfter: Number.MAX_SAFE_INTEGER,
      minNextSeq: 1,
      logger: options.logger,
      encryption: options.keyring && { keyring: options.keyring, context: 'journal' },
    });
    return new Journal(options.dir, log, incarnation, options.logger, options.registry);
  }

  /**
   * Reads what the journal holds and decides what is left to do, given the highest tag the
   * first exporter queue (storage) holds: emissions up to it reached every queue (the others
   * are appended before it). Call once, before the processors start.
   */
  async recover(storedTag: number): Promise<{ spans: number; records: number }> {
    const all = await this.log.readRange(1, Number.MAX_SAFE_INTEGER);
    const spansRecords = new Map<number, { stage: StageName; count: number; otlp: Buffer; done: Uint8Array; side?: SideRows }>();
    const emitted: Array<{ tag: number; positions: number[] }> = [];
    const cancelled = new Set<number>();
    const sideDone = new Set<number>();
    const decisions: LiveDecisions[] = [];
    let cleanThrough = 0;
    const consumed: number[] = [];
    const refused: number[] = [];
    for (let r = 0; r < all.data.length; r++) {
      const data = all.data[r];
      const thisSeq = all.seqs![r];
      let record;
      try {
        record = decodeRecord(data);
      } catch (err) {
        this.logger.error({ seq: thisSeq, err: String(err) }, 'journal: unreadable record skipped');
        continue;
      }
      switch (record.kind) {
        case RecordKind.spans: {
          const count = record.count;
          spansRecords.set(thisSeq, { stage: record.stage, count, otlp: record.otlp, done: new Uint8Array(count), side: record.side });
          for (const p of record.consumes) consumed.push(p);
          break;
        }
        case RecordKind.emitted:
          emitted.push({ tag: record.tag, positions: record.positions });
          this.lastTag = Math.max(this.lastTag, record.tag);
          break;
        case RecordKind.cancelled:
          cancelled.add(record.tag);
          this.lastTag = Math.max(this.lastTag, record.tag);
          break;
        case RecordKind.refused:
          refused.push(record.seq);
          break;
        case RecordKind.sideRowsWritten:
          sideDone.add(record.seq);
          break;
        case RecordKind.clean:
          cleanThrough = Math.max(cleanThrough, record.seq);
          break;
        case RecordKind.decisions:
          decisions.push({ kind: 'decisions', seq: thisSeq, stage: record.stage, decisions: record.decisions });
          break;
      }
    }
    this.lastTag = Math.max(this.lastTag, storedTag);
    const markDone = (p: number): void => {
      const rec = spansRecords.get(seqOf(p));
      if (rec && indexOf(p) < rec.count) rec.done[indexOf(p)] = 1;
    };
    for (const p of consumed) markDone(p);
    for (const s of refused) spansRecords.get(s)?.done.fill(1);
    for (const { tag, positions } of emitted) {
      if (tag <= storedTag && !cancelled.has(tag)) for (const p of positions) markDone(p);
    }

    let replaySpans = 0;
    for (const [recSeq, rec] of spansRecords) {
      if (recSeq <= cleanThrough) continue;
      const indexes: number[] = [];
      for (let i = 0; i < rec.count; i++) if (rec.done[i] === 0) indexes.push(i);
      const sidePending = rec.side !== undefined && !sideDone.has(recSeq);
      if (indexes.length === 0 && !sidePending) continue;
      const live: LiveSpans = { kind: 'spans', seq: recSeq, stage: rec.stage, resolved: rec.done, unresolved: indexes.length, sidePending };
      this.track(live);
      if (indexes.length > 0) this.replayItems.push({ seq: recSeq, stage: rec.stage, otlp: rec.otlp, count: rec.count, indexes });
      if (sidePending) this.recoveredSide.push({ seq: recSeq, side: rec.side! });
      replaySpans += indexes.length;
    }
    for (const d of decisions) {
      const byTrace = this.recoveredDecisions.get(d.stage) ?? new Map<string, string>();
      for (const [traceId, verdict] of d.decisions) byTrace.set(traceId, verdict);
      this.recoveredDecisions.set(d.stage, byTrace);
      if (d.seq > cleanThrough) this.insertTracked(d);
    }
    if (replaySpans > 0 || this.recoveredSide.length > 0) {
      this.logger.warn(
        { spans: replaySpans, records: this.replayItems.length, sideRowRecords: this.recoveredSide.length, storedTag },
        'journal: the last run did not finish its work (a crash?); replaying what was not done',
      );
    }
    this.updateGauges();
    this.scheduleTrim();
    return { spans: replaySpans, records: this.replayItems.length };
  }

  /**
   * Feeds what `recover` found undone to `feed(stage, spans)` in journal order: spans keep their
   * positions, so what becomes of them is tracked as if they had just arrived.
   */
  async replay(feed: (stage: StageName, spans: Span[]) => Promise<void>): Promise<void> {
    const items = this.replayItems;
    this.replayItems = [];
    for (const item of items) {
      const decoded = decodeTraceRequest(item.otlp);
      if (decoded.spans.length !== item.count) {
        // Positions would point at the wrong spans: better none replayed than some twice.
        this.logger.error({ seq: item.seq, expected: item.count, decoded: decoded.spans.length }, 'journal: a record does not decode to its spans; not replayed');
        continue;
      }
      const spans: Span[] = [];
      for (const i of item.indexes) {
        const span = decoded.spans[i];
        if (span === undefined) continue;
        span.position = position(item.seq, i);
        spans.push(span);
      }
      await feed(item.stage, spans);
      this.metrics.replayed.inc(spans.length);
    }
  }

  /** Decisions of `stage` recorded before the crash (trace ID → verdict), latest last. */
  decisionsOf(stage: string): ReadonlyMap<string, string> {
    return this.recoveredDecisions.get(stage) ?? new Map();
  }

  /** Side rows of stage output records (stitch's) not known to be inserted. */
  get recoveredSideRows(): ReadonlyArray<{ seq: number; side: SideRows }> {
    return this.recoveredSide;
  }

  /** The side-table deduplication token of a record: the same after a restart. */
  tokenOf(seq: number): string {
    return `journal-${this.incarnation}-${seq}`;
  }

  /**
   * Writes spans entering `stage` as one record; resolves once on disk, after giving the spans
   * their new positions and marking the positions in `consumes` done.
   */
  async appendSpans(stage: StageName, spans: Span[], consumes: readonly number[] = [], side?: SideRows): Promise<number> {
    if (spans.length > MAX_SPANS_PER_RECORD) throw new Error(`a journal record holds at most ${MAX_SPANS_PER_RECORD} spans`);
    // Numbered in the order the record holds them (grouped by resource and scope), which is
    // the order a replay decodes them in.
    const ordered = inEncodingOrder(spans);
    const data = encodeTraceRequest(ordered, encodeSpansHeader(stage, ordered.length, consumes, side));
    const seq = await this.append(data, ordered.length);
    const live: LiveSpans = { kind: 'spans', seq, stage, resolved: new Uint8Array(ordered.length), unresolved: ordered.length, sidePending: side !== undefined };
    for (let i = 0; i < ordered.length; i++) ordered[i].position = position(seq, i);
    this.track(live);
    this.resolve(consumes);
    return seq;
  }

  /** The next emission number: the exporter queues keep it in their records' headers. */
  nextTag(): number {
    return ++this.lastTag;
  }

  /** Before the exporter queues are appended to under `tag`: durable once this resolves. */
  async emitted(tag: number, positions: readonly number[]): Promise<void> {
    await this.append(encodeEmitted(tag, positions), 0);
  }

  /** The appends of `tag` failed: its positions stay undone (they are offered again under a new tag). */
  async cancel(tag: number): Promise<void> {
    await this.append(encodeNumberMark(RecordKind.cancelled, tag), 0);
  }

  /** The pipeline refused record `seq` whole (the client retries): its spans must never be replayed. */
  async refused(seq: number): Promise<void> {
    await this.append(encodeNumberMark(RecordKind.refused, seq), 0);
    const live = this.spansBySeq.get(seq);
    if (live) {
      live.resolved.fill(1);
      live.unresolved = 0;
      if (!live.sidePending && this.settle(live)) this.scheduleTrim();
    }
  }

  /** Positions done: in every exporter queue, dropped, or consumed by a later record. */
  resolve(positions: readonly number[]): void {
    let settled = false;
    for (const p of positions) {
      const live = this.spansBySeq.get(seqOf(p));
      if (live === undefined) continue;
      const i = indexOf(p);
      if (live.resolved[i] === 1) continue;
      live.resolved[i] = 1;
      if (--live.unresolved === 0 && !live.sidePending) settled = this.settle(live) || settled;
    }
    if (settled) this.scheduleTrim();
  }

  /** Spans' positions, those that have one. */
  static positionsOf(spans: readonly Span[]): number[] {
    const positions: number[] = [];
    for (const s of spans) if (s.position !== undefined) positions.push(s.position);
    return positions;
  }

  /** Records a stage's decision; written before any record appended after this call. */
  decide(stage: string, traceId: string, verdict: string): void {
    let list = this.pendingDecisions.get(stage);
    if (!list) this.pendingDecisions.set(stage, (list = []));
    list.push([traceId, verdict, Date.now()]);
    if (this.pendingDecisions.size === 1 && list.length === 1) queueMicrotask(() => this.flushDecisions());
  }

  /**
   * When the segment holding a decisions record of `stage` is deleted, each decision in it the
   * stage still remembers (`remembered(traceId)` gives its verdict) and that is younger than
   * {@link DECISION_CARRY_MS} is written again first: late spans follow it after a crash.
   */
  keepDecisionsWhile(stage: string, remembered: (traceId: string) => string | undefined): void {
    this.keepers.set(stage, remembered);
  }

  sideRowsWritten(seq: number): void {
    const live = this.spansBySeq.get(seq);
    if (!live || !live.sidePending) return;
    live.sidePending = false;
    this.append(encodeNumberMark(RecordKind.sideRowsWritten, seq), 0).catch((err: unknown) => this.noteFailure(err));
    if (live.unresolved === 0 && this.settle(live)) this.scheduleTrim();
  }

  /** False once a write failed: the journal then refuses new data until the collector restarts. */
  get healthy(): boolean {
    return this.failed === undefined;
  }

  /** Resolves once everything appended so far (decisions included) is on disk. */
  async settled(): Promise<void> {
    this.flushDecisions();
    await this.log.idle();
  }

  /**
   * Whether `dir` holds journal records (a run that did not finish its work): a clean stop
   * deletes them, so that the next start knows there is nothing to replay — and replays it
   * even if the journal is now turned off.
   */
  static hasRecords(dir: string): boolean {
    try {
      return readdirSync(dir).some((name) => name.endsWith('.seg') && statSync(join(dir, name)).size > 0);
    } catch (err) {
      if (isCode(err, 'ENOENT')) return false;
      throw err;
    }
  }

  /** Stops: when every record is done, says so on disk and deletes the segments, so the next start replays nothing. */
  async close(): Promise<void> {
    this.flushDecisions();
    await this.log.idle();
    const pending = this.spansBySeq.size;
    let clean = false;
    if (pending === 0) {
      clean = this.lastSeq === 0 || (await this.append(encodeNumberMark(RecordKind.clean, this.lastSeq), 0).then(() => true, (err: unknown) => (this.noteFailure(err), false)));
    } else {
      this.logger.warn({ records: pending }, 'journal: records not done at shutdown; they are replayed at the next start');
    }
    await this.trimming;
    await this.log.close();
    if (clean) await this.deleteSegments();
  }

  private async deleteSegments(): Promise<void> {
    const dir = this.dir;
    for (const name of await readdir(dir)) if (name.endsWith('.seg')) await unlink(join(dir, name)).catch(() => undefined);
    await syncDirectory(dir);
  }

  private async append(data: Uint8Array, spanCount: number): Promise<number> {
    if (this.failed) throw new Error(`the journal cannot be written: ${this.failed.message}`);
    this.flushDecisions();
    const seq = await this.log.append(data, spanCount);
    this.lastSeq = Math.max(this.lastSeq, seq);
    this.metrics.disk.set(this.log.diskBytes);
    return seq;
  }

  private flushDecisions(): void {
    if (this.pendingDecisions.size === 0) return;
    const pending = this.pendingDecisions;
    this.pendingDecisions = new Map();
    for (const [stage, decisions] of pending) {
      this.appendDecisions(stage, decisions).catch((err: unknown) => this.noteFailure(err));
    }
  }

  private async appendDecisions(stage: string, decisions: Decision[]): Promise<void> {
    const seq = await this.log.append(encodeDecisions(stage, decisions), 0);
    this.lastSeq = Math.max(this.lastSeq, seq);
    this.insertTracked({ kind: 'decisions', seq, stage, decisions });
  }

  private track(live: LiveSpans): void {
    this.spansBySeq.set(live.seq, live);
    this.insertTracked(live);
    this.updateGauges();
  }

  /** Keeps `tracked` in seq order (appends commit in order; recovery inserts out of order). */
  private insertTracked(entry: Tracked): void {
    const last = this.tracked[this.tracked.length - 1];
    if (last === undefined || this.tracked.length === this.head || last.seq < entry.seq) {
      this.tracked.push(entry);
      return;
    }
    let at = this.tracked.length;
    while (at > this.head && this.tracked[at - 1].seq > entry.seq) at--;
    this.tracked.splice(at, 0, entry);
  }

  /** The record is done; trimming may move. */
  private settle(live: LiveSpans): boolean {
    this.spansBySeq.delete(live.seq);
    this.updateGauges();
    return true;
  }

  private isDone(entry: Tracked): boolean {
    return entry.kind === 'decisions' || !this.spansBySeq.has(entry.seq);
  }

  /**
   * Deletes the segments before the oldest record not done. Decisions in them that the stage
   * still remembers (and that are recent) are written again first, so a crash keeps them.
   */
  private scheduleTrim(): void {
    while (this.head < this.tracked.length && this.isDone(this.tracked[this.head])) {
      const entry = this.tracked[this.head++];
      if (entry.kind === 'decisions') this.passedDecisions.push(entry);
    }
    if (this.head > 1024 && this.head * 2 > this.tracked.length) {
      this.tracked = this.tracked.slice(this.head);
      this.head = 0;
    }
    const through = this.head < this.tracked.length ? this.tracked[this.head].seq - 1 : this.lastSeq;
    if (through <= this.trimmedThrough || this.trimming) return;
    this.trimming = this.trim(through).then(
      () => {
        this.trimmedThrough = through;
        this.metrics.disk.set(this.log.diskBytes);
        this.trimming = undefined;
        this.scheduleTrim(); // records settled while deleting
      },
      (err: unknown) => {
        this.trimming = undefined;
        this.logger.warn({ err: String(err) }, 'journal: could not delete done segments');
      },
    );
  }

  private async trim(through: number): Promise<void> {
    const deletable = this.log.deletableThrough(through);
    if (deletable === 0) return;
    let carried = 0;
    while (carried < this.passedDecisions.length && this.passedDecisions[carried].seq <= deletable) carried++;
    await this.carryForward(this.passedDecisions.slice(0, carried));
    this.passedDecisions = this.passedDecisions.slice(carried);
    await this.log.deleteThrough(deletable);
  }

  /** Writes again (durably) the recent decisions of `entries` that their stage still remembers. */
  private async carryForward(entries: LiveDecisions[]): Promise<void> {
    const now = Date.now();
    const byStage = new Map<string, Map<string, Decision>>();
    for (const entry of entries) {
      const remembered = this.keepers.get(entry.stage);
      if (!remembered) continue;
      let kept = byStage.get(entry.stage);
      if (!kept) byStage.set(entry.stage, (kept = new Map()));
      for (const [traceId, , at] of entry.decisions) {
        if (now - at > DECISION_CARRY_MS) continue;
        const verdict = remembered(traceId);
        if (verdict !== undefined) kept.set(traceId, [traceId, verdict, at]);
      }
    }
    for (const [stage, kept] of byStage) {
      if (kept.size === 0) continue;
      // The newest first when over the cap: late spans follow recent decisions.
      const decisions = [...kept.values()].sort((a, b) => b[2] - a[2]).slice(0, DECISION_CARRY_MAX);
      await this.appendDecisions(stage, decisions);
    }
  }

  private noteFailure(err: unknown): void {
    this.failed ??= err instanceof Error ? err : new Error(String(err));
    this.logger.error({ err: String(err) }, 'journal: write failed; refusing new data until restarted');
  }

  private updateGauges(): void {
    this.metrics.live.set(this.spansBySeq.size);
  }
}

async function readIncarnation(dir: string): Promise<string> {
  const path = join(dir, META_FILE);
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as { incarnation?: unknown };
    if (typeof parsed.incarnation === 'string' && /^[0-9a-f]{12}$/.test(parsed.incarnation)) return parsed.incarnation;
  } catch (err) {
    if (!isCode(err, 'ENOENT') && !(err instanceof SyntaxError)) throw err;
  }
  const incarnation = randomBytes(6).toString('hex');
  await replaceDurably(path, Buffer.from(JSON.stringify({ version: 1, incarnation })));
  return incarnation;
}
