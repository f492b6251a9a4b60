import { Encoder } from '@msgpack/msgpack';
import type { Span } from '../../collector/src/model/span.js';
import { TOP_LEVEL, topLevelFlags, toDatadogSpan, type SpanRef } from './mapping.js';

/**
 * The queue's records for the Datadog trace intake, and the v0.4 request bodies made of them.
 *
 * A v0.4 body is one msgpack array of traces, each an array of spans, so two bodies laid end
 * to end are not one body: records cannot be the wire format. A record is instead a list of
 * spans, each already msgpack-encoded, with what sending needs in front of it:
 *
 *   record = 0xDD, version (u8), span count (u32), span*
 *   span   = trace ID low (u64), span ID (u64), parent ID (u64),
 *            service length (u16), service (UTF-8),
 *            offset of the span's metrics map (u32), span length (u32), span (msgpack map)
 *
 * (big-endian). Sending groups the spans of all records by trace, marks top-level spans with
 * the whole batch in view, and writes the array headers around the span bytes: no span is
 * decoded or encoded again. Records outlive the process in the durable queue; the version
 * byte lets a later format tell them apart.
 */

export const RECORD_MAGIC = 0xdd;
export const RECORD_VERSION = 1;
const RECORD_HEADER = 6;
/** The IDs and the service length, before the service. */
const SPAN_HEAD = 8 + 8 + 8 + 2;
/** The metrics offset and the span length, after the service. */
const SPAN_TAIL = 4 + 4;

/** A record that cannot be read; retrying cannot help. */
export class RecordFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordFormatError';
  }
}

// useBigInt64: IDs, start and duration are bigints and must go out as 64-bit integers.
const encoder = new Encoder({ useBigInt64: true });

/** Reused between records (encoding is synchronous): one copy per record instead of one per span. */
let scratch = Buffer.allocUnsafe(64 * 1024);
const MAX_SCRATCH = 4 * 1024 * 1024;

function ensure(at: number, n: number): void {
  if (at + n <= scratch.length) return;
  const bigger = Buffer.allocUnsafe(Math.max(scratch.length * 2, at + n));
  scratch.copy(bigger, 0, 0, at);
  scratch = bigger;
}

export function encodeRecord(spans: Span[]): Uint8Array {
  ensure(0, RECORD_HEADER);
  scratch[0] = RECORD_MAGIC;
  scratch[1] = RECORD_VERSION;
  scratch.writeUInt32BE(spans.length, 2);
  let at = RECORD_HEADER;
  for (const span of spans) {
    const dd = toDatadogSpan(span);
    const service = Buffer.from(dd.service, 'utf8');
    const bytes = encoder.encodeSharedRef(dd);
    ensure(at, SPAN_HEAD + service.length + SPAN_TAIL + bytes.length);
    at = scratch.writeBigUInt64BE(dd.trace_id, at);
    at = scratch.writeBigUInt64BE(dd.span_id, at);
    at = scratch.writeBigUInt64BE(dd.parent_id, at);
    at = scratch.writeUInt16BE(service.length, at);
    at += service.copy(scratch, at);
    const metricsAtField = at;
    at = scratch.writeUInt32BE(bytes.length, at + 4);
    scratch.set(bytes, at);
    at += bytes.length;
    // The metrics map is the span map's last value (mapping.ts), so its encoding is the suffix.
    // (After the copy: the encoder's shared buffer is reused by this call.)
    scratch.writeUInt32BE(bytes.length - encoder.encodeSharedRef(dd.metrics).length, metricsAtField);
  }
  const record = Buffer.from(scratch.subarray(0, at));
  // One huge batch must not pin its size in memory for good.
  if (scratch.length > MAX_SCRATCH) scratch = Buffer.allocUnsafe(64 * 1024);
  return record;
}

/** A span read back from a record; `bytes` is a view into the payload. */
export interface RecordSpan extends SpanRef {
  traceId: bigint;
  metricsAt: number;
  bytes: Uint8Array;
}

/** Every span of `payload`, one or more records end to end. Throws {@link RecordFormatError}. */
export function readRecords(payload: Uint8Array): RecordSpan[] {
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const spans: RecordSpan[] = [];
  let at = 0;
  const need = (n: number, what: string) => {
    if (at + n > buf.length) throw new RecordFormatError(`truncated record: ${what} at byte ${at} of ${buf.length}`);
  };
  while (at < buf.length) {
    need(RECORD_HEADER, 'record header');
    if (buf[at] !== RECORD_MAGIC) throw new RecordFormatError(`not a datadog-v0.4 record at byte ${at}`);
    if (buf[at + 1] !== RECORD_VERSION) throw new RecordFormatError(`unknown record version ${buf[at + 1]} at byte ${at}`);
    const count = buf.readUInt32BE(at + 2);
    at += RECORD_HEADER;
    for (let i = 0; i < count; i++) {
      need(SPAN_HEAD, 'span header');
      const traceId = buf.readBigUInt64BE(at);
      const spanId = buf.readBigUInt64BE(at + 8);
      const parentId = buf.readBigUInt64BE(at + 16);
      const serviceLength = buf.readUInt16BE(at + 24);
      at += SPAN_HEAD;
      need(serviceLength + SPAN_TAIL, 'span header');
      const service = buf.toString('utf8', at, at + serviceLength);
      at += serviceLength;
      const metricsAt = buf.readUInt32BE(at);
      const length = buf.readUInt32BE(at + 4);
      at += SPAN_TAIL;
      need(length, 'span');
      if (metricsAt >= length) throw new RecordFormatError(`metrics offset ${metricsAt} outside a span of ${length} bytes`);
      spans.push({ traceId, spanId, parentId, service, metricsAt, bytes: buf.subarray(at, at + length) });
      at += length;
    }
  }
  return spans;
}

