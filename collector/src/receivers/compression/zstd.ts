import { Decompress } from 'fzstd';
import { InFlightBudgetExceededError, type Reservation } from '../in-flight-budget.js';
import { BoundedOutput, InvalidCompressedDataError, MessageTooLargeError, tooLarge, yieldToEventLoop } from './bounded-output.js';

const FRAME_MAGIC = 0xfd2fb528;
const SKIPPABLE_MAGIC = 0x184d2a50; // low 4 bits are free
/** The zstd format's recommended minimum window that every decoder supports (RFC 8878 §3.1.1.1.2). */
const ALWAYS_ACCEPTED_WINDOW_BYTES = 8 * 1024 * 1024;
/** Input fed to the decoder at once; the event loop runs between slices. */
const INPUT_SLICE_BYTES = 64 * 1024;

/**
 * Decodes one zstd message (one or more frames) with fzstd's streaming decoder, which hands over
 * each decoded block as it goes: the output stops at `maxBytes` (a bomb is refused after at most
 * one more block of 128 KiB), and each block is reserved in `reservation` first. Frame headers are
 * read before decoding, because the decoder allocates each frame's declared window up front: a
 * declared content size over the limit, or a window larger than both 8 MiB and the limit, is
 * refused at once, and the windows are reserved in `reservation` (InFlightBudgetExceededError when
 * the budget cannot hold them), so the in-flight budget bounds them like every other byte.
 */
export async function unzstdWithin(message: Buffer, maxBytes: number, reservation: Reservation): Promise<Buffer> {
  reservation.take(declaredWindowBytes(message, maxBytes));
  const out = new BoundedOutput(maxBytes, reservation);
  const decoder = new Decompress((chunk) => out.push(chunk));
  try {
    for (let offset = 0; ; offset += INPUT_SLICE_BYTES) {
      const final = offset + INPUT_SLICE_BYTES >= message.length;
      decoder.push(message.subarray(offset, offset + INPUT_SLICE_BYTES), final);
      if (final) break;
      await yieldToEventLoop();
    }
  } catch (err) {
    if (err instanceof MessageTooLargeError || err instanceof InFlightBudgetExceededError) throw err;
    // fzstd's own errors, and what corrupt input makes it throw (a RangeError from a bad offset too)
    throw new InvalidCompressedDataError(`invalid zstd data: ${(err as Error).message}`);
  }
  return out.toBuffer();
}

/**
 * Walks the frames (headers and block headers only): refuses declared sizes the limit cannot hold,
 * and returns the sum of the frames' windows, the memory the decoder allocates for them. The sum,
 * not the largest, because the decoder drops each window only to the garbage collector.
 */
function declaredWindowBytes(message: Buffer, maxBytes: number): number {
  let pos = 0;
  let declaredTotal = 0;
  let windows = 0;
  while (pos + 4 <= message.length) {
    const magic = message.readUInt32LE(pos);
    if ((magic & 0xfffffff0) >>> 0 === SKIPPABLE_MAGIC) {
      if (pos + 8 > message.length) return windows; // the decoder refuses the truncation, allocating nothing
      pos += 8 + message.readUInt32LE(pos + 4);
      continue;
    }
    if (magic !== FRAME_MAGIC) return windows; // not zstd: the decoder says so
    const descriptor = message[pos + 4] ?? 0;
    const singleSegment = (descriptor >> 5) & 1;
    const dictionaryIdBytes = [0, 1, 2, 4][descriptor & 3];
    const contentSizeFlag = descriptor >> 6;
    const contentSizeBytes = contentSizeFlag ? 1 << contentSizeFlag : singleSegment;
    // A truncated header would still make the decoder allocate the window its bytes seem to declare (up to 2 GiB).
    if (pos + 5 + (1 - singleSegment) + dictionaryIdBytes + contentSizeBytes > message.length) {
      throw new InvalidCompressedDataError('invalid zstd data: truncated frame header');
    }
    let p = pos + 5;
    let window = 0;
    if (!singleSegment) {
      const exponent = 10 + (message[p] >> 3);
      window = 2 ** exponent + (2 ** exponent / 8) * (message[p] & 7);
      p += 1;
    }
    p += dictionaryIdBytes;
    if (contentSizeBytes) {
      const size = contentSizeBytes === 8 ? Number(message.readBigUInt64LE(p)) : message.readUIntLE(p, contentSizeBytes) + (contentSizeBytes === 2 ? 256 : 0);
      declaredTotal += size;
      if (declaredTotal > maxBytes) throw tooLarge(maxBytes);
      if (singleSegment) window = size;
    }
    if (window > Math.max(maxBytes, ALWAYS_ACCEPTED_WINDOW_BYTES)) {
      throw new MessageTooLargeError(`zstd window of ${window} bytes exceeds the limit of ${Math.max(maxBytes, ALWAYS_ACCEPTED_WINDOW_BYTES)} bytes`);
    }
    windows += window;
    p += contentSizeBytes;
    for (;;) {
      if (p + 3 > message.length) return windows;
      const header = message.readUIntLE(p, 3);
      const type = (header >> 1) & 3;
      p += 3 + (type === 1 ? 1 : header >>> 3); // an RLE block stores one byte
      if (header & 1) break;
    }
    pos = p + ((descriptor >> 2) & 1) * 4; // content checksum
  }
  return windows;
}
