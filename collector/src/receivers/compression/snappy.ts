import { uncompressSync } from 'snappy';
import type { Reservation } from '../in-flight-budget.js';
import { BoundedOutput, InvalidCompressedDataError, yieldToEventLoop } from './bounded-output.js';
import { maskedCrc32c } from './crc32c.js';

/** The snappy framing format's first chunk: type 0xff, length 6, "sNaPpY". */
const STREAM_IDENTIFIER = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);
/** The framing format caps each chunk's decompressed data at 64 KiB. */
const MAX_CHUNK_BYTES = 65536;
const YIELD_EVERY_BYTES = 1024 * 1024;

/**
 * Decodes snappy in either of its two formats, told apart by the framing format's stream
 * identifier as the OpenTelemetry Collector's own receivers do: `Content-Encoding: snappy` means
 * the block format for Collectors with the `confighttp.framedSnappy` gate on (the default since
 * v0.125) and the framing format before, and gRPC's `snappy` is the framing format. Either way the
 * decompressed size is known before decoding (the block's length preamble; each framed chunk is at
 * most 64 KiB), so nothing over `maxBytes` is ever inflated.
 */
export async function unsnappyWithin(message: Buffer, maxBytes: number, reservation: Reservation): Promise<Buffer> {
  const out = new BoundedOutput(maxBytes, reservation);
  if (isFramed(message)) await decodeFramed(message, out);
  else decodeBlock(message, out);
  return out.toBuffer();
}

function isFramed(message: Buffer): boolean {
  return message.length >= STREAM_IDENTIFIER.length && message.subarray(0, STREAM_IDENTIFIER.length).equals(STREAM_IDENTIFIER);
}

function decodeBlock(block: Uint8Array, out: BoundedOutput): void {
  out.ensureRoom(declaredLength(block));
  out.push(uncompressBlock(block));
}

/** The block format's preamble: the decompressed length as a little-endian base-128 varint (≤ 2^32 - 1). */
function declaredLength(block: Uint8Array): number {
  let length = 0;
  for (let i = 0; i < 5 && i < block.length; i++) {
    length += (block[i] & 0x7f) * 2 ** (7 * i);
    if (!(block[i] & 0x80)) return length;
  }
  throw new InvalidCompressedDataError('invalid snappy data: bad length preamble');
}

function uncompressBlock(block: Uint8Array): Buffer {
  try {
    return uncompressSync(block, { asBuffer: true }) as Buffer;
  } catch (err) {
    throw new InvalidCompressedDataError(`invalid snappy data: ${(err as Error).message}`);
  }
}

async function decodeFramed(stream: Buffer, out: BoundedOutput): Promise<void> {
  let sinceYield = 0;
  for (let pos = 0; pos < stream.length; ) {
    if (pos + 4 > stream.length) throw new InvalidCompressedDataError('invalid snappy data: truncated chunk header');
    const type = stream[pos];
    const length = stream.readUIntLE(pos + 1, 3);
    const end = pos + 4 + length;
    if (end > stream.length) throw new InvalidCompressedDataError('invalid snappy data: truncated chunk');
    const body = stream.subarray(pos + 4, end);
    if (type === 0x00 || type === 0x01) {
      if (length < 4) throw new InvalidCompressedDataError('invalid snappy data: chunk without checksum');
      const payload = body.subarray(4);
      const size = type === 0x00 ? declaredLength(payload) : payload.length;
      if (size > MAX_CHUNK_BYTES) throw new InvalidCompressedDataError(`invalid snappy data: chunk of ${size} bytes (at most ${MAX_CHUNK_BYTES})`);
      out.ensureRoom(size);
      const chunk = type === 0x00 ? uncompressBlock(payload) : payload;
      if (maskedCrc32c(chunk) !== body.readUInt32LE(0)) throw new InvalidCompressedDataError('invalid snappy data: chunk checksum mismatch');
      out.push(chunk);
    } else if (type === 0xff) {
      if (!stream.subarray(pos, end).equals(STREAM_IDENTIFIER)) throw new InvalidCompressedDataError('invalid snappy data: bad stream identifier');
    } else if (type < 0x80) {
      throw new InvalidCompressedDataError(`invalid snappy data: reserved chunk type 0x${type.toString(16)}`);
    } // 0x80-0xfe: skippable (padding and the like)
    pos = end;
    if ((sinceYield += length) >= YIELD_EVERY_BYTES) {
      sinceYield = 0;
      await yieldToEventLoop();
    }
  }
}
