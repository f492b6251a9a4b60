import { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { AuthError, type Principal } from '../../auth/principal.js';
import type { IngestAuthenticator } from '../../auth/ingest-auth.js';
import { PipelineUnavailableError, QueueFullError } from '../../pipeline/stage.js';
import { DEFAULT_MAX_IN_FLIGHT_BYTES, InFlightBudget, InFlightBudgetExceededError, type Reservation } from '../in-flight-budget.js';
import type { Ingest, IngestRequest } from '../ingest.js';
import { RequestTooLargeError } from '../otlp/errors.js';
import { OtlpDecodeError, type DecodeOptions } from '../otlp/proto-decoder.js';
import { decodeJsonBody } from '../otlp/json-decoder.js';
import { encodeExportTraceResponse, exportTraceResponseJson } from '../otlp/response.js';
import { encodeExportLogsResponse, exportLogsResponseJson } from '../otlp/logs-response.js';
import type { DecodedLogs } from '../otlp/log-validation.js';
import { LogsUnimplementedError, type LogIngest } from '../../logs/log-ingest.js';
import { GrpcCode, encodeRpcStatus, rpcStatusJson } from '../rpc-status.js';
import { BodyError, readBody } from './body.js';
import type { OtlpHttpConfig } from './config.js';
import { registerCors } from './cors.js';
import { createServer } from '../../server/fastify.js';
import { listenOn } from '../../server/listen.js';

const PROTOBUF = 'application/x-protobuf';
const JSON_TYPE = 'application/json';

export interface OtlpHttpReceiverOptions {
  /** Ingest authentication (`authorization: Bearer …`), checked before the body is read; none when absent. */
  auth?: IngestAuthenticator;
  /** Counts connections refused at `limits.max_connections`. */
  onConnectionRefused?: () => void;
  /** The in-flight byte budget shared with the other receivers; one of the default size of its own when absent (tests). */
  inFlight?: InFlightBudget;
  /** The retention (and a clock, in tests) the decoders check spans' ages against; no age check when absent. */
  decode?: DecodeOptions;
  /** Where `POST /v1/logs` goes (logs/log-ingest.ts); absent: 501, this receiver takes no logs. */
  logs?: LogIngest;
}

/**
 * OTLP/HTTP on `POST /v1/traces`, protobuf or JSON, optionally compressed, answering as
 * the OTLP specification says: the response message in the request's encoding, a
 * `google.rpc.Status` body on errors, 429 with `Retry-After` under backpressure (a full
 * pipeline queue, or the in-flight byte budget shared with OTLP/gRPC used up while the body arrives).
 */
export class OtlpHttpReceiver {
  readonly server: FastifyInstance;
  address = '';
  /** The sender each request was authenticated as (kept off the request object, which the API types for its own use). */
  private readonly principals = new WeakMap<FastifyRequest, Principal>();
  private readonly inFlight: InFlightBudget;
  /** Each request's bytes in the in-flight budget, released when its response is over (sent, failed or cut). */
  private readonly reservations = new WeakMap<FastifyRequest, Reservation>();

  constructor(
    private readonly config: OtlpHttpConfig,
    private readonly ingest: Ingest,
    logger: Logger,
    private readonly options: OtlpHttpReceiverOptions = {},
  ) {
    this.server = createServer(logger, 'otlp-http', {}, {
      keyPrefix: 'receivers.otlp.http',
      tls: config.tls,
      limits: config.limits,
      onConnectionRefused: options.onConnectionRefused,
    });
    this.inFlight = options.inFlight ?? new InFlightBudget(DEFAULT_MAX_IN_FLIGHT_BYTES);
    if (config.corsOrigins?.length) {
      registerCors(this.server, '/v1/traces', config.corsOrigins);
      registerCors(this.server, '/v1/logs', config.corsOrigins);
    }
    // Released on every path: the response's 'close' comes after it is sent, and when the connection is cut.
    this.server.addHook('onRequest', (req, reply, done) => {
      const reservation = this.inFlight.open('http');
      this.reservations.set(req, reservation);
      reply.raw.once('close', () => reservation.release());
      done();
    });
    this.server.removeAllContentTypeParsers();
    this.server.addContentTypeParser([PROTOBUF, JSON_TYPE], (req, payload, done) => {
      const reservation = this.reservations.get(req);
      if (!reservation) return done(new Error('request without an in-flight reservation'));
      readBody(payload, req.headers, this.config.maxBodyBytes, reservation).then(
        (body) => done(null, body),
        (err: Error) => {
          reservation.release(); // a refused body is dropped now, not when the answer is sent
          done(err);
        },
      );
    });
    // Authentication in onRequest: before the body is read, let alone decompressed or decoded.
    this.server.post('/v1/traces', { onRequest: (req, reply) => this.authenticate(req, reply) }, (req, reply) => this.export(req, reply));
    // Logs through the same authenticator, TLS, connection limits, body limits and decompressors.
    this.server.post('/v1/logs', { onRequest: (req, reply) => this.authenticate(req, reply) }, (req, reply) => this.exportLogs(req, reply));
    this.server.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
      if (err instanceof InFlightBudgetExceededError) {
        // Backpressure, counted by the budget. The rest of the body is discarded: the connection is not reused.
        reply.header('retry-after', String(err.retryAfterSeconds));
        reply.header('connection', 'close');
        return sendStatus(req, reply, 429, GrpcCode.RESOURCE_EXHAUSTED, err.message, err.retryAfterSeconds);
      }
      const status = err instanceof BodyError ? err.statusCode : err.statusCode === 415 ? 415 : (err.statusCode ?? 500);
      const reason = status === 413 ? 'too_large' : status === 415 ? 'unsupported_media_type' : 'malformed';
      this.refused(req, reason);
      const message =
        status === 415 && !(err instanceof BodyError)
          ? `unsupported Content-Type '${(req.headers['content-type'] ?? '').slice(0, 100)}' (use ${PROTOBUF} or ${JSON_TYPE})`
          : err.message;
      if (status >= 500) req.log.error({ err }, 'OTLP/HTTP request failed');
      return sendStatus(req, reply, status, status >= 500 ? GrpcCode.INTERNAL : GrpcCode.INVALID_ARGUMENT, message);
    });
    this.server.setNotFoundHandler((req, reply) =>
      sendStatus(req, reply, 404, GrpcCode.INVALID_ARGUMENT, `no route ${req.method} ${req.url}; OTLP traces go to POST /v1/traces, logs to POST /v1/logs`),
    );
  }

  async start(): Promise<void> {
    this.address = await listenOn(this.server, this.config.endpoint);
  }

  /** Stops accepting; requests in progress finish. */
  async shutdown(): Promise<void> {
    await this.server.close();
  }

  private async authenticate(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (!this.options.auth) return;
    try {
      const principal = await this.options.auth(req.headers.authorization);
      if (principal) this.principals.set(req, principal);
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      this.refused(req, err.statusCode === 401 ? 'unauthenticated' : 'permission_denied');
      if (err.statusCode === 401) reply.header('www-authenticate', 'Bearer');
      // Not waiting for a body we will not read: the connection is not reused.
      reply.header('connection', 'close');
      await sendStatus(req, reply, err.statusCode, err.statusCode === 401 ? GrpcCode.UNAUTHENTICATED : GrpcCode.PERMISSION_DENIED, err.message);
    }
  }

  private async export(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const body = req.body;
    if (!Buffer.isBuffer(body)) {
      this.ingest.refused('http', 'unsupported_media_type');
      return sendStatus(req, reply, 415, GrpcCode.INVALID_ARGUMENT, `missing Content-Type (use ${PROTOBUF} or ${JSON_TYPE})`);
    }
    const json = isJson(req);
    let decoded: IngestRequest;
    try {
      const options = this.options.decode;
      decoded = json ? decodeJsonBody(body, options) : await this.ingest.readProtobuf('http', body, options);
    } catch (err) {
      if (err instanceof RequestTooLargeError) return sendStatus(req, reply, 413, GrpcCode.RESOURCE_EXHAUSTED, err.message);
      if (!(err instanceof OtlpDecodeError)) throw err;
      this.ingest.refused('http', 'malformed');
      return sendStatus(req, reply, 400, GrpcCode.INVALID_ARGUMENT, err.message);
    }
    try {
      await this.ingest.accept('http', decoded, { principal: this.principals.get(req), remoteAddress: req.socket.remoteAddress, bytes: body.length });
    } catch (err) {
      return refuseAccepted(req, reply, err, 'export');
    }
    if (json) return reply.code(200).type(JSON_TYPE).send(exportTraceResponseJson(decoded.rejectedSpans, decoded.rejectionMessage));
    return reply.code(200).type(PROTOBUF).send(Buffer.from(encodeExportTraceResponse(decoded.rejectedSpans, decoded.rejectionMessage)));
  }

  /** A request refused whole, counted with the spans' or the logs' metrics by its path. */
  private refused(req: FastifyRequest, reason: 'malformed' | 'too_large' | 'unsupported_media_type' | 'unauthenticated' | 'permission_denied'): void {
    if (isLogsPath(req)) this.options.logs?.refused('http', reason);
    else this.ingest.refused('http', reason);
  }

  /** `POST /v1/logs`: as export(), with the logs decoders and ExportLogsServiceResponse. */
  private async exportLogs(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const logs = this.options.logs;
    if (!logs) return sendStatus(req, reply, 501, GrpcCode.UNIMPLEMENTED, 'this collector does not take logs');
    try {
      logs.checkAvailable('http');
    } catch (err) {
      if (!(err instanceof LogsUnimplementedError)) throw err;
      return sendStatus(req, reply, 501, GrpcCode.UNIMPLEMENTED, err.message);
    }
    const body = req.body;
    if (!Buffer.isBuffer(body)) {
      logs.refused('http', 'unsupported_media_type');
      return sendStatus(req, reply, 415, GrpcCode.INVALID_ARGUMENT, `missing Content-Type (use ${PROTOBUF} or ${JSON_TYPE})`);
    }
    const json = isJson(req);
    let decoded: DecodedLogs;
    try {
      decoded = json ? logs.decodeJson(body, this.options.decode) : await logs.decodeProtobuf(body, this.options.decode);
    } catch (err) {
      if (!(err instanceof OtlpDecodeError)) throw err;
      logs.refused('http', 'malformed');
      return sendStatus(req, reply, 400, GrpcCode.INVALID_ARGUMENT, err.message);
    }
    try {
      await logs.accept('http', decoded, { principal: this.principals.get(req), remoteAddress: req.socket.remoteAddress, bytes: body.length });
    } catch (err) {
      if (err instanceof LogsUnimplementedError) return sendStatus(req, reply, 501, GrpcCode.UNIMPLEMENTED, err.message);
      return refuseAccepted(req, reply, err, 'logs export');
    }
    if (json) return reply.code(200).type(JSON_TYPE).send(exportLogsResponseJson(decoded.rejectedRecords, decoded.rejectionMessage));
    return reply.code(200).type(PROTOBUF).send(Buffer.from(encodeExportLogsResponse(decoded.rejectedRecords, decoded.rejectionMessage)));
  }
}

