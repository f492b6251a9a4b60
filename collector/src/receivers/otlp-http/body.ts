import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { InFlightBudgetExceededError, type Reservation } from '../in-flight-budget.js';
import { decompressWithin, MessageTooLargeError, type Codec } from '../inflate.js';

/**
 * `Content-Encoding` → codec: every value the OpenTelemetry Collector's `otlphttp` exporter sends
 * (its `compression` setting verbatim), plus `x-gzip` (RFC 9110).
 */
const CODECS: ReadonlyMap<string, Codec> = new Map([
  ['gzip', 'gzip'],
  ['x-gzip', 'gzip'],
  ['deflate', 'deflate'],
  ['zlib', 'deflate'],
  ['zstd', 'zstd'],
  ['snappy', 'snappy'],
  ['x-snappy-framed', 'snappy'],
  ['lz4', 'lz4'],
]);
const SUPPORTED = ['identity', ...CODECS.keys()].join(', ');

/** A request the receiver refuses whole, with the HTTP status to answer. */
export class BodyError extends Error {
  constructor(
    readonly statusCode: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads a request body, decompressing it per `Content-Encoding` (CODECS), never holding more than
 * `limit` bytes of either form: a body over the limit is refused as soon as it is known, and
 * decompression stops at `limit` output bytes, so a bomb is never inflated whole.
 * Every byte received, and every byte inflated, is reserved in the request's in-flight
 * `reservation` as it comes (rejects with InFlightBudgetExceededError when the budget is used up).
 */
export async function readBody(stream: Readable, headers: IncomingHttpHeaders, limit: number, reservation: Reservation): Promise<Buffer> {
  const encoding = (headers['content-encoding'] ?? 'identity').toLowerCase().trim();
  const codec = CODECS.get(encoding);
  if (encoding !== 'identity' && !codec) {
    throw new BodyError(415, `unsupported Content-Encoding '${encoding.slice(0, 50)}' (supported: ${SUPPORTED})`);
  }
  const declared = Number(headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    stream.resume();
    throw new BodyError(413, `request body of ${declared} bytes exceeds the limit of ${limit} bytes`);
  }
  const raw = await collect(stream, limit, reservation);
  if (!codec) return raw;
  try {
    return await decompressWithin(raw, codec, limit, reservation);
  } catch (err) {
    if (err instanceof MessageTooLargeError) throw new BodyError(413, `decompressed request body exceeds the limit of ${limit} bytes`);
    if (err instanceof InFlightBudgetExceededError) throw err;
    if (err instanceof RangeError) throw outOfMemory();
    throw new BodyError(400, `invalid ${encoding} body: ${(err as Error).message}`);
  }
}

/** Memory could not be allocated for a body: the request is refused as backpressure (429, retryable), never the process. */
function outOfMemory(): InFlightBudgetExceededError {
  return new InFlightBudgetExceededError('not enough memory to receive the request body; retry later');
}

/** The body as it arrives, each chunk reserved first; the rest of a refused body is read and discarded. */
function collect(stream: Readable, limit: number, reservation: Reservation): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const refuse = (err: Error) => {
      if (settled) return;
      settled = true;
      chunks = [];
      // Keep reading to discard the rest, so the connection can answer cleanly.
      stream.removeListener('data', onData);
      stream.resume();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return refuse(new BodyError(413, `request body exceeds the limit of ${limit} bytes`));
      try {
        reservation.take(chunk.length);
      } catch (err) {
        return refuse(err as Error);
      }
      chunks.push(chunk);
    };
    stream.on('data', onData);
    stream.on('end', () => {
      if (settled) return;
      settled = true;
      try {
        resolve(Buffer.concat(chunks, size));
      } catch {
        reject(outOfMemory());
      }
    });
    stream.on('error', (err) => refuse(new BodyError(400, `could not read request body: ${err.message}`)));
    // A client gone before the end: nothing more will come.
    stream.on('close', () => refuse(new BodyError(400, 'the request body ended early: the client closed the connection')));
  });
}
