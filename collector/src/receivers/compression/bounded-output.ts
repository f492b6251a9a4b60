import type { Reservation } from '../in-flight-budget.js';

/** The decompressed message would exceed the size limit; nothing beyond the limit was inflated. */
export class MessageTooLargeError extends Error {}

/** A compressed message that its codec cannot decode (corrupt, truncated, or a feature not supported). */
export class InvalidCompressedDataError extends Error {}

/**
 * The output of one decompression: every chunk is counted against `maxBytes` (MessageTooLargeError
 * past it) and reserved in the request's in-flight `reservation` before it is kept.
 */
export class BoundedOutput {
  private chunks: Uint8Array[] = [];
  private size = 0;

  constructor(
    readonly maxBytes: number,
    private readonly reservation: Reservation,
  ) {}

  get length(): number {
    return this.size;
  }

  /** Refuses before decoding when a codec knows up front that `bytes` more would not fit. */
  ensureRoom(bytes: number): void {
    if (this.size + bytes > this.maxBytes) throw tooLarge(this.maxBytes);
  }

  push(chunk: Uint8Array): void {
    this.ensureRoom(chunk.length);
    this.reservation.take(chunk.length);
    this.size += chunk.length;
    this.chunks.push(chunk);
  }

  /** The last `bytes` bytes produced so far (a codec's history window). */
  tail(bytes: number): Buffer {
    const parts: Uint8Array[] = [];
    let n = 0;
    for (let i = this.chunks.length - 1; i >= 0 && n < bytes; i--) {
      parts.unshift(this.chunks[i]);
      n += this.chunks[i].length;
    }
    const joined = Buffer.concat(parts, n);
    return joined.subarray(Math.max(0, n - bytes));
  }

  toBuffer(): Buffer {
    const out = Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    return out;
  }
}

export function tooLarge(maxBytes: number): MessageTooLargeError {
  return new MessageTooLargeError(`decompressed size exceeds the limit of ${maxBytes} bytes`);
}

/** Lets other requests run between slices of a long synchronous decode. */
export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