/** One PUT /v0.4/traces. */
export interface IntakeRequest {
  body: Uint8Array<ArrayBuffer>;
  /** Trace chunks in the body: the X-Datadog-Trace-Count header. */
  traceCount: number;
  spanCount: number;
}

/**
 * The v0.4 bodies for `spans`: grouped by trace (the low 64 bits of the trace ID, as the
 * agent keys traces), top-level spans marked, split so that no body exceeds `maxBytes`
 * unless a single span does. A trace split across bodies is one chunk in each. The split
 * depends only on the spans and `maxBytes`, so a retried payload splits the same way.
 */
export function buildRequests(spans: RecordSpan[], maxBytes: number): IntakeRequest[] {
  const traces = new Map<bigint, RecordSpan[]>();
  for (const s of spans) {
    const trace = traces.get(s.traceId);
    if (trace) trace.push(s);
    else traces.set(s.traceId, [s]);
  }

  const requests: IntakeRequest[] = [];
  let chunks: Uint8Array[][] = [];
  let size = ARRAY32_HEADER;
  let spanCount = 0;
  const flush = () => {
    if (spanCount > 0) requests.push({ body: requestBody(chunks), traceCount: chunks.length, spanCount });
    chunks = [];
    size = ARRAY32_HEADER;
    spanCount = 0;
  };
  for (const trace of traces.values()) {
    const topLevel = topLevelFlags(trace);
    let chunk: Uint8Array[] | undefined;
    for (let i = 0; i < trace.length; i++) {
      const bytes = topLevel[i] ? withTopLevel(trace[i].bytes, trace[i].metricsAt) : trace[i].bytes;
      const added = bytes.length + (chunk ? 0 : ARRAY32_HEADER);
      if (spanCount > 0 && size + added > maxBytes) {
        flush();
        chunk = undefined;
      }
      if (!chunk) {
        chunk = [];
        chunks.push(chunk);
        size += ARRAY32_HEADER;
      }
      chunk.push(bytes);
      size += bytes.length;
      spanCount++;
    }
  }
  flush();
  return requests;
}

/** The largest array header; sizes are counted with it so that the estimate never falls short. */
const ARRAY32_HEADER = 5;

function arrayHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x90 | n);
  if (n < 0x10000) return Uint8Array.of(0xdc, n >> 8, n & 0xff);
  const b = Buffer.allocUnsafe(5);
  b[0] = 0xdd;
  b.writeUInt32BE(n, 1);
  return b;
}

function mapHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x80 | n);
  if (n < 0x10000) return Uint8Array.of(0xde, n >> 8, n & 0xff);
  const b = Buffer.allocUnsafe(5);
  b[0] = 0xdf;
  b.writeUInt32BE(n, 1);
  return b;
}

function requestBody(chunks: Uint8Array[][]): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [arrayHeader(chunks.length)];
  for (const chunk of chunks) parts.push(arrayHeader(chunk.length), ...chunk);
  return Buffer.concat(parts);
}

const TOP_LEVEL_ENTRY = Buffer.concat([encoder.encode(TOP_LEVEL), encoder.encode(1)]);

/** The span with `_top_level: 1` added to its metrics map, which ends the span (see above). */
export function withTopLevel(span: Uint8Array, metricsAt: number): Uint8Array {
  const b = span[metricsAt];
  let count: number;
  let headerLength: number;
  if ((b & 0xf0) === 0x80) {
    count = b & 0x0f;
    headerLength = 1;
  } else if (b === 0xde) {
    count = (span[metricsAt + 1] << 8) | span[metricsAt + 2];
    headerLength = 3;
  } else if (b === 0xdf) {
    count = Buffer.from(span.buffer, span.byteOffset, span.byteLength).readUInt32BE(metricsAt + 1);
    headerLength = 5;
  } else {
    throw new RecordFormatError(`no msgpack map at the metrics offset (byte 0x${b.toString(16)})`);
  }
  return Buffer.concat([span.subarray(0, metricsAt), mapHeader(count + 1), span.subarray(metricsAt + headerLength), TOP_LEVEL_ENTRY]);
}
