import {
  constants,
  createSecureServer,
  createServer,
  type Http2SecureServer,
  type Http2Server,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Logger } from 'pino';
import { capConnections } from '../../server/limits.js';
import type { PortTransport } from '../../server/fastify.js';
import { LISTEN_BACKLOG, splitEndpoint } from '../../server/listen.js';
import { TlsFiles } from '../../server/tls.js';
import { Decompressors, MessageTooLargeError } from './compression.js';
import { InFlightBudgetExceededError, IN_FLIGHT_RETRY_SECONDS, type InFlightBudget, type Reservation } from '../in-flight-budget.js';
import { GrpcCode, encodeRpcStatus } from '../rpc-status.js';
import { GrpcError, parseGrpcTimeout, percentEncode } from './status.js';

/** One unary call as the handler sees it: the head first, the message only when asked for. */
export interface UnaryCall {
  readonly headers: IncomingHttpHeaders;
  readonly remoteAddress?: string;
  /**
   * Reads the one request message and decompresses it, reserving its bytes in the in-flight
   * budget as they arrive. Rejects with GrpcError: RESOURCE_EXHAUSTED over the size limit
   * (known from the length prefix or while inflating, never after inflating it all), INTERNAL
   * for a framing violation; or with InFlightBudgetExceededError when the budget is used up.
   */
  readMessage(): Promise<Buffer>;
}

/** Answers a call with the response message, or throws GrpcError for a status. */
export type UnaryHandler = (call: UnaryCall) => Promise<Buffer>;

export interface GrpcUnaryServerOptions {
  /** Largest request message, after decompression. */
  maxMessageBytes: number;
  /** Bytes of requests held at once, shared with the other receivers; each call's are released when it ends. */
  inFlight: InFlightBudget;
  transport: PortTransport;
}

const CONTENT_TYPE = /^application\/grpc(\+proto)?(;|$)/;
/**
 * Concurrent calls one connection may have open (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS). OTLP
 * exporters send one export at a time per connection, a few with concurrency; 16 leaves room
 * for those while one connection cannot open the hundreds of calls gRPC's default allows.
 */
const MAX_CONCURRENT_STREAMS = 16;

/**
 * HTTP/2 flow-control windows. With the protocol's default of 64 KiB a 500-span export
 * (≈ 300 KB) needs five WINDOW_UPDATE round trips, each waiting for a turn of the event loop
 * that is busy decoding other requests: under mixed load gRPC clients got 10–20× fewer requests
 * through than HTTP/1.1 ones, whose bodies TCP alone paces (`npm run bench:sidebyside`). A
 * stream window that holds a typical request and a connection window for a few of them let a
 * message arrive in one go, as grpc-go's BDP-sized windows do. Memory stays bounded by the
 * in-flight budget (bytes are reserved as they are read) and `MAX_SESSION_MEMORY_MB`.
 */
const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
const CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;
/** nghttp2's per-connection buffer cap (Node's default is 10 MB): above the connection window. */
const MAX_SESSION_MEMORY_MB = 32;

/**
 * A gRPC server for unary calls, written on `node:http2` rather than grpc-js because what
 * comes next needs control grpc-js does not give: request compression beyond gzip/deflate
 * (zstd, snappy: the `Decompressors` registry), scheduling between gRPC and HTTP intake in
 * one place, and the same TLS, connection limits and timeouts as the HTTP ports.
 * Speaks HTTP/2 with prior knowledge (h2c) or over TLS with ALPN `h2`; messages are the
 * 5-byte length-prefixed frames of the gRPC-over-HTTP/2 protocol; statuses go in trailers
 * (or trailers-only responses for errors).
 */
export class GrpcUnaryServer {
  readonly decompressors = new Decompressors();
  private readonly server: Http2Server | Http2SecureServer;
  private readonly tls?: TlsFiles;
  private readonly routes = new Map<string, UnaryHandler>();
  private readonly sessions = new Set<Http2Session>();
  /** Streams open per session, so an idle timeout never cuts a call in flight. */
  private readonly openStreams = new WeakMap<Http2Session, number>();

