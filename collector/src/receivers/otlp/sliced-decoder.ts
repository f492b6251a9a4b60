/**
 * Decoding a large OTLP protobuf request without holding the event loop for its whole length:
 * the request is cut, at message boundaries, into smaller requests of about `sliceBytes`
 * (by resource, then by scope, then by runs of spans), each decoded by the ordinary decoder,
 * with a turn of the event loop between slices. A slice of a resource or scope repeats that
 * resource's or scope's other fields, so every slice decodes to exactly the spans it holds.
 * A 10 MB request otherwise blocks `/healthz` (and every other request) for ~100 ms of decoding.
 * The same slicing serves both paths: decoding into spans and transcoding into storage rows;
 * and logs requests, whose nesting is the same (ExportLogsServiceRequest.resource_logs = 1,
 * ResourceLogs.scope_logs = 2, ScopeLogs.log_records = 2).
 */
import { bytesField } from '../protobuf-fields.js';
import { SpanSummaries } from '../../model/span-summaries.js';
import { decodeTraceRequest, OtlpDecodeError, type DecodedTraces, type DecodeOptions } from './proto-decoder.js';
import { transcodeTraceRequest, type TranscodedTraces } from './rowbinary-transcoder.js';
import { decodeLogsRequest } from './logs-proto-decoder.js';
import type { DecodedLogs } from './log-validation.js';

/** About 5 ms of decoding on one core. */
export const SLICE_BYTES = 256 * 1024;
/** Longest partial-success message assembled from the slices' messages. */
const MAX_MESSAGE_CHARS = 4096;

/**
 * ExportTraceServiceRequest.resource_spans, ResourceSpans.scope_spans, ScopeSpans.spans — and
 * the same field numbers for resource_logs, scope_logs and log_records.
 */
const LEVELS = [1, 2, 2];

export function decodeTraceRequestInSlices(bytes: Uint8Array, sliceBytes = SLICE_BYTES, options?: DecodeOptions): Promise<DecodedTraces> {
  return inSlices(bytes, sliceBytes, (slice) => decodeTraceRequest(slice, options), (parts, outcome) => {
    const spans: DecodedTraces['spans'] = [];
    for (const part of parts) for (const span of part.spans) spans.push(span);
    return { spans, ...outcome };
  });
}

/**
 * The same for the storage-rows path (rowbinary-transcoder.ts): slices transcoded one by one,
 * their rows concatenated — rows are independent, so the result is the whole request's.
 */
export function transcodeTraceRequestInSlices(bytes: Uint8Array, sliceBytes = SLICE_BYTES, options?: DecodeOptions): Promise<TranscodedTraces> {
  // The rows limit holds for the whole request: each slice gets what the ones before left.
  let written = 0;
  const transcode = (slice: Uint8Array): TranscodedTraces => {
    if (slice === bytes) written = 0; // the whole request (unsliced, or again after a malformed slice)
    const maxRowBytes = options?.maxRowBytes === undefined ? undefined : options.maxRowBytes - written;
    const part = transcodeTraceRequest(slice, maxRowBytes === undefined ? options : { ...options, maxRowBytes });
    written += part.rowBinary.length;
    return part;
  };
  return inSlices(bytes, sliceBytes, transcode, (parts, outcome) => {
    const rowBinary = parts.length === 1 ? parts[0]!.rowBinary : Buffer.concat(parts.map((p) => p.rowBinary));
    const summary = SpanSummaries.concat(rowBinary, parts.map((p) => p.summary));
    return { rowBinary, spans: summary.count, summary, ...outcome };
  });
}

/** A logs decode as inSlices sums it: its refused count under the spans' name. */
type LogsSlice = Omit<DecodedLogs, 'rejectedRecords'> & DecodeOutcome;

/** decodeLogsRequest in slices, with a turn of the event loop between them, as for spans. */
export async function decodeLogsRequestInSlices(bytes: Uint8Array, sliceBytes = SLICE_BYTES, options?: DecodeOptions): Promise<DecodedLogs> {
  const decode = (slice: Uint8Array): LogsSlice => {
    const { rejectedRecords, ...part } = decodeLogsRequest(slice, options);
    return { ...part, rejectedSpans: rejectedRecords };
  };
  const { rejectedSpans, ...decoded } = await inSlices(bytes, sliceBytes, decode, (parts, outcome) => {
    const records: DecodedLogs['records'] = [];
    for (const part of parts) for (const record of part.records) records.push(record);
    return { records, ...outcome };
  });
  return { ...decoded, rejectedRecords: rejectedSpans };
}

