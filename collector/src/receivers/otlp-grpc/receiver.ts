import type { Logger } from 'pino';
import { AuthError } from '../../auth/principal.js';
import { PipelineUnavailableError, QueueFullError } from '../../pipeline/stage.js';
import type { IngestAuthenticator } from '../../auth/ingest-auth.js';
import { DEFAULT_MAX_IN_FLIGHT_BYTES, InFlightBudget, InFlightBudgetExceededError } from '../in-flight-budget.js';
import type { Ingest } from '../ingest.js';
import { RequestTooLargeError } from '../otlp/errors.js';
import { OtlpDecodeError, type DecodeOptions } from '../otlp/proto-decoder.js';
import { encodeExportTraceResponse } from '../otlp/response.js';
import { encodeExportLogsResponse } from '../otlp/logs-response.js';
import { LogsUnimplementedError, type LogIngest } from '../../logs/log-ingest.js';
import { GrpcCode, encodeRpcStatus } from '../rpc-status.js';
import type { OtlpGrpcConfig } from './config.js';
import { GrpcError } from './status.js';
import { GrpcUnaryServer, type UnaryCall } from './unary-server.js';

export const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
export const LOGS_EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';

export interface OtlpGrpcReceiverOptions {
  /** Ingest authentication (bearer token in the `authorization` metadata); none when absent. */
  auth?: IngestAuthenticator;
  /** Counts connections refused at `limits.max_connections`. */
  onConnectionRefused?: () => void;
  /** The in-flight byte budget shared with the other receivers; one of the default size of its own when absent (tests). */
  inFlight?: InFlightBudget;
  /** The retention (and a clock, in tests) the decoders check spans' ages against; no age check when absent. */
  decode?: DecodeOptions;
  /** Where LogsService/Export goes (logs/log-ingest.ts); absent: UNIMPLEMENTED, this receiver takes no logs. */
  logs?: LogIngest;
}

/**
 * OTLP/gRPC `TraceService/Export` on our own HTTP/2 gRPC server (see GrpcUnaryServer for why
 * not grpc-js). Authentication runs on the call's metadata before the message is read;
 * the message size limit applies to the decompressed message, and its bytes count against the
 * in-flight budget shared with OTLP/HTTP as they arrive. Backpressure (a full pipeline queue or
 * in-flight budget) answers RESOURCE_EXHAUSTED with a `google.rpc.RetryInfo` detail, which
 * OpenTelemetry exporters honour as the retry delay; a failing pipeline UNAVAILABLE, which they retry too.
 */
export class OtlpGrpcReceiver {
  private readonly server: GrpcUnaryServer;
  address = '';

  constructor(
    private readonly config: OtlpGrpcConfig,
    private readonly ingest: Ingest,
    private readonly logger: Logger,
    private readonly options: OtlpGrpcReceiverOptions = {},
  ) {
    this.server = new GrpcUnaryServer(
      {
        maxMessageBytes: config.maxMessageBytes,
        inFlight: options.inFlight ?? new InFlightBudget(DEFAULT_MAX_IN_FLIGHT_BYTES),
        transport: { keyPrefix: 'receivers.otlp.grpc', tls: config.tls, limits: config.limits, onConnectionRefused: options.onConnectionRefused },
      },
      logger,
    );
    this.server.handle(EXPORT_PATH, (call) => this.export(call));
    this.server.handle(LOGS_EXPORT_PATH, (call) => this.exportLogs(call));
  }

  async start(): Promise<void> {
    this.address = await this.server.listen(this.config.endpoint);
  }

  /** Stops accepting; calls in progress finish (bounded, then forced). */
  async shutdown(timeoutMs = 10_000): Promise<void> {
    await this.server.close(timeoutMs);
  }

  private async export(call: UnaryCall): Promise<Buffer> {
    const principal = await this.authenticate(call);
    let message: Buffer;
    try {
      message = await call.readMessage();
    } catch (err) {
      // Backpressure: the budget counts the refusal; the client retries after the hint.
      if (err instanceof InFlightBudgetExceededError) {
        throw new GrpcError(GrpcCode.RESOURCE_EXHAUSTED, err.message, encodeRpcStatus(GrpcCode.RESOURCE_EXHAUSTED, err.message, err.retryAfterSeconds));
      }
      if (err instanceof GrpcError && err.code === GrpcCode.RESOURCE_EXHAUSTED && !err.details) this.ingest.refused('grpc', 'too_large');
      else if (err instanceof GrpcError && err.code === GrpcCode.INTERNAL) this.ingest.refused('grpc', 'malformed');
      throw err;
    }
    let decoded;
    try {
      decoded = await this.ingest.readProtobuf('grpc', message, this.options.decode);
    } catch (err) {
      // No RetryInfo: OTLP clients do not retry RESOURCE_EXHAUSTED without it, and this request would fail again.
      if (err instanceof RequestTooLargeError) throw new GrpcError(GrpcCode.RESOURCE_EXHAUSTED, err.message);
      this.ingest.refused('grpc', 'malformed');
      throw new GrpcError(GrpcCode.INVALID_ARGUMENT, err instanceof OtlpDecodeError ? err.message : `could not decode request: ${String(err)}`);
    }
    try {
      await this.ingest.accept('grpc', decoded, { principal, remoteAddress: call.remoteAddress, bytes: message.length });
    } catch (err) {
      throw this.acceptError(err, 'export');
    }
    return Buffer.from(encodeExportTraceResponse(decoded.rejectedSpans, decoded.rejectionMessage));
  }

