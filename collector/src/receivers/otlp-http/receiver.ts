import { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { PipelineUnavailableError, QueueFullError } from '../../pipeline/stage.js';
import type { Ingest } from '../ingest.js';
import { OtlpDecodeError, decodeTraceRequest, type DecodedTraces } from '../otlp/proto-decoder.js';
import { decodeTraceRequestJson } from '../otlp/json-decoder.js';
import { encodeExportTraceResponse, exportTraceResponseJson } from '../otlp/response.js';
import { GrpcCode, encodeRpcStatus, rpcStatusJson } from '../rpc-status.js';
import { BodyError, readBody } from './body.js';
import type { OtlpHttpConfig } from './config.js';
import { createServer } from '../../server/fastify.js';
import { listenOn } from '../../server/listen.js';

const PROTOBUF = 'application/x-protobuf';
const JSON_TYPE = 'application/json';

/**
 * OTLP/HTTP on `POST /v1/traces`, protobuf or JSON, optionally compressed, answering as
 * the OTLP specification says: the response message in the request's encoding, a
 * `google.rpc.Status` body on errors, 429 with `Retry-After` under backpressure.
 */
export class OtlpHttpReceiver {
  readonly server: FastifyInstance;
  address = '';

  constructor(
    private readonly config: OtlpHttpConfig,
    private readonly ingest: Ingest,
    logger: Logger,
  ) {
    this.server = createServer(logger, 'otlp-http');
    this.server.removeAllContentTypeParsers();
    this.server.addContentTypeParser([PROTOBUF, JSON_TYPE], (req, payload, done) => {
      readBody(payload, req.headers, this.config.maxBodyBytes).then(
        (body) => done(null, body),
        (err: Error) => done(err),
      );
    });
    this.server.post('/v1/traces', (req, reply) => this.export(req, reply));
    this.server.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
      const status = err instanceof BodyError ? err.statusCode : err.statusCode === 415 ? 415 : (err.statusCode ?? 500);
      const reason = status === 413 ? 'too_large' : status === 415 ? 'unsupported_media_type' : 'malformed';
      this.ingest.refused('http', reason);
      const message =
        status === 415 && !(err instanceof BodyError)
          ? `unsupported Content-Type '${req.headers['content-type'] ?? ''}' (use ${PROTOBUF} or ${JSON_TYPE})`
          : err.message;
      if (status >= 500) req.log.error({ err }, 'OTLP/HTTP request failed');
      return sendStatus(req, reply, status, status >= 500 ? GrpcCode.INTERNAL : GrpcCode.INVALID_ARGUMENT, message);
    });
    this.server.setNotFoundHandler((req, reply) =>
      sendStatus(req, reply, 404, GrpcCode.INVALID_ARGUMENT, `no route ${req.method} ${req.url}; OTLP traces go to POST /v1/traces`),
    );
  }

  async start(): Promise<void> {
    this.address = await listenOn(this.server, this.config.endpoint);
  }

  /** Stops accepting; requests in progress finish. */
  async shutdown(): Promise<void> {
    await this.server.close();
  }

  private async export(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const body = req.body;
    if (!Buffer.isBuffer(body)) {
      this.ingest.refused('http', 'unsupported_media_type');
      return sendStatus(req, reply, 415, GrpcCode.INVALID_ARGUMENT, `missing Content-Type (use ${PROTOBUF} or ${JSON_TYPE})`);
    }
    const json = isJson(req);
    let decoded: DecodedTraces;
    try {
      decoded = json ? decodeTraceRequestJson(parseJson(body)) : decodeTraceRequest(body);
    } catch (err) {
      if (!(err instanceof OtlpDecodeError)) throw err;
      this.ingest.refused('http', 'malformed');
      return sendStatus(req, reply, 400, GrpcCode.INVALID_ARGUMENT, err.message);
    }
    try {
      await this.ingest.accept('http', decoded);
    } catch (err) {
      if (err instanceof PipelineUnavailableError) {
        req.log.error({ err }, 'OTLP/HTTP export failed in the pipeline; the client is told to retry');
        reply.header('retry-after', String(err.retryAfterSeconds));
        return sendStatus(req, reply, 503, GrpcCode.UNAVAILABLE, err.message, err.retryAfterSeconds);
      }
      if (!(err instanceof QueueFullError)) throw err;
      reply.header('retry-after', String(err.retryAfterSeconds));
      return sendStatus(req, reply, 429, GrpcCode.RESOURCE_EXHAUSTED, err.message, err.retryAfterSeconds);
    }
    if (json) return reply.code(200).type(JSON_TYPE).send(exportTraceResponseJson(decoded.rejectedSpans, decoded.rejectionMessage));
    return reply.code(200).type(PROTOBUF).send(Buffer.from(encodeExportTraceResponse(decoded.rejectedSpans, decoded.rejectionMessage)));
  }
}

function isJson(req: FastifyRequest): boolean {
  return (req.headers['content-type'] ?? '').toLowerCase().startsWith(JSON_TYPE);
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new OtlpDecodeError(`invalid JSON body: ${(err as Error).message}`);
  }
}

function sendStatus(req: FastifyRequest, reply: FastifyReply, http: number, code: number, message: string, retryAfter?: number) {
  reply.code(http);
  if (isJson(req) || !(req.headers['content-type'] ?? '').toLowerCase().startsWith(PROTOBUF)) {
    return reply.type(JSON_TYPE).send(rpcStatusJson(code, message, retryAfter));
  }
  return reply.type(PROTOBUF).send(encodeRpcStatus(code, message, retryAfter));
}
