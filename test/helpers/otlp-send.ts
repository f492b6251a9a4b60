import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { grpcExport } from './grpc.js';

/** What an OTLP export was answered, on either transport, with the HTTP status gRPC codes map to. */
export interface ExportOutcome {
  /** HTTP status; for gRPC: OK 200, INVALID_ARGUMENT 400, RESOURCE_EXHAUSTED 413, anything else 500 + code. */
  status: number;
  /** partial_success.rejected_spans (0 when absent). */
  rejected: number;
  /** partial_success.error_message, or the error's message. */
  message: string;
}

/** POST /v1/traces with raw bytes, answered as any OTLP client reads it. */
export async function postTraces(
  httpEndpoint: string,
  body: Uint8Array | string,
  contentType: string,
  headers: Record<string, string> = {},
): Promise<ExportOutcome> {
  const res = await fetch(`${httpEndpoint}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...headers },
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (res.status !== 200) return { status: res.status, rejected: 0, message: Buffer.from(bytes).toString('utf8') };
  if ((res.headers.get('content-type') ?? '').startsWith('application/json')) {
    const json = JSON.parse(Buffer.from(bytes).toString('utf8')) as { partialSuccess?: { rejectedSpans?: string | number; errorMessage?: string } };
    return { status: 200, rejected: Number(json.partialSuccess?.rejectedSpans ?? 0), message: json.partialSuccess?.errorMessage ?? '' };
  }
  return { status: 200, ...protobufPartialSuccess(bytes) };
}

/** One raw gRPC TraceService/Export call. */
export async function grpcTraces(grpcEndpoint: string, body: Uint8Array): Promise<ExportOutcome> {
  const { error, response } = await grpcExport(grpcEndpoint, Buffer.from(body));
  if (error) {
    const status = error.code === GrpcStatus.INVALID_ARGUMENT ? 400 : error.code === GrpcStatus.RESOURCE_EXHAUSTED ? 413 : 500 + error.code;
    return { status, rejected: 0, message: error.details };
  }
  return { status: 200, ...protobufPartialSuccess(response!) };
}

function protobufPartialSuccess(bytes: Uint8Array): { rejected: number; message: string } {
  const response = ProtobufTraceSerializer.deserializeResponse(bytes);
  return { rejected: Number(response.partialSuccess?.rejectedSpans ?? 0), message: response.partialSuccess?.errorMessage ?? '' };
}
