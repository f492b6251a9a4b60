/**
 * `google.rpc.Status`, which OTLP uses for error bodies over HTTP and for details over gRPC,
 * with an optional `google.rpc.RetryInfo` detail carrying the backpressure retry hint.
 * Hand-encoded: three small messages do not justify a protobuf runtime.
 */
import { bytesField, varintField } from './protobuf-fields.js';

/** gRPC status codes used by the receivers (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

export function encodeRpcStatus(code: number, message: string, retryAfterSeconds?: number): Buffer {
  const parts: Buffer[] = [];
  if (code !== 0) parts.push(varintField(1, code));
  if (message !== '') parts.push(bytesField(2, Buffer.from(message, 'utf8')));
  if (retryAfterSeconds !== undefined) parts.push(bytesField(3, retryInfoAny(retryAfterSeconds)));
  return Buffer.concat(parts);
}

/** The JSON form of the same status, for OTLP/JSON clients. */
export function rpcStatusJson(code: number, message: string, retryAfterSeconds?: number): object {
  const status: Record<string, unknown> = { code, message };
  if (retryAfterSeconds !== undefined) {
    status.details = [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retryAfterSeconds}s` }];
  }
  return status;
}

function retryInfoAny(seconds: number): Buffer {
  const duration = varintField(1, Math.max(0, Math.floor(seconds)));
  const retryInfo = bytesField(1, duration);
  return Buffer.concat([bytesField(1, Buffer.from('type.googleapis.com/google.rpc.RetryInfo')), bytesField(2, retryInfo)]);
}
