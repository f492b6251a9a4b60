import type { Span } from '../../collector/src/model/span.js';
import { encodeTraceRequest } from '../otlp/encoder.js';

/**
 * The `kafka` exporter's queue records: one frame per Kafka message,
 *
 *   u32 big-endian N | 16-byte trace ID | N bytes: an OTLP ExportTraceServiceRequest (protobuf)
 *
 * so the durable queue's concatenation of records splits back into messages. The message that
 * goes to Kafka is key = the trace ID, value = the OTLP bytes: what the OpenTelemetry
 * Collector's kafka exporter sends with `encoding: otlp_proto` and `partition_traces_by_id`.
 */
export const KAFKA_RECORDS_ENCODING = 'kafka-otlp-traces';
const HEADER_BYTES = 4 + 16;

export interface KafkaMessage {
  key: Buffer;
  value: Buffer;
}

/**
 * One frame per trace, a trace's spans in the order they came. A trace whose request would be
 * over `maxValueBytes` is cut in halves until each part fits (a single span too big for the
 * limit stays whole: the broker will refuse it, and the exporter says so).
 */
export function encodeKafkaRecords(spans: readonly Span[], maxValueBytes: number): Uint8Array {
  const byTrace = new Map<string, Span[]>();
  for (const span of spans) {
    const list = byTrace.get(span.traceId);
    if (list) list.push(span);
    else byTrace.set(span.traceId, [span]);
  }
  const frames: Buffer[] = [];
  let total = 0;
  for (const [traceId, list] of byTrace) {
    const key = Buffer.from(traceId, 'hex');
    for (const value of encodeWithin(list, maxValueBytes)) {
      const frame = Buffer.allocUnsafe(HEADER_BYTES + value.length);
      frame.writeUInt32BE(value.length, 0);
      // A trace ID that is not 32 hex digits cannot reach here (the receivers validate it); pad defensively.
      frame.fill(0, 4, HEADER_BYTES);
      key.copy(frame, 4, 0, 16);
      frame.set(value, HEADER_BYTES);
      frames.push(frame);
      total += frame.length;
    }
  }
  return Buffer.concat(frames, total);
}

function encodeWithin(spans: Span[], maxValueBytes: number): Uint8Array[] {
  const value = encodeTraceRequest(spans);
  if (value.length <= maxValueBytes || spans.length === 1) return [value];
  const half = spans.length >> 1;
  return [...encodeWithin(spans.slice(0, half), maxValueBytes), ...encodeWithin(spans.slice(half), maxValueBytes)];
}

/** The messages of a payload of concatenated records. Throws on a frame cut short. */
export function splitKafkaRecords(payload: Uint8Array): KafkaMessage[] {
  const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const out: KafkaMessage[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (buf.length - pos < HEADER_BYTES) throw new Error(`kafka record at byte ${pos}: ${buf.length - pos} bytes left, a frame header is ${HEADER_BYTES}`);
    const n = buf.readUInt32BE(pos);
    const end = pos + HEADER_BYTES + n;
    if (end > buf.length) throw new Error(`kafka record at byte ${pos}: says ${n} bytes of OTLP, only ${buf.length - pos - HEADER_BYTES} there`);
    // Views, not copies: the payload outlives the send.
    out.push({ key: buf.subarray(pos + 4, pos + HEADER_BYTES), value: buf.subarray(pos + HEADER_BYTES, end) });
    pos = end;
  }
  return out;
}
