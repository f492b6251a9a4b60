import { mkdir, open, readdir, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { isCode, syncDirectory, writeAll } from './durable-fs.js';
import { encodeHeader, MAX_PAYLOAD_BYTES } from './record-format.js';
import { RecordReader, type ReadResult, type StoredRecord } from './record-reader.js';
import { checkReadable, PlainAfterSealedError, recordOverhead, RecordSealing } from './sealed-records.js';
import type { AtRestEncryption } from '../../storage/encryption/envelope.js';

/** Records, spans and bytes (headers included) of a set of records. */
export interface Tally {
  records: number;
  spans: number;
  bytes: number;
}

export const emptyTally = (): Tally => ({ records: 0, spans: 0, bytes: 0 });

export function addTally(to: Tally, records: number, spans: number, bytes: number): void {
  to.records += records;
  to.spans += spans;
  to.bytes += bytes;
}

/** Consecutive records read for one send. */
export interface ReadBatch extends Tally {
  first: number;
  last: number;
  data: Buffer[];
  /** The highest tag among the records (0 when none has one). */
  maxTag: number;
  /** The records' format (a batch from readNext never mixes them). */
  format: 1 | 2;
  /** Each record's seq (readRange only; seqs skip where a damaged segment was cut). */
  seqs?: number[];
}

export interface SegmentLogOptions {
  dir: string;
  /** A segment is sealed and a new one started when the next write would pass this size. */
  segmentBytes: number;
  /** Records up to this seq were delivered: not counted as undelivered on recovery. */
  ackedSeq: number;
  /** The reader starts after this seq (records up to it are already in batches). */
  readAfter: number;
  /** New records get seqs from here at least, so seqs (and batch IDs) are never reused. */
  minNextSeq: number;
  logger: Logger;
  /** Awaited before each write with the bytes about to be written: where the queue makes room. */
  beforeWrite?: (bytes: number) => Promise<void>;
  /** Called when records are durable and readable, before their `append` promises resolve. */
  onCommit?: (firstSeq: number, lastSeq: number, added: Tally) => void;
  /** Seals new records (AES-256-GCM) and opens sealed ones; absent: records are written in the clear. */
  encryption?: AtRestEncryption;
}

export interface Recovery {
  /** Records found after `ackedSeq`: not yet delivered. */
  undelivered: Tally;
  /** Bytes cut off torn or corrupt segment tails. */
  truncatedBytes: number;
  /** The last seq found, 0 if none. */
  lastSeq: number;
  /** The highest tag found in the segments, 0 if none. */
  maxTag: number;
}

interface Segment {
  /** No record in the segment has a lower seq; also its file name. */
  base: number;
  path: string;
  /** Committed bytes: everything before is durable records. */
  size: number;
  records: number;
  spans: number;
  lastSeq: number;
}

interface Cursor {
  segment: Segment;
  /** Where the reader starts when it is (re)opened on this segment. */
  position: number;
  fh?: FileHandle;
  reader?: RecordReader;
  /** Records of `segment` behind the cursor. */
  consumed: Tally;
  /** Read but not yet taken: did not fit in the last batch. */
  peeked?: StoredRecord;
}

interface Pending {
  data: Uint8Array;
  spanCount: number;
  tag: number;
  resolve: (seq: number) => void;
  reject: (err: unknown) => void;
}

const SEGMENT_NAME = /^(\d{16})\.seg$/;
const segmentName = (base: number): string => `${String(base).padStart(16, '0')}.seg`;

/** Runs async sections one at a time (the read cursor and the segment list change inside). */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/**
 * The queue's write-ahead log: records in segment files named by their first seq, appended
 * with group commit (every append waiting while a write is in progress goes into the next
 * write and fsync), read back in order by one cursor, and reclaimed a whole segment at a time.
 * Opening scans every record and truncates a torn tail, so that a crash mid-write loses only
 * the records whose `append` had not resolved.
 */
export class SegmentLog {
  /** Writes and fsyncs made, records written: the bench's figures. */
  readonly stats = { writes: 0, syncs: 0, records: 0 };
  private readonly waiting: Pending[] = [];
  private writing: Promise<void> | undefined;
  private pending = 0;
  private committed: number;
  private readonly unreadTally: Tally;
  private lost = emptyTally();
  private lastRead: number;
  private closed = false;
  private readonly serial = new Serial();
  /** Header (and seal) bytes each record adds to its payload on disk. */
  readonly recordOverhead: number;

  private constructor(
    private readonly options: SegmentLogOptions,
    private readonly segments: Segment[],
    private writeFh: FileHandle,
    private nextSeq: number,
    private cursor: Cursor,
    unread: Tally,
    readonly recovery: Recovery,
    private readonly sealing: RecordSealing | undefined,
  ) {
    this.recordOverhead = recordOverhead(sealing);
    this.committed = segments.reduce((n, s) => n + s.size, 0);
    this.unreadTally = unread;
    this.lastRead = options.readAfter;
  }

  static async open(options: SegmentLogOptions): Promise<SegmentLog> {
    const { dir, logger } = options;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const sealing = options.encryption ? new RecordSealing(options.encryption) : undefined;
    /** The newest record was not sealed under the primary key: new records go to a new segment, so old keys' segments can be deleted. */
    let lastNotPrimary = false;
    const names = (await readdir(dir)).filter((n) => SEGMENT_NAME.test(n)).sort();
    const segments: Segment[] = [];
    const undelivered = emptyTally();
    const unread = emptyTally();
    let truncatedBytes = 0;
    let lastSeq = 0;
    let maxTag = 0;
    let cursor: Cursor | undefined;
    let sawSealed = false;
    /** Plain records admitted with encryption on: not authenticated, so said once at open. */
    let plainAdmitted = 0;

    for (let i = 0; i < names.length; i++) {
      const path = join(dir, names[i]);
      const segment: Segment = { base: Number(SEGMENT_NAME.exec(names[i])![1]), path, size: 0, records: 0, spans: 0, lastSeq: 0 };
      const behind = emptyTally();
      const fh = await open(path, 'r+');
      try {
        const fileSize = (await fh.stat()).size;
        const reader = new RecordReader(fh, 0);
        for (;;) {
          let r = await reader.next(fileSize);
          if (r.kind === 'end') break;
          if (r.kind === 'record' && r.record.seq <= lastSeq) r = { kind: 'corrupt', offset: r.record.offset, reason: 'seq does not increase' };
          if (r.kind === 'record' && sealing) {
            // Plain records to deliver may only precede the sealed ones (queued before encryption was on).
            const rec = r.record;
            if (rec.sealed !== undefined) sawSealed = true;
            else if (rec.seq <= options.ackedSeq) sealing.plainThrough = rec.seq;
            else if (sawSealed) throw new PlainAfterSealedError(path, rec.seq);
            else {
              sealing.plainThrough = rec.seq;
              plainAdmitted++;
            }
          }
          if (r.kind === 'corrupt') {
            const bad = r;
            // A crash mid-write tears the newest segment's tail; anywhere else it is damage.
            const last = i === names.length - 1;
            logger[last ? 'warn' : 'error'](
              { segment: path, offset: bad.offset, discardedBytes: fileSize - bad.offset, reason: bad.reason },
              last ? 'queue: truncating a torn tail (records never acknowledged)' : 'queue: segment damaged; truncating it',
            );
            await fh.truncate(bad.offset);
            await fh.datasync();
            truncatedBytes += fileSize - bad.offset;
            break;
          }
          const rec = r.record;
          if (rec.seq > options.ackedSeq) checkReadable(rec, sealing, `the log in ${dir}`);
          lastNotPrimary = sealing !== undefined && !sealing.isPrimary(rec);
          segment.size = rec.offset + rec.size;
          segment.records++;
          segment.spans += rec.spanCount;
          segment.lastSeq = lastSeq = rec.seq;
          if (rec.tag > maxTag) maxTag = rec.tag;
          if (rec.seq > options.ackedSeq) addTally(undelivered, 1, rec.spanCount, rec.size);
          if (rec.seq > options.readAfter) {
            addTally(unread, 1, rec.spanCount, rec.size);
            cursor ??= { segment, position: rec.offset, consumed: { ...behind } };
          } else addTally(behind, 1, rec.spanCount, rec.size);
        }
      } finally {
        await fh.close();
      }
      if (segment.records === 0 && i < names.length - 1) {
        await unlink(path);
        continue;
      }
      segments.push(segment);
    }

    if (plainAdmitted > 0) {
      logger.warn(
        { dir, records: plainAdmitted, throughSeq: sealing!.plainThrough },
        'queue: delivering plain records written before storage.encryption was on; they carry no seal, so they are not authenticated',
      );
    }
    const nextSeq = Math.max(lastSeq + 1, options.minNextSeq, 1);
    if (segments.length === 0 || (lastNotPrimary && segments[segments.length - 1].records > 0)) segments.push(await createSegment(dir, nextSeq));
    const active = segments[segments.length - 1];
    cursor ??= { segment: active, position: active.size, consumed: { records: active.records, spans: active.spans, bytes: active.size } };
    const writeFh = await open(active.path, 'r+');
    return new SegmentLog(options, segments, writeFh, nextSeq, cursor, unread, { undelivered, truncatedBytes, lastSeq, maxTag }, sealing);
  }

  /** Bytes of committed records in the segment files. */
  get diskBytes(): number {
    return this.committed;
  }

  /** Bytes appended and not yet written. */
  get pendingBytes(): number {
    return this.pending;
  }

  /** Committed records the cursor has not taken yet. */
  get unread(): Readonly<Tally> {
    return this.unreadTally;
  }

  /** Records up to this seq are behind the cursor (taken, dropped or skipped). */
  get lastReadSeq(): number {
    return this.lastRead;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /**
   * Resolves with the record's seq once it is written and fsynced (group commit). Records are
   * written in the order of the calls; `tag` is kept in the header (the journal's emission number).
   */
  append(data: Uint8Array, spanCount: number, tag = 0): Promise<number> {
    if (this.closed) return Promise.reject(new Error('queue log is closed'));
    if (data.length > MAX_PAYLOAD_BYTES) return Promise.reject(new Error(`record of ${data.length} bytes is too large`));
    return new Promise<number>((resolve, reject) => {
      const entry: Pending = { data, spanCount, tag, resolve, reject };
      this.waiting.push(entry);
      this.pending += this.recordBytes(entry);
      // Started a microtask later, so that appends made in the same tick share the first write too.
      this.writing ??= Promise.resolve().then(() => this.drain());
    });
  }

  /** Resolves when every append made so far has settled. */
  async idle(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /**
   * Takes consecutive records from the cursor: at least one, then as long as the batch stays
   * within `maxSpans` and `maxBytes`. Undefined when nothing is unread.
   */
  readNext(maxSpans: number, maxBytes: number): Promise<ReadBatch | undefined> {
    return this.serial.run(async () => {
      if (this.closed) return undefined;
      const batch: ReadBatch = { first: 0, last: 0, records: 0, spans: 0, bytes: 0, data: [], maxTag: 0, format: 2 };
      while (batch.spans < maxSpans && batch.bytes < maxBytes) {
        const rec = await this.peek();
        if (!rec) break;
        if (batch.records > 0 && (batch.spans + rec.spanCount > maxSpans || batch.bytes + rec.size > maxBytes || rec.format !== batch.format)) break;
        this.take(rec);
        if (batch.records === 0) {
          batch.first = rec.seq;
          batch.format = rec.format;
        }
        batch.last = rec.seq;
        addTally(batch, 1, rec.spanCount, rec.size);
        batch.data.push(rec.data);
        if (rec.tag > batch.maxTag) batch.maxTag = rec.tag;
      }
      return batch.records > 0 ? batch : undefined;
    });
  }

  /** The records with seqs in [first, last], read apart from the cursor: re-forms a batch after a restart. */
  readRange(first: number, last: number): Promise<ReadBatch> {
    return this.serial.run(async () => {
      const batch: ReadBatch = { first: 0, last: 0, records: 0, spans: 0, bytes: 0, data: [], maxTag: 0, format: 2, seqs: [] };
      if (this.closed) return batch;
      for (const segment of this.segments) {
        if (segment.records === 0 || segment.lastSeq < first) continue;
        if (segment.base > last) break;
        const fh = await open(segment.path, 'r');
        try {
          const reader = new RecordReader(fh, 0);
          for (;;) {
            const r = this.opened(await reader.next(segment.size));
            if (r.kind === 'refused') {
              this.options.logger.error({ segment: segment.path, offset: r.record.offset, seq: r.record.seq, reason: r.reason }, 'queue: record refused (not authentic); skipped');
              if (r.record.seq >= first && r.record.seq <= last) addTally(this.lost, 1, r.record.spanCount, r.record.size);
              if (r.record.seq > last) break;
              continue;
            }
            if (r.kind === 'corrupt') {
              this.options.logger.error({ segment: segment.path, offset: r.offset, reason: r.reason }, 'queue: record damaged on disk; the rest of the segment is skipped');
              break;
            }
            if (r.kind !== 'record' || r.record.seq > last) break;
            const rec = r.record;
            if (rec.seq < first) continue;
            if (batch.records === 0) {
              batch.first = rec.seq;
              batch.format = rec.format;
            }
            batch.last = rec.seq;
            addTally(batch, 1, rec.spanCount, rec.size);
            batch.data.push(rec.data);
            batch.seqs!.push(rec.seq);
            if (rec.tag > batch.maxTag) batch.maxTag = rec.tag;
          }
        } finally {
          await fh.close();
        }
      }
      return batch;
    });
  }

  /**
   * Deletes the oldest sealed segment to make room. Returns the unread records it held (now
   * lost) and the bytes freed; undefined when only the segment being written is left.
   * Records already taken into batches stay deliverable: their batches hold the bytes.
   */
  dropOldest(): Promise<{ dropped: Tally; freedBytes: number } | undefined> {
    return this.serial.run(async () => {
      if (this.closed || this.segments.length < 2) return undefined;
      const segment = this.segments[0];
      const dropped = emptyTally();
      if (this.cursor.segment === segment) {
        const c = this.cursor.consumed;
        addTally(dropped, segment.records - c.records, segment.spans - c.spans, segment.size - c.bytes);
        addTally(this.unreadTally, -dropped.records, -dropped.spans, -dropped.bytes);
        await this.advanceCursor();
      }
      await this.removeOldest();
      return { dropped, freedBytes: segment.size };
    });
  }

  /** The seq {@link deleteThrough}(`seq`) would delete through now (the last such segment's), 0 for none. */
  deletableThrough(seq: number): number {
    let through = 0;
    for (let i = 0; i < this.segments.length - 1 && this.segments[i].lastSeq <= seq; i++) through = this.segments[i].lastSeq;
    return through;
  }

  /** Deletes sealed segments whose records all have seqs ≤ `seq` (delivered and acknowledged durably). */
  deleteThrough(seq: number): Promise<number> {
    return this.serial.run(async () => {
      let deleted = 0;
      while (!this.closed && this.segments.length > 1 && this.segments[0].lastSeq <= seq) {
        if (this.cursor.segment === this.segments[0]) await this.advanceCursor();
        await this.removeOldest();
        deleted++;
      }
      return deleted;
    });
  }

  /** Records found damaged while reading since the last call (skipped). */
  takeLost(): Tally {
    const lost = this.lost;
    this.lost = emptyTally();
    return lost;
  }

  /** Waits for appends in progress, then closes the files; later appends reject. */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
    await this.serial.run(async () => {
      await this.cursor.fh?.close();
      this.cursor.fh = undefined;
      this.cursor.reader = undefined;
    });
    await this.writeFh.close();
  }

  private async drain(): Promise<void> {
    try {
      while (this.waiting.length > 0) await this.writeGroup(this.waiting.splice(0));
    } finally {
      this.writing = undefined;
    }
  }

  /**
   * Writes a group of records with one writev and one fdatasync per segment touched. A failed
   * write rejects its records, cuts the file back to its committed size and leaves seqs unused,
   * so the log stays valid and the next group writes over the failed bytes.
   */
  private recordBytes(p: Pending): number {
    return this.recordOverhead + p.data.length;
  }

  /**
   * A read record with its payload decrypted. One that fails its seal (or is plain where only
   * sealed ones belong) is refused alone: its framing passed the CRC, so the records after it
   * are intact and still read.
   */
  private opened(r: ReadResult): ReadResult | RefusedRecord {
    if (r.kind !== 'record') return r;
    if (!this.sealing) return r.record.sealed === undefined ? r : { kind: 'refused', record: r.record, reason: 'encrypted record and storage.encryption is off' };
    const o = this.sealing.open(r.record);
    return 'record' in o ? { kind: 'record', record: o.record } : { kind: 'refused', record: r.record, reason: o.reason };
  }

  private async writeGroup(group: Pending[]): Promise<void> {
    const recordBytes = (p: Pending) => this.recordBytes(p);
    const limit = this.options.segmentBytes;
    let i = 0;
    while (i < group.length) {
      const roll = this.active.size > 0 && this.active.size + recordBytes(group[i]) > limit;
      let used = roll ? 0 : this.active.size;
      let end = i;
      let bytes = 0;
      let spans = 0;
      do {
        used += recordBytes(group[end]);
        bytes += recordBytes(group[end]);
        spans += group[end].spanCount;
        end++;
      } while (end < group.length && used + recordBytes(group[end]) <= limit);
      const chunk = group.slice(i, end);
      i = end;
      try {
        if (roll) await this.roll();
        await this.options.beforeWrite?.(bytes);
        const segment = this.active;
        const first = this.nextSeq;
        const buffers: Uint8Array[] = [];
        if (this.sealing) {
          let offset = segment.size;
          chunk.forEach((p, k) => {
            for (const part of this.sealing!.seal(first + k, p.spanCount, p.data, p.tag, offset)) buffers.push(part);
            offset += recordBytes(p);
          });
        } else chunk.forEach((p, k) => buffers.push(encodeHeader(first + k, p.spanCount, p.data, p.tag), p.data));
        await writeAll(this.writeFh, buffers, segment.size);
        await this.writeFh.datasync();
        const last = first + chunk.length - 1;
        this.stats.writes++;
        this.stats.syncs++;
        this.stats.records += chunk.length;
        this.nextSeq = last + 1;
        segment.size += bytes;
        segment.records += chunk.length;
        segment.spans += spans;
        segment.lastSeq = last;
        this.committed += bytes;
        this.pending -= bytes;
        addTally(this.unreadTally, chunk.length, spans, bytes);
        this.options.onCommit?.(first, last, { records: chunk.length, spans, bytes });
        chunk.forEach((p, k) => p.resolve(first + k));
      } catch (err) {
        this.pending -= bytes;
        await this.writeFh.truncate(this.active.size).catch(() => undefined);
        chunk.forEach((p) => p.reject(err));
      }
    }
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1];
  }

  /** Seals the active segment and starts the next, named by the next seq. */
  private async roll(): Promise<void> {
    const segment = await createSegment(this.options.dir, this.nextSeq);
    const fh = await open(segment.path, 'r+');
    const old = this.writeFh;
    this.segments.push(segment);
    this.writeFh = fh;
    await old.close().catch(() => undefined);
  }

  private async removeOldest(): Promise<void> {
    const segment = this.segments.shift()!;
    this.committed -= segment.size;
    await unlink(segment.path).catch((err: unknown) => {
      if (!isCode(err, 'ENOENT')) this.options.logger.warn({ segment: segment.path, err: String(err) }, 'queue: could not delete segment');
    });
  }

  /** The record at the cursor, read but not taken. */
  private async peek(): Promise<StoredRecord | undefined> {
    if (this.cursor.peeked) return this.cursor.peeked;
    for (;;) {
      const c = this.cursor; // replaced when it moves to the next segment
      const segment = c.segment;
      const active = segment === this.active;
      if (!c.reader) {
        if (c.position >= segment.size) {
          if (active) return undefined;
          await this.advanceCursor();
          continue;
        }
        c.fh = await open(segment.path, 'r');
        c.reader = new RecordReader(c.fh, c.position);
      }
      const r = this.opened(await c.reader.next(segment.size));
      if (r.kind === 'record') return (c.peeked = r.record);
      if (r.kind === 'refused') {
        this.options.logger.error(
          { segment: segment.path, offset: r.record.offset, seq: r.record.seq, reason: r.reason, records: 1, spans: r.record.spanCount },
          'queue: record refused (not authentic); skipped',
        );
        addTally(this.lost, 1, r.record.spanCount, r.record.size);
        this.take(r.record);
        continue;
      }
      if (r.kind === 'end') {
        if (active) return undefined;
        await this.advanceCursor();
        continue;
      }
      // Verified when written or recovered, damaged since: skip the rest of the segment.
      const lost = emptyTally();
      addTally(lost, segment.records - c.consumed.records, segment.spans - c.consumed.spans, segment.size - c.consumed.bytes);
      this.options.logger.error(
        { segment: segment.path, offset: r.offset, reason: r.reason, records: lost.records, spans: lost.spans },
        'queue: segment damaged on disk; skipping the rest of it',
      );
      addTally(this.lost, lost.records, lost.spans, lost.bytes);
      addTally(this.unreadTally, -lost.records, -lost.spans, -lost.bytes);
      addTally(c.consumed, lost.records, lost.spans, lost.bytes);
      this.lastRead = Math.max(this.lastRead, segment.lastSeq);
      if (active) {
        c.reader.position = segment.size;
        return undefined;
      }
      await this.advanceCursor();
    }
  }

  private take(rec: StoredRecord): void {
    const c = this.cursor;
    c.peeked = undefined;
    addTally(c.consumed, 1, rec.spanCount, rec.size);
    addTally(this.unreadTally, -1, -rec.spanCount, -rec.size);
    this.lastRead = rec.seq;
  }

  private async advanceCursor(): Promise<void> {
    const c = this.cursor;
    await c.fh?.close();
    this.lastRead = Math.max(this.lastRead, c.segment.lastSeq);
    const next = this.segments[this.segments.indexOf(c.segment) + 1];
    this.cursor = { segment: next, position: 0, consumed: emptyTally() };
  }
}

/** A record whose framing is intact but whose content is not authentic: skipped alone. */
interface RefusedRecord {
  kind: 'refused';
  record: StoredRecord;
  reason: string;
}

async function createSegment(dir: string, base: number): Promise<Segment> {
  const path = join(dir, segmentName(base));
  // 'w', not 'wx': a file of this name can only be left over from a roll that failed, empty.
  const fh = await open(path, 'w', 0o600);
  await fh.close();
  await syncDirectory(dir);
  return { base, path, size: 0, records: 0, spans: 0, lastSeq: 0 };
}