/** What the client is told when the pipeline refuses or fails an export (spans and logs alike); anything else is thrown on. */
function refuseAccepted(req: FastifyRequest, reply: FastifyReply, err: unknown, what: string) {
  if (err instanceof RequestTooLargeError) return sendStatus(req, reply, 413, GrpcCode.RESOURCE_EXHAUSTED, err.message);
  if (err instanceof PipelineUnavailableError) {
    req.log.error({ err }, `OTLP/HTTP ${what} failed in the pipeline; the client is told to retry`);
    reply.header('retry-after', String(err.retryAfterSeconds));
    return sendStatus(req, reply, 503, GrpcCode.UNAVAILABLE, err.message, err.retryAfterSeconds);
  }
  if (!(err instanceof QueueFullError)) throw err;
  reply.header('retry-after', String(err.retryAfterSeconds));
  return sendStatus(req, reply, 429, GrpcCode.RESOURCE_EXHAUSTED, err.message, err.retryAfterSeconds);
}

function isLogsPath(req: FastifyRequest): boolean {
  return req.url === '/v1/logs' || req.url.startsWith('/v1/logs?');
}

function isJson(req: FastifyRequest): boolean {
  return (req.headers['content-type'] ?? '').toLowerCase().startsWith(JSON_TYPE);
}

function sendStatus(req: FastifyRequest, reply: FastifyReply, http: number, code: number, message: string, retryAfter?: number) {
  reply.code(http);
  if (isJson(req) || !(req.headers['content-type'] ?? '').toLowerCase().startsWith(PROTOBUF)) {
    return reply.type(JSON_TYPE).send(rpcStatusJson(code, message, retryAfter));
  }
  return reply.type(PROTOBUF).send(encodeRpcStatus(code, message, retryAfter));
}
