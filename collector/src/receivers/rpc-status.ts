/**
 * `google.rpc.Status`, which OTLP uses for error bodies over HTTP and for details over gRPC,
 * with an optional `google.rpc.RetryInfo` detail carrying the backpressure retry hint.
 * Hand-encoded: three small messages do not justify a protobuf runtime.
 */

/** gRPC status codes used by the receivers. */
export const GrpcCode = { INVALID_ARGUMENT: 3, RESOURCE_EXHAUSTED: 8, INTERNAL: 13, UNAVAILABLE: 14 } as const;

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

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

function varintField(field: number, value: number): Buffer {
  return Buffer.concat([varint(field << 3), varint(value)]);
}

function bytesField(field: number, value: Buffer): Buffer {
  return Buffer.concat([varint((field << 3) | 2), varint(value.length), value]);
}
