import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { gunzip, inflate } from 'node:zlib';

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
 * Reads a request body, decompressing `gzip`/`deflate`, never holding more than `limit`
 * bytes of either form: a body over the limit is refused as soon as it is known, and
 * decompression stops at `limit` output bytes, so a gzip bomb is never inflated whole.
 */
export async function readBody(stream: Readable, headers: IncomingHttpHeaders, limit: number): Promise<Buffer> {
  const encoding = (headers['content-encoding'] ?? 'identity').toLowerCase().trim();
  if (!['identity', 'gzip', 'x-gzip', 'deflate'].includes(encoding)) {
    throw new BodyError(415, `unsupported Content-Encoding '${encoding}' (supported: gzip, deflate, identity)`);
  }
  const declared = Number(headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    stream.resume();
    throw new BodyError(413, `request body of ${declared} bytes exceeds the limit of ${limit} bytes`);
  }
  const raw = await collect(stream, limit);
  if (encoding === 'identity') return raw;
  const inflater = encoding === 'deflate' ? inflate : gunzip;
  return new Promise((resolve, reject) => {
    inflater(raw, { maxOutputLength: limit }, (err, out) => {
      if (!err) return resolve(out);
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        reject(new BodyError(413, `decompressed request body exceeds the limit of ${limit} bytes`));
      } else {
        reject(new BodyError(400, `invalid ${encoding} body: ${err.message}`));
      }
    });
  });
}

function collect(stream: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // Keep reading to discard the rest, so the connection can answer 413 cleanly.
        stream.removeAllListeners('data');
        stream.resume();
        reject(new BodyError(413, `request body exceeds the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    stream.on('end', () => resolve(Buffer.concat(chunks, size)));
    stream.on('error', (err) => reject(new BodyError(400, `could not read request body: ${err.message}`)));
  });
}
