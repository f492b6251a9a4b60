import { createGunzip, createInflate } from 'node:zlib';
import { InvalidCompressedDataError, MessageTooLargeError } from './compression/bounded-output.js';
import { unlz4Within } from './compression/lz4.js';
import { unsnappyWithin } from './compression/snappy.js';
import { unzstdWithin } from './compression/zstd.js';
import type { Reservation } from './in-flight-budget.js';

export { InvalidCompressedDataError, MessageTooLargeError };

export type ZlibFormat = 'gzip' | 'deflate';

/**
 * The compressions both OTLP receivers decode: everything the OpenTelemetry Collector's exporters
 * send (`configcompression`: gzip, zlib/deflate, zstd, snappy, lz4). `deflate` is the zlib format
 * (RFC 9110's `deflate`); `snappy` is either snappy format, told apart by the framing format's header.
 */
export type Codec = 'gzip' | 'deflate' | 'zstd' | 'snappy' | 'lz4';

/**
 * Decompresses one message with `codec`, never producing more than `maxBytes`
 * (MessageTooLargeError: a bomb is refused, not inflated), reserving its output in the request's
 * in-flight `reservation` as it is produced. Undecodable input rejects with an error naming the codec.
 */
export function decompressWithin(message: Buffer, codec: Codec, maxBytes: number, reservation: Reservation): Promise<Buffer> {
  switch (codec) {
    case 'gzip':
    case 'deflate':
      return inflateWithin(message, codec, maxBytes, reservation);
    case 'zstd':
      return unzstdWithin(message, maxBytes, reservation);
    case 'snappy':
      return unsnappyWithin(message, maxBytes, reservation);
    case 'lz4':
      return unlz4Within(message, maxBytes, reservation);
  }
}

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
