import { crc32 } from './crc32.js';

/**
 * One record on disk: a 32-byte header, then the payload.
 *
 *   0  u32 magic 'FTQ2'     quick rejection of garbage and zeroed blocks
 *   4  u32 payload length
 *   8  u32 span count
 *  12  u32 seq, low 32 bits
 *  16  u32 seq, high bits   (seqs fit in 53 bits)
 *  20  u32 tag, low 32 bits
 *  24  u32 tag, high bits   (the journal's emission number, 0 for none: pipeline/journal/)
 *  28  u32 CRC-32 of bytes 0–27 and the payload
 *
 * All little-endian. The CRC covers the header too, so a torn or overwritten record is
 * detected whichever part was lost. Records of the first format ('FTQ1': 24 bytes, no tag)
 * are still read, so a queue written by an older collector is delivered after an upgrade.
 * With `storage.encryption` on, records are 'FTQE': the same header, and the payload sealed
 * (storage/encryption/envelope.ts) with the header's first 28 bytes and the record's offset as
 * authenticated data; the CRC covers the sealed bytes, so torn writes are found as before.
 */
export const HEADER_BYTES = 32;
/** The 'FTQ1' header, read only. */
const V1_HEADER_BYTES = 24;
/** Enough to read the magic and the length of either format. */
export const MIN_HEADER_BYTES = V1_HEADER_BYTES;
const MAGIC_V2 = 0x32515446; // 'FTQ2' read as little-endian u32
const MAGIC_V1 = 0x31515446; // 'FTQ1'
const MAGIC_SEALED = 0x45515446; // 'FTQE'
/** Header bytes the authenticated data of a sealed record covers (all but the CRC). */
export const SEALED_AAD_HEADER_BYTES = 28;
const TWO_32 = 2 ** 32;
/** Largest payload a record can describe. */
export const MAX_PAYLOAD_BYTES = 0xffff_ffff;

export interface RecordHeader {
  /** Bytes of this header: 32, or 24 for an 'FTQ1' record. */
  headerBytes: number;
  length: number;
  spanCount: number;
  seq: number;
  tag: number;
  crc: number;
  /** An 'FTQE' record: the payload is sealed. */
  sealed: boolean;
}

export function encodeHeader(seq: number, spanCount: number, payload: Uint8Array, tag = 0): Buffer {
  const h = Buffer.allocUnsafe(HEADER_BYTES);
  h.writeUInt32LE(MAGIC_V2, 0);
  h.writeUInt32LE(payload.length, 4);
  h.writeUInt32LE(spanCount, 8);
  h.writeUInt32LE(seq % TWO_32, 12);
  h.writeUInt32LE(Math.floor(seq / TWO_32), 16);
  h.writeUInt32LE(tag % TWO_32, 20);
  h.writeUInt32LE(Math.floor(tag / TWO_32), 24);
  h.writeUInt32LE(crc32(payload, crc32(h.subarray(0, 28))), 28);
  return h;
}

/**
 * The header of a sealed record of `length` sealed bytes, CRC not yet written: its first 28
 * bytes are the record's authenticated data, then {@link finishSealedHeader} adds the CRC.
 */
export function startSealedHeader(seq: number, spanCount: number, length: number, tag: number): Buffer {
  const h = Buffer.allocUnsafe(HEADER_BYTES);
  h.writeUInt32LE(MAGIC_SEALED, 0);
  h.writeUInt32LE(length, 4);
  h.writeUInt32LE(spanCount, 8);
  h.writeUInt32LE(seq % TWO_32, 12);
  h.writeUInt32LE(Math.floor(seq / TWO_32), 16);
  h.writeUInt32LE(tag % TWO_32, 20);
  h.writeUInt32LE(Math.floor(tag / TWO_32), 24);
  return h;
}

/** Writes the CRC of the header and the sealed parts into the header. */
export function finishSealedHeader(h: Buffer, parts: readonly Uint8Array[]): void {
  let crc = crc32(h.subarray(0, 28));
  for (const p of parts) crc = crc32(p, crc);
  h.writeUInt32LE(crc, 28);
}

/** Bytes the header at `offset` takes, from its magic; undefined when it is not a record. */
export function headerBytesAt(buf: Buffer, offset: number): number | undefined {
  const magic = buf.readUInt32LE(offset);
  return magic === MAGIC_V2 || magic === MAGIC_SEALED ? HEADER_BYTES : magic === MAGIC_V1 ? V1_HEADER_BYTES : undefined;
}

/** The header at `offset` (all of its bytes must be in `buf`), or undefined when the magic is wrong. */
export function decodeHeader(buf: Buffer, offset: number): RecordHeader | undefined {
  const headerBytes = headerBytesAt(buf, offset);
  if (headerBytes === undefined) return undefined;
  const v2 = headerBytes === HEADER_BYTES;
  return {
    sealed: buf.readUInt32LE(offset) === MAGIC_SEALED,
    headerBytes,
    length: buf.readUInt32LE(offset + 4),
    spanCount: buf.readUInt32LE(offset + 8),
    seq: buf.readUInt32LE(offset + 12) + buf.readUInt32LE(offset + 16) * TWO_32,
    tag: v2 ? buf.readUInt32LE(offset + 20) + buf.readUInt32LE(offset + 24) * TWO_32 : 0,
    crc: buf.readUInt32LE(offset + headerBytes - 4),
  };
}

export function checksumMatches(buf: Buffer, headerOffset: number, header: RecordHeader): boolean {
  const start = headerOffset + header.headerBytes;
  const actual = crc32(buf.subarray(start, start + header.length), crc32(buf.subarray(headerOffset, headerOffset + header.headerBytes - 4)));
  return actual === header.crc;
}