  constructor(
    private readonly options: GrpcUnaryServerOptions,
    private readonly logger: Logger,
  ) {
    const { transport } = options;
    const limits = transport.limits;
    const http2Options = {
      settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS, maxHeaderListSize: 16 * 1024, initialWindowSize: STREAM_WINDOW_BYTES },
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
      ...(limits ? { handshakeTimeout: limits.headers_timeout_seconds * 1000 } : {}),
    };
    if (TlsFiles.enabled(transport.tls)) {
      this.tls = new TlsFiles(transport.tls, transport.keyPrefix);
      const secure = createSecureServer({ ...http2Options, ...this.tls.serverOptions(), allowHTTP1: false, ALPNProtocols: ['h2'] });
      this.tls.watch(secure, logger);
      this.server = secure;
    } else {
      this.server = createServer(http2Options);
    }
    if (limits) capConnections(this.server, limits, transport.onConnectionRefused);
    this.server.on('session', (session) => this.onSession(session));
    this.server.on('stream', (stream, headers) => this.onStream(stream, headers));
  }

  handle(path: string, handler: UnaryHandler): void {
    this.routes.set(path, handler);
  }

  /** Listens on `host:port` and returns the bound `host:port`. */
  async listen(endpoint: string): Promise<string> {
    const { host, port } = splitEndpoint(endpoint);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address();
    const bound = address !== null && typeof address !== 'string' ? address.port : port;
    return `${host.includes(':') ? `[${host}]` : host}:${bound}`;
  }

  /** Stops accepting; calls in flight finish (GOAWAY), sessions still open after `timeoutMs` are destroyed. */
  async close(timeoutMs = 10_000): Promise<void> {
    this.tls?.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const session of this.sessions) session.close();
    const force = setTimeout(() => {
      for (const session of this.sessions) session.destroy();
    }, timeoutMs);
    await closed.catch(() => undefined);
    clearTimeout(force);
  }

  private onSession(session: Http2Session): void {
    this.sessions.add(session);
    this.openStreams.set(session, 0);
    // The connection-level window is not a SETTINGS value: it grows by a WINDOW_UPDATE on stream 0.
    session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
    session.on('close', () => this.sessions.delete(session));
    session.on('error', () => undefined); // a client going away mid-frame; the stream handlers answer what they can
    const limits = this.options.transport.limits;
    if (!limits) return;
    // A connection that never sends a request head is closed after the headers timeout.
    const headersTimer = setTimeout(() => session.destroy(), limits.headers_timeout_seconds * 1000);
    session.once('stream', () => clearTimeout(headersTimer));
    session.once('close', () => clearTimeout(headersTimer));
    // No frames for the idle timeout and no call open: close gracefully (GOAWAY).
    session.setTimeout(limits.idle_timeout_seconds * 1000, () => {
      if ((this.openStreams.get(session) ?? 0) === 0) session.close();
    });
  }

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const session = stream.session;
    if (session) {
      this.openStreams.set(session, (this.openStreams.get(session) ?? 0) + 1);
      stream.once('close', () => this.openStreams.set(session, (this.openStreams.get(session) ?? 1) - 1));
    }
    stream.on('error', () => undefined); // reset by the client; nothing left to answer

    if (!CONTENT_TYPE.test(String(headers['content-type'] ?? ''))) {
      // The gRPC spec's answer to a request that is not gRPC: HTTP 415.
      if (!stream.headersSent) stream.respond({ ':status': 415, 'content-type': 'text/plain' });
      stream.end(`unsupported content-type '${String(headers['content-type'] ?? '').slice(0, 100)}': this port speaks gRPC (application/grpc)\n`);
      return;
    }
    const path = String(headers[':path'] ?? '');
    const handler = headers[':method'] === 'POST' ? this.routes.get(path) : undefined;
    if (!handler) return this.fail(stream, new GrpcError(GrpcCode.UNIMPLEMENTED, `unknown method ${path.slice(0, 200)}`));
    const encoding = String(headers['grpc-encoding'] ?? 'identity');
    if (encoding !== 'identity' && !this.decompressors.get(encoding)) {
      return this.fail(stream, new GrpcError(GrpcCode.UNIMPLEMENTED, `unsupported grpc-encoding '${encoding.slice(0, 50)}' (supported: ${this.decompressors.names().join(', ')})`));
    }

    const timers: NodeJS.Timeout[] = [];
    stream.once('close', () => timers.forEach(clearTimeout));
    const limits = this.options.transport.limits;
    const deadlineMs = parseGrpcTimeout(headers['grpc-timeout']);
    // A deadline beyond the request timeout is simply the request timeout, which comes first.
    if (deadlineMs !== undefined && (!limits || deadlineMs < limits.request_timeout_seconds * 1000)) {
      timers.push(setTimeout(() => this.fail(stream, new GrpcError(GrpcCode.DEADLINE_EXCEEDED, 'deadline exceeded')), deadlineMs));
    }
    let bodyReceived = false;
    if (limits) {
      // A slow body (slowloris) is cut at the request timeout, whether or not the handler reads it yet.
      timers.push(
        setTimeout(() => {
          if (!bodyReceived) this.fail(stream, new GrpcError(GrpcCode.DEADLINE_EXCEEDED, `request not received within ${limits.request_timeout_seconds} s`));
        }, limits.request_timeout_seconds * 1000),
      );
    }

    // The call's bytes, released once the handler is done with them, whichever way it ends
    // (answered, refused, timed out, or cancelled: reading then rejects with CANCELLED).
    const reservation = this.options.inFlight.open('grpc');
    const call: UnaryCall = {
      headers,
      remoteAddress: session?.socket?.remoteAddress,
      readMessage: async () => {
        const { compressed, payload } = await readFrame(stream, this.options.maxMessageBytes, reservation);
        bodyReceived = true;
        if (!compressed) return payload;
        const decompress = this.decompressors.get(encoding);
        if (!decompress) throw new GrpcError(GrpcCode.INTERNAL, 'message flagged compressed without a grpc-encoding');
        try {
          return await decompress(payload, this.options.maxMessageBytes, reservation);
        } catch (err) {
          if (err instanceof MessageTooLargeError) throw new GrpcError(GrpcCode.RESOURCE_EXHAUSTED, err.message);
          if (err instanceof InFlightBudgetExceededError) throw err;
          if (err instanceof RangeError) throw outOfMemory();
          throw new GrpcError(GrpcCode.INTERNAL, `could not decompress the ${encoding} message: ${(err as Error).message}`);
        }
      },
    };
    handler(call).then(
      (response) => {
        reservation.release();
        this.reply(stream, response);
      },
      (err: unknown) => {
        reservation.release();
        if (err instanceof GrpcError) return this.fail(stream, err);
        this.logger.error({ err, path }, 'gRPC call failed');
        this.fail(stream, new GrpcError(GrpcCode.INTERNAL, 'internal error'));
      },
    );
  }

  private reply(stream: ServerHttp2Stream, message: Buffer): void {
    if (stream.headersSent || stream.destroyed || stream.closed) return;
    stream.respond(
      { ':status': 200, 'content-type': 'application/grpc', 'grpc-accept-encoding': this.decompressors.names().join(',') },
      { waitForTrailers: true },
    );
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': String(GrpcCode.OK) }));
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(message.length, 1);
    stream.end(Buffer.concat([prefix, message]));
  }

  /** A trailers-only response carrying the status; then stops the client's upload if it is still sending. */
  private fail(stream: ServerHttp2Stream, error: GrpcError): void {
    if (stream.headersSent || stream.destroyed || stream.closed) return;
    const trailers: Record<string, string> = {
      ':status': '200',
      'content-type': 'application/grpc',
      'grpc-status': String(error.code),
      'grpc-message': percentEncode(error.message),
      'grpc-accept-encoding': this.decompressors.names().join(','),
    };
    if (error.details) trailers['grpc-status-details-bin'] = error.details.toString('base64').replace(/=+$/, '');
    stream.respond(trailers, { endStream: true });
    // As grpc-go: the status is final, the rest of the request is not wanted.
    if (!stream.readableEnded) stream.close(constants.NGHTTP2_NO_ERROR);
  }
}

