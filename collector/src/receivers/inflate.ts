import { createGunzip, createInflate } from 'node:zlib';
import type { Reservation } from './in-flight-budget.js';

/** The decompressed message would exceed the size limit; nothing beyond the limit was inflated. */
export class MessageTooLargeError extends Error {}

export type ZlibFormat = 'gzip' | 'deflate';

/** zlib output chunks: large enough to keep the per-chunk overhead small. */
const CHUNK_BYTES = 64 * 1024;

/**
 * Inflates one gzip or zlib (`deflate`) message as a stream, so that the output is bounded as it
 * is produced: past `maxBytes` it rejects with MessageTooLargeError (a bomb is never inflated
 * whole), and every output chunk is reserved in the request's in-flight `reservation` first
 * (InFlightBudgetExceededError when the budget is used up). Other zlib errors reject as they are.
 */
export function inflateWithin(message: Buffer, format: ZlibFormat, maxBytes: number, reservation: Reservation): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const inflater = format === 'gzip' ? createGunzip({ chunkSize: CHUNK_BYTES }) : createInflate({ chunkSize: CHUNK_BYTES });
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      chunks.length = 0;
      inflater.destroy();
      reject(err);
    };
    inflater.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > maxBytes) return fail(new MessageTooLargeError(`decompressed size exceeds the limit of ${maxBytes} bytes`));
      try {
        reservation.take(chunk.length);
      } catch (err) {
        return fail(err as Error);
      }
      chunks.push(chunk);
    });
    inflater.on('end', () => {
      if (settled) return;
      settled = true;
      try {
        resolve(Buffer.concat(chunks, size));
      } catch (err) {
        reject(err as Error); // an allocation failure is the request's, never the process's
      }
    });
    inflater.on('error', fail);
    inflater.end(message);
  });
}
