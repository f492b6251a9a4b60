import { uncompressSync } from 'lz4-napi';
import { InFlightBudgetExceededError, type Reservation } from '../in-flight-budget.js';
import { BoundedOutput, InvalidCompressedDataError, MessageTooLargeError, tooLarge, yieldToEventLoop } from './bounded-output.js';

const FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MAGIC = 0x184d2a50; // low 4 bits are free
/** Block maximum sizes by the frame descriptor's BD code (4..7). */
const BLOCK_MAX_BYTES: Record<number, number> = { 4: 64 * 1024, 5: 256 * 1024, 6: 1024 * 1024, 7: 4 * 1024 * 1024 };
/** A dependent block may copy from the previous 64 KiB of output. */
const HISTORY_BYTES = 64 * 1024;

/**
 * Decodes one LZ4 frame-format message (one or more frames; what the OpenTelemetry Collector's
 * `lz4` and pierrec/lz4 write). The frame is parsed here, because LZ4 libraries decode a frame
 * whole; each block is decoded by lz4-napi (lz4_flex) into at most the frame's declared block size
 * (≤ 4 MiB), and the output stops at `maxBytes`, so a bomb is refused after at most one block.
 * Checksums are not verified (lz4_flex bounds every copy; the protobuf decoder validates the rest).
 */
export async function unlz4Within(message: Buffer, maxBytes: number, reservation: Reservation): Promise<Buffer> {
  const out = new BoundedOutput(maxBytes, reservation);
  let pos = 0;
  while (pos < message.length) {
    need(message, pos, 8);
    const magic = message.readUInt32LE(pos);
    if ((magic & 0xfffffff0) >>> 0 === SKIPPABLE_MAGIC) {
      pos += 8 + message.readUInt32LE(pos + 4);
      continue;
    }
    if (magic !== FRAME_MAGIC) throw invalid('not an LZ4 frame');
    pos = await decodeFrame(message, pos + 4, out);
  }
  return out.toBuffer();
}

/** Decodes the frame whose descriptor starts at `pos`; returns the position after it. */
async function decodeFrame(message: Buffer, pos: number, out: BoundedOutput): Promise<number> {
  need(message, pos, 3);
  const flags = message[pos];
  if (flags >> 6 !== 1) throw invalid(`unsupported frame version ${flags >> 6}`);
  const independentBlocks = (flags >> 5) & 1;
  const blockChecksums = (flags >> 4) & 1;
  const hasContentSize = (flags >> 3) & 1;
  const contentChecksum = (flags >> 2) & 1;
  if (flags & 1) throw invalid('frames with a dictionary ID are not supported');
  const blockMax = BLOCK_MAX_BYTES[(message[pos + 1] >> 4) & 7];
  if (!blockMax) throw invalid('bad block maximum size');
  pos += 2;
  if (hasContentSize) {
    need(message, pos, 8);
    const contentSize = message.readBigUInt64LE(pos);
    if (contentSize > BigInt(out.maxBytes - out.length)) throw tooLarge(out.maxBytes);
    pos += 8;
  }
  pos += 1; // header checksum
  for (;;) {
    need(message, pos, 4);
    const word = message.readUInt32LE(pos);
    pos += 4;
    if (word === 0) break; // end mark
    const size = word & 0x7fffffff;
    need(message, pos, size);
    const data = message.subarray(pos, pos + size);
    pos += size + blockChecksums * 4;
    if (word & 0x80000000) {
      if (size > blockMax) throw invalid('block larger than the frame allows');
      out.push(data);
    } else {
      out.push(uncompressBlock(data, blockMax, independentBlocks ? undefined : out.tail(HISTORY_BYTES)));
      await yieldToEventLoop();
    }
  }
  return pos + contentChecksum * 4;
}

function uncompressBlock(block: Buffer, blockMax: number, history: Buffer | undefined): Buffer {
  // lz4-napi's block API takes the output bound as a 4-byte little-endian prefix.
  const input = Buffer.allocUnsafe(4 + block.length);
  input.writeUInt32LE(blockMax, 0);
  block.copy(input, 4);
  try {
    return uncompressSync(input, history);
  } catch (err) {
    if (err instanceof MessageTooLargeError || err instanceof InFlightBudgetExceededError) throw err;
    throw invalid((err as Error).message);
  }
}

function need(message: Buffer, pos: number, bytes: number): void {
  if (pos + bytes > message.length) throw invalid('truncated frame');
}

function invalid(why: string): InvalidCompressedDataError {
  return new InvalidCompressedDataError(`invalid lz4 data: ${why}`);
}
