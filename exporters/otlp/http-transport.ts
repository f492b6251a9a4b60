import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { gunzipSync, gzip } from 'node:zlib';
import { ExportError } from '../exporter.js';
import { httpExportError, networkExportError } from './classify.js';
import type { TlsMaterial } from './tls.js';
import type { Transport } from './transport.js';

const gzipAsync = promisify(gzip);
/** Responses are a small protobuf message or an error text: read no more than this. */
const MAX_RESPONSE_BYTES = 1024 * 1024;
/** Connections kept per exporter; sends run as concurrently as the queue lets them. */
const MAX_SOCKETS = 16;

export interface HttpTransportOptions {
  /** The full URL to POST to (…/v1/traces). */
  url: string;
  /** TLS material for https:// URLs. */
  tls: TlsMaterial | undefined;
  headers: Record<string, string>;
  gzip: boolean;
  timeoutMs: number;
  userAgent: string;
}

/** OTLP/HTTP binary protobuf (`POST /v1/traces`, `application/x-protobuf`) over keep-alive connections. */
export class HttpTransport implements Transport {
  private readonly agent: HttpAgent;
  private readonly https: boolean;
  private readonly headers: Record<string, string>;

  constructor(private readonly options: HttpTransportOptions) {
    this.https = options.url.startsWith('https:');
    this.agent = this.https
      ? new HttpsAgent({ keepAlive: true, maxSockets: MAX_SOCKETS, ca: options.tls?.ca, cert: options.tls?.cert, key: options.tls?.key, rejectUnauthorized: options.tls?.rejectUnauthorized ?? true })
      : new HttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS });
    // Configured headers first, so that they cannot replace the ones the protocol needs.
    this.headers = { 'user-agent': options.userAgent, ...lowerCased(options.headers), 'content-type': 'application/x-protobuf' };
    if (options.gzip) this.headers['content-encoding'] = 'gzip';
  }

  async send(payload: Buffer): Promise<Uint8Array> {
    // zlib's async API compresses on the thread pool, off the event loop.
    const body = this.options.gzip ? await gzipAsync(payload) : payload;
    return new Promise((resolve, reject) => {
      const request = (this.https ? httpsRequest : httpRequest)(this.options.url, {
        method: 'POST',
        agent: this.agent,
        headers: { ...this.headers, 'content-length': String(body.length) },
      });
      const fail = (err: Error) => {
        clearTimeout(timer);
        reject(err);
      };
      const timer = setTimeout(() => {
        fail(new ExportError(`no response within ${this.options.timeoutMs} ms`, true));
        request.destroy();
      }, this.options.timeoutMs);
      request.once('error', (err) => fail(networkExportError(err)));
      request.once('response', (response) => {
        readBody(response).then((bytes) => {
          clearTimeout(timer);
          const status = response.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve(bytes);
          const retryAfter = response.headers['retry-after'];
          reject(httpExportError(status, response.statusMessage ?? '', retryAfter, response.headers['content-type'] ?? '', bytes));
        }, (err: Error) => fail(networkExportError(err)));
      });
      request.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function lowerCased(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

/** The response body (gunzipped if the server compressed it), cut at MAX_RESPONSE_BYTES. */
function readBody(response: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      if (size < MAX_RESPONSE_BYTES) chunks.push(chunk);
      size += chunk.length;
    });
    response.once('error', reject);
    response.once('end', () => {
      const body = Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BYTES);
      if (response.headers['content-encoding'] !== 'gzip' || size > MAX_RESPONSE_BYTES) return resolve(body);
      try {
        resolve(gunzipSync(body));
      } catch {
        resolve(Buffer.alloc(0)); // an unreadable body only costs us its message
      }
    });
  });
}