  /** LogsService/Export: as export(), with the logs decoder and ExportLogsServiceResponse. */
  private async exportLogs(call: UnaryCall): Promise<Buffer> {
    const logs = this.options.logs;
    if (!logs) throw new GrpcError(GrpcCode.UNIMPLEMENTED, 'this collector does not take logs');
    const principal = await this.authenticate(call, (reason) => logs.refused('grpc', reason));
    try {
      logs.checkAvailable('grpc');
    } catch (err) {
      if (err instanceof LogsUnimplementedError) throw new GrpcError(GrpcCode.UNIMPLEMENTED, err.message);
      throw err;
    }
    let message: Buffer;
    try {
      message = await call.readMessage();
    } catch (err) {
      if (err instanceof InFlightBudgetExceededError) {
        throw new GrpcError(GrpcCode.RESOURCE_EXHAUSTED, err.message, encodeRpcStatus(GrpcCode.RESOURCE_EXHAUSTED, err.message, err.retryAfterSeconds));
      }
      if (err instanceof GrpcError && err.code === GrpcCode.RESOURCE_EXHAUSTED && !err.details) logs.refused('grpc', 'too_large');
      else if (err instanceof GrpcError && err.code === GrpcCode.INTERNAL) logs.refused('grpc', 'malformed');
      throw err;
    }
    let decoded;
    try {
      decoded = await logs.decodeProtobuf(message, this.options.decode);
    } catch (err) {
      logs.refused('grpc', 'malformed');
      throw new GrpcError(GrpcCode.INVALID_ARGUMENT, err instanceof OtlpDecodeError ? err.message : `could not decode request: ${String(err)}`);
    }
    try {
      await logs.accept('grpc', decoded, { principal, remoteAddress: call.remoteAddress, bytes: message.length });
    } catch (err) {
      if (err instanceof LogsUnimplementedError) throw new GrpcError(GrpcCode.UNIMPLEMENTED, err.message);
      throw this.acceptError(err, 'logs export');
    }
    return Buffer.from(encodeExportLogsResponse(decoded.rejectedRecords, decoded.rejectionMessage));
  }

  /** What the client is told when the pipeline refuses or fails an export (spans and logs alike). */
  private acceptError(err: unknown, what: string): GrpcError {
    // No RetryInfo: OTLP clients do not retry RESOURCE_EXHAUSTED without it, and this request would fail again.
    if (err instanceof RequestTooLargeError) return new GrpcError(GrpcCode.RESOURCE_EXHAUSTED, err.message);
    if (err instanceof QueueFullError) {
      return new GrpcError(GrpcCode.RESOURCE_EXHAUSTED, err.message, encodeRpcStatus(GrpcCode.RESOURCE_EXHAUSTED, err.message, err.retryAfterSeconds));
    }
    if (err instanceof PipelineUnavailableError) {
      this.logger.error({ err }, `OTLP/gRPC ${what} failed in the pipeline; the client is told to retry`);
      return new GrpcError(GrpcCode.UNAVAILABLE, err.message, encodeRpcStatus(GrpcCode.UNAVAILABLE, err.message, err.retryAfterSeconds));
    }
    this.logger.error({ err }, `OTLP/gRPC ${what} failed`);
    return new GrpcError(GrpcCode.INTERNAL, 'internal error');
  }

  private async authenticate(call: UnaryCall, refused: (reason: 'unauthenticated' | 'permission_denied') => void = (reason) => this.ingest.refused('grpc', reason)) {
    if (!this.options.auth) return undefined;
    const header = call.headers.authorization;
    try {
      return await this.options.auth(typeof header === 'string' ? header : undefined);
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      refused(err.statusCode === 401 ? 'unauthenticated' : 'permission_denied');
      throw new GrpcError(err.statusCode === 401 ? GrpcCode.UNAUTHENTICATED : GrpcCode.PERMISSION_DENIED, err.message);
    }
  }
}