/** What a decode reports beside its spans, the same for both paths. */
type DecodeOutcome = Pick<DecodedTraces, 'rejectedSpans' | 'rejectionMessage' | 'rejections' | 'truncations'>;

async function inSlices<T extends DecodeOutcome>(
  bytes: Uint8Array,
  sliceBytes: number,
  run: (slice: Uint8Array) => T,
  join: (parts: T[], outcome: DecodeOutcome) => T,
): Promise<T> {
  if (bytes.length <= sliceBytes) return run(bytes);
  let slices: Uint8Array[];
  try {
    slices = split(bytes, 0, sliceBytes);
  } catch {
    return run(bytes); // malformed framing: the decoder names the problem and its offset
  }
  const parts: T[] = [];
  let rejectedSpans = 0;
  const rejections: NonNullable<DecodeOutcome['rejections']> = [];
  const truncations: NonNullable<DecodeOutcome['truncations']> = [];
  const messages: string[] = [];
  for (let i = 0; i < slices.length; i++) {
    if (i > 0) await new Promise((resolve) => setImmediate(resolve));
    let part: T;
    try {
      part = run(slices[i]);
    } catch (err) {
      // Offsets in a slice's error would mislead: decode the whole request for the real one.
      if (err instanceof OtlpDecodeError) return run(bytes);
      throw err;
    }
    parts.push(part);
    rejectedSpans += part.rejectedSpans;
    for (const rejection of part.rejections ?? []) rejections.push(rejection);
    for (const truncation of part.truncations ?? []) truncations.push(truncation);
    if (part.rejectionMessage !== '') messages.push(part.rejectionMessage);
  }
  let rejectionMessage = messages.join('; ');
  if (rejectionMessage.length > MAX_MESSAGE_CHARS) rejectionMessage = `${rejectionMessage.slice(0, MAX_MESSAGE_CHARS)}…`;
  const outcome: DecodeOutcome = { rejectedSpans, rejectionMessage };
  if (rejectedSpans > 0) outcome.rejections = rejections;
  if (truncations.length > 0) outcome.truncations = truncations;
  return join(parts, outcome);
}

interface Field {
  number: number;
  /** The whole field: tag, length and payload. */
  bytes: Uint8Array;
  /** The payload of a length-delimited field. */
  payload?: Uint8Array;
}

/**
 * Cuts `message` (at nesting `level`) into messages of at most about `max` bytes, each with all
 * of its fields but a share of the repeated child field; a child still too big is cut a level down.
 */
function split(message: Uint8Array, level: number, max: number): Uint8Array[] {
  const childNumber = LEVELS[level];
  const others: Uint8Array[] = [];
  const children: Uint8Array[] = [];
  for (const field of scan(message)) {
    if (field.number !== childNumber || field.payload === undefined) {
      others.push(field.bytes);
    } else if (field.bytes.length > max && level + 1 < LEVELS.length) {
      for (const part of split(field.payload, level + 1, max)) children.push(bytesField(childNumber, part));
    } else {
      children.push(field.bytes);
    }
  }
  const head = Buffer.concat(others);
  const out: Uint8Array[] = [];
  let group: Uint8Array[] = [];
  let size = head.length;
  for (const child of children) {
    if (group.length > 0 && size + child.length > max) {
      out.push(Buffer.concat([head, ...group]));
      group = [];
      size = head.length;
    }
    group.push(child);
    size += child.length;
  }
  if (group.length > 0 || out.length === 0) out.push(Buffer.concat([head, ...group]));
  return out;
}

/** The top-level fields of a message; throws on anything malformed (the caller falls back). */
function scan(message: Uint8Array): Field[] {
  const fields: Field[] = [];
  let pos = 0;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      if (pos >= message.length) throw new Error('truncated varint');
      const b = message[pos++];
      if (shift < 49) value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
    }
    throw new Error('varint too long');
  };
  while (pos < message.length) {
    const start = pos;
    const tag = varint();
    const wireType = tag % 8;
    let payload: Uint8Array | undefined;
    if (wireType === 0) varint();
    else if (wireType === 1) pos += 8;
    else if (wireType === 5) pos += 4;
    else if (wireType === 2) {
      const length = varint();
      if (length > message.length - pos) throw new Error('length past the end');
      payload = message.subarray(pos, pos + length);
      pos += length;
    } else throw new Error(`wire type ${wireType}`);
    if (pos > message.length) throw new Error('field past the end');
    fields.push({ number: Math.floor(tag / 8), bytes: message.subarray(start, pos), payload });
  }
  return fields;
}