/** Memory could not be allocated for a message: the call fails (retryably), never the process. */
function outOfMemory(): GrpcError {
  const message = 'not enough memory to receive the message; retry later';
  return new GrpcError(GrpcCode.RESOURCE_EXHAUSTED, message, encodeRpcStatus(GrpcCode.RESOURCE_EXHAUSTED, message, IN_FLIGHT_RETRY_SECONDS));
}

const PREFIX_BYTES = 5;

/**
 * Reads exactly one length-prefixed message (unary call) from the request stream. The buffer
 * grows as chunks arrive, each reserved in the call's in-flight `reservation` first, and is
 * joined at the end: the length prefix is only a promise, so nothing is allocated from it. A
 * prefix over `maxBytes` is refused before the body arrives.
 */
function readFrame(stream: ServerHttp2Stream, maxBytes: number, reservation: Reservation): Promise<{ compressed: boolean; payload: Buffer }> {
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] = [];
    let received = 0;
    /** The message length, once the prefix is in. */
    let length: number | undefined;
    let compressed = false;
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onClose);
      if (err) {
        chunks = [];
        return reject(err);
      }
      try {
        resolve({ compressed, payload: Buffer.concat(chunks, received).subarray(PREFIX_BYTES) });
      } catch {
        reject(outOfMemory());
      }
    };
    const onData = (chunk: Buffer) => {
      try {
        reservation.take(chunk.length);
      } catch (err) {
        return finish(err as Error);
      }
      chunks.push(chunk);
      received += chunk.length;
      if (length === undefined && received >= PREFIX_BYTES) {
        const head = prefixOf(chunks);
        compressed = head[0] === 1;
        length = head.readUInt32BE(1);
        if (length > maxBytes) return finish(new GrpcError(GrpcCode.RESOURCE_EXHAUSTED, `message of ${length} bytes exceeds the limit of ${maxBytes} bytes`));
      }
      if (length !== undefined && received - PREFIX_BYTES > length) return finish(new GrpcError(GrpcCode.INTERNAL, 'more than one message in a unary call'));
    };
    const onEnd = () => {
      if (length === undefined) return finish(new GrpcError(GrpcCode.INTERNAL, 'unary call without a request message'));
      if (received - PREFIX_BYTES < length) return finish(new GrpcError(GrpcCode.INTERNAL, `truncated message: ${received - PREFIX_BYTES} of ${length} bytes`));
      finish();
    };
    const onClose = () => finish(new GrpcError(GrpcCode.CANCELLED, 'the client cancelled the call'));
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('close', onClose);
  });
}

/** The 5-byte message prefix from the first chunks (which hold at least 5 bytes). */
function prefixOf(chunks: readonly Buffer[]): Buffer {
  const head = Buffer.alloc(PREFIX_BYTES);
  let filled = 0;
  for (const chunk of chunks) {
    filled += chunk.copy(head, filled);
    if (filled >= PREFIX_BYTES) break;
  }
  return head;
}
