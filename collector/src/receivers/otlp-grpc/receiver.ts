import {
  Metadata,
  Server,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { PipelineUnavailableError, QueueFullError } from '../../pipeline/stage.js';
import { splitEndpoint } from '../../server/listen.js';
import type { Ingest } from '../ingest.js';
import { OtlpDecodeError, decodeTraceRequest } from '../otlp/proto-decoder.js';
import { encodeExportTraceResponse } from '../otlp/response.js';
import { encodeRpcStatus } from '../rpc-status.js';
import type { OtlpGrpcConfig } from './config.js';

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/** The service with raw bytes in and out: decoding is ours (the fast path), not protobufjs's. */
export const traceService: ServiceDefinition = {
  Export: {
    path: EXPORT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
};

type ServiceError = { code: number; details: string; metadata?: Metadata };

/**
 * OTLP/gRPC `TraceService/Export`. grpc-js decompresses gzip and enforces the message
 * size limit on the decompressed message. Backpressure answers RESOURCE_EXHAUSTED with
 * a `google.rpc.RetryInfo` detail, which OpenTelemetry exporters honour as the retry delay.
 */
export class OtlpGrpcReceiver {
  private readonly server: Server;
  address = '';

  constructor(
    private readonly config: OtlpGrpcConfig,
    private readonly ingest: Ingest,
    private readonly logger: Logger,
  ) {
    this.server = new Server({
      'grpc.max_receive_message_length': config.maxMessageBytes,
      'grpc.max_send_message_length': 4 * 1024 * 1024,
    });
    this.server.addService(traceService, { Export: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => void this.export(call, cb) });
  }

  async start(): Promise<void> {
    const { host, port } = splitEndpoint(this.config.endpoint);
    const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    const bound = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(target, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.address = `${host.includes(':') ? `[${host}]` : host}:${bound}`;
  }

  /** Stops accepting; calls in progress finish (bounded, then forced). */
  async shutdown(timeoutMs = 10_000): Promise<void> {
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, timeoutMs);
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  private async export(call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>): Promise<void> {
    let decoded;
    try {
      decoded = decodeTraceRequest(call.request);
    } catch (err) {
      this.ingest.refused('grpc', 'malformed');
      const message = err instanceof OtlpDecodeError ? err.message : `could not decode request: ${String(err)}`;
      return callback({ code: status.INVALID_ARGUMENT, details: message } as ServiceError);
    }
    try {
      await this.ingest.accept('grpc', decoded);
    } catch (err) {
      if (err instanceof QueueFullError) {
        const metadata = new Metadata();
        metadata.set('grpc-status-details-bin', encodeRpcStatus(status.RESOURCE_EXHAUSTED, err.message, err.retryAfterSeconds));
        return callback({ code: status.RESOURCE_EXHAUSTED, details: err.message, metadata } as ServiceError);
      }
      if (err instanceof PipelineUnavailableError) {
        this.logger.error({ err }, 'OTLP/gRPC export failed in the pipeline; the client is told to retry');
        const metadata = new Metadata();
        metadata.set('grpc-status-details-bin', encodeRpcStatus(status.UNAVAILABLE, err.message, err.retryAfterSeconds));
        return callback({ code: status.UNAVAILABLE, details: err.message, metadata } as ServiceError);
      }
      this.logger.error({ err }, 'OTLP/gRPC export failed');
      return callback({ code: status.INTERNAL, details: 'internal error' } as ServiceError);
    }
    callback(null, Buffer.from(encodeExportTraceResponse(decoded.rejectedSpans, decoded.rejectionMessage)));
  }
}
