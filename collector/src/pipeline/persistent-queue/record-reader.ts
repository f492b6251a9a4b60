import type { FileHandle } from 'node:fs/promises';
import { checksumMatches, decodeHeader, HEADER_BYTES, headerBytesAt, MIN_HEADER_BYTES, SEALED_AAD_HEADER_BYTES } from './record-format.js';

export interface StoredRecord {
  seq: number;
  spanCount: number;
  /** The journal's emission number the record was appended under, 0 for none. */
  tag: number;
  /** 1 for an 'FTQ1' record (written before the journal), 2 since: what `encode` made it. */
  format: 1 | 2;
  /** The payload; a view into the reader's chunk, valid as long as it is referenced. */
  data: Buffer;
  /** Where the record starts in its segment file. */
  offset: number;
  /** Header and payload bytes. */
  size: number;
  /** Set for a sealed record: its header's authenticated bytes; `data` is then the sealed payload (segment-log.ts opens it). */
  sealed?: Buffer;
}

export type ReadResult =
  | { kind: 'record'; record: StoredRecord }
  | { kind: 'end' }
  | { kind: 'corrupt'; offset: number; reason: string };

const CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Reads records one after another from a segment file, through chunks of a few MiB so that
 * small records do not cost one read each. Never reads past `limit` (the committed size), so
 * bytes being written are never seen. Each chunk is a fresh buffer: records handed out stay
 * valid while later chunks are read.
 */
export class RecordReader {
  private buf = Buffer.alloc(0);
  /** File offset of buf[0]. */
  private bufStart = 0;

  constructor(
    private readonly fh: FileHandle,
    /** File offset of the next record. */
    public position: number,
  ) {}

  async next(limit: number): Promise<ReadResult> {
    const offset = this.position;
    if (offset >= limit) return { kind: 'end' };
    if (limit - offset < MIN_HEADER_BYTES) return { kind: 'corrupt', offset, reason: 'truncated header' };
    if (!(await this.ensure(offset, MIN_HEADER_BYTES, limit))) return { kind: 'corrupt', offset, reason: 'file shorter than expected' };
    const headerBytes = headerBytesAt(this.buf, offset - this.bufStart);
    if (headerBytes === undefined) return { kind: 'corrupt', offset, reason: 'not a record (bad magic)' };
    if (limit - offset < headerBytes) return { kind: 'corrupt', offset, reason: 'truncated header' };
    if (!(await this.ensure(offset, headerBytes, limit))) return { kind: 'corrupt', offset, reason: 'file shorter than expected' };
    const header = decodeHeader(this.buf, offset - this.bufStart)!;
    const size = headerBytes + header.length;
    if (size > limit - offset) return { kind: 'corrupt', offset, reason: 'truncated record' };
    if (!(await this.ensure(offset, size, limit))) return { kind: 'corrupt', offset, reason: 'file shorter than expected' };
    const start = offset - this.bufStart;
    if (!checksumMatches(this.buf, start, header)) return { kind: 'corrupt', offset, reason: 'checksum mismatch' };
    this.position = offset + size;
    const data = this.buf.subarray(start + headerBytes, start + size);
    const record: StoredRecord = { seq: header.seq, spanCount: header.spanCount, tag: header.tag, format: headerBytes === HEADER_BYTES ? 2 : 1, data, offset, size };
    if (header.sealed) record.sealed = this.buf.subarray(start, start + SEALED_AAD_HEADER_BYTES);
    return { kind: 'record', record };
  }

  /** Makes [offset, offset + n) available in the buffer; false when the file ends first. */
  private async ensure(offset: number, n: number, limit: number): Promise<boolean> {
    if (offset >= this.bufStart && offset + n <= this.bufStart + this.buf.length) return true;
    const size = Math.max(n, Math.min(CHUNK_BYTES, limit - offset));
    const buf = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const { bytesRead } = await this.fh.read(buf, filled, size - filled, offset + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    this.buf = buf.subarray(0, filled);
    this.bufStart = offset;
    return filled >= n;
  }
}
