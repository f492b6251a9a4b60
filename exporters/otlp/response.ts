/**
 * The few protobuf messages an OTLP exporter reads back: ExportTraceServiceResponse's
 * partial_success, and google.rpc.Status with its google.rpc.RetryInfo detail (the gRPC
 * `grpc-status-details-bin` trailer, and OTLP/HTTP error bodies). Lenient: unknown fields are
 * skipped and a malformed message reads as far as it goes, since these only shape a log line
 * or a retry delay.
 */

export interface PartialSuccess {
  rejectedSpans: number;
  errorMessage: string;
}

export interface RpcStatus {
  code: number;
  message: string;
  /** From a google.rpc.RetryInfo detail, if there is one. */
  retryDelayMs?: number;
}

const RETRY_INFO_TYPE = 'type.googleapis.com/google.rpc.RetryInfo';

/** ExportTraceServiceResponse.partial_success; undefined when absent (everything accepted). */
export function parsePartialSuccess(bytes: Uint8Array): PartialSuccess | undefined {
  let partial: PartialSuccess | undefined;
  for (const f of fields(bytes)) {
    if (f.number !== 1 || f.bytes === undefined) continue;
    partial = { rejectedSpans: 0, errorMessage: '' };
    for (const g of fields(f.bytes)) {
      if (g.number === 1 && g.varint !== undefined) partial.rejectedSpans = g.varint;
      else if (g.number === 2 && g.bytes !== undefined) partial.errorMessage = utf8(g.bytes);
    }
  }
  return partial;
}

export function parseRpcStatus(bytes: Uint8Array): RpcStatus {
  const status: RpcStatus = { code: 0, message: '' };
  for (const f of fields(bytes)) {
    if (f.number === 1 && f.varint !== undefined) status.code = f.varint;
    else if (f.number === 2 && f.bytes !== undefined) status.message = utf8(f.bytes);
    else if (f.number === 3 && f.bytes !== undefined) {
      const delay = retryInfoDelayMs(f.bytes);
      if (delay !== undefined) status.retryDelayMs = delay;
    }
  }
  return status;
}

/** A google.protobuf.Any holding RetryInfo → its retry_delay in ms. */
function retryInfoDelayMs(any: Uint8Array): number | undefined {
  let type = '';
  let value: Uint8Array | undefined;
  for (const f of fields(any)) {
    if (f.number === 1 && f.bytes !== undefined) type = utf8(f.bytes);
    else if (f.number === 2 && f.bytes !== undefined) value = f.bytes;
  }
  if (type !== RETRY_INFO_TYPE || value === undefined) return undefined;
  let seconds = 0;
  let nanos = 0;
  for (const f of fields(value)) {
    if (f.number !== 1 || f.bytes === undefined) continue; // 1 retry_delay (Duration)
    for (const d of fields(f.bytes)) {
      if (d.number === 1 && d.varint !== undefined) seconds = d.varint;
      else if (d.number === 2 && d.varint !== undefined) nanos = d.varint;
    }
  }
  return Math.max(0, Math.round(seconds * 1000 + nanos / 1e6));
}

interface Field {
  number: number;
  varint?: number;
  bytes?: Uint8Array;
}

function* fields(bytes: Uint8Array): Generator<Field> {
  let pos = 0;
  while (pos < bytes.length) {
    const tag = readVarint(bytes, pos);
    if (tag === undefined) return;
    pos = tag.next;
    const number = Math.floor(tag.value / 8);
    switch (tag.value % 8) {
      case 0: {
        const v = readVarint(bytes, pos);
        if (v === undefined) return;
        pos = v.next;
        yield { number, varint: v.value };
        break;
      }
      case 1:
        pos += 8;
        break;
      case 2: {
        const length = readVarint(bytes, pos);
        if (length === undefined || length.next + length.value > bytes.length) return;
        pos = length.next + length.value;
        yield { number, bytes: bytes.subarray(length.next, pos) };
        break;
      }
      case 5:
        pos += 4;
        break;
      default:
        return; // groups and invalid wire types: stop reading
    }
  }
}

/** A varint as a number (exact up to 2^53, which counts and durations stay within). */
function readVarint(bytes: Uint8Array, pos: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10 && pos + i < bytes.length; i++) {
    const b = bytes[pos + i];
    value += (b & 0x7f) * scale;
    if (b < 0x80) return { value, next: pos + i + 1 };
    scale *= 128;
  }
  return undefined;
}

function utf8(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}
