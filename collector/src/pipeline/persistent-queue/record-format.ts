import { crc32 } from './crc32.js';

/**
 * One record on disk: a 24-byte header, then the payload.
 *
 *   0  u32 magic 'FTQ1'     quick rejection of garbage and zeroed blocks
 *   4  u32 payload length
 *   8  u32 span count
 *  12  u32 seq, low 32 bits
 *  16  u32 seq, high bits   (seqs fit in 53 bits)
 *  20  u32 CRC-32 of bytes 0–19 and the payload
 *
 * All little-endian. The CRC covers the header too, so a torn or overwritten record is
 * detected whichever part was lost.
 */
export const HEADER_BYTES = 24;
const MAGIC = 0x31515446; // 'FTQ1' read as little-endian u32
const TWO_32 = 2 ** 32;
/** Largest payload a record can describe. */
export const MAX_PAYLOAD_BYTES = 0xffff_ffff;

export interface RecordHeader {
  length: number;
  spanCount: number;
  seq: number;
  crc: number;
}

export function encodeHeader(seq: number, spanCount: number, payload: Uint8Array): Buffer {
  const h = Buffer.allocUnsafe(HEADER_BYTES);
  h.writeUInt32LE(MAGIC, 0);
  h.writeUInt32LE(payload.length, 4);
  h.writeUInt32LE(spanCount, 8);
  h.writeUInt32LE(seq % TWO_32, 12);
  h.writeUInt32LE(Math.floor(seq / TWO_32), 16);
  h.writeUInt32LE(crc32(payload, crc32(h.subarray(0, 20))), 20);
  return h;
}

/** The header at `offset`, or undefined when the magic is wrong (not a record). */
export function decodeHeader(buf: Buffer, offset: number): RecordHeader | undefined {
  if (buf.readUInt32LE(offset) !== MAGIC) return undefined;
  return {
    length: buf.readUInt32LE(offset + 4),
    spanCount: buf.readUInt32LE(offset + 8),
    seq: buf.readUInt32LE(offset + 12) + buf.readUInt32LE(offset + 16) * TWO_32,
    crc: buf.readUInt32LE(offset + 20),
  };
}

export function checksumMatches(buf: Buffer, headerOffset: number, header: RecordHeader): boolean {
  const start = headerOffset + HEADER_BYTES;
  const actual = crc32(buf.subarray(start, start + header.length), crc32(buf.subarray(headerOffset, headerOffset + 20)));
  return actual === header.crc;
}
