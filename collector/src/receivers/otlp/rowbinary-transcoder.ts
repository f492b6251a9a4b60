/**
 * OTLP protobuf → ClickHouse RowBinary in one pass, without span objects: the storage path's
 * answer to issue 15 (decoding into objects, then encoding them, cost most of the main thread
 * and fed the GC). Protobuf and RowBinary both carry strings as length-prefixed UTF-8, so a
 * span's strings (names, keys, string values, trace state) are copied byte for byte from the
 * request into the insert block, checked for valid UTF-8 but never made into JS strings; IDs
 * go straight to hex, times are copied as the little-endian 64-bit integers both formats use.
 *
 * The output is, by contract, byte for byte `encodeRowBinary(decodeTraceRequest(b).spans)`,
 * with the same rejections (span-validation.ts) and truncations (value-limit.ts): the
 * differential tests (rowbinary-transcoder.test.ts) hold it to that. To keep that promise
 * cheaply, everything rare goes through the reference code itself rather than a copy of it:
 * - resources and scopes are decoded into objects by proto-decoder.ts (once per batch) and
 *   encoded once by rowbinary.ts, as encodeRowBinary does;
 * - a span the fast path does not take as it is — one to reject (bad IDs, invalid UTF-8, too
 *   old, no start), a repeated or integer-like attribute key (a JS object would reorder or
 *   merge them), a value over the size limit, a repeated singular field — is decoded by
 *   proto-decoder.ts's readSpan and written by rowbinary.ts's writeSpanRow;
 * - non-string attribute values are formatted by proto-decoder.ts's readAnyValue;
 * - a malformed request (OtlpDecodeError) is handed whole to decodeTraceRequest, which
 *   throws the error it always threw.
 *
 * Beside the rows comes a compact summary per span (SpanSummaries) of what the pipeline still
 * reads without objects: service, span name, kind, status, start, duration, trace ID.
 * Used by the storage-rows path (pipeline/row-batch.ts) when no stage needs span objects.
 */
import { isUtf8 } from 'node:buffer';
import type { InstrumentationScope, Resource, Span } from '../../model/span.js';
import { RowBinaryWriter, SPAN_KIND_NAMES, STATUS_CODE_NAMES, encodeResource, encodeScope, writeSpanRow } from '../../../../exporters/clickhouse/rowbinary.js';
import { RowBinaryCopier } from '../../../../exporters/clickhouse/rowbinary-copier.js';
import { RejectionLog, newResource, newScope, type SpanRejection } from './decoded-traces.js';
import { OtlpDecodeError, RequestTooLargeError } from './errors.js';
import {
  ProtoReader,
  checkFixed,
  decodeTraceRequest,
  isAllZero,
  readAnyValue,
  readFixed32,
  readInt32,
  readLength,
  readResource,
  readResourcesAhead,
  readScope,
  readSpan,
  readStatus,
  readString,
  readTag,
  readUint32,
  skipField,
} from './proto-decoder.js';
import { SpanSummaries } from '../../model/span-summaries.js';
import { SpanTimeRules, type DecodeOptions } from './span-validation.js';
import { DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES, limitHolder, longValueChars, type AttributeHolder, type ValueTruncation } from './value-limit.js';

export interface TranscodedTraces {
  /** RowBinary rows for INSERT_COLUMNS (exporters/clickhouse/rowbinary.ts), one per kept span. */
  rowBinary: Buffer;
  /** Rows in `rowBinary`. */
  spans: number;
  /** As DecodedTraces: refused spans, the message for partial success, counts for the drop ledger. */
  rejectedSpans: number;
  rejectionMessage: string;
  rejections?: SpanRejection[];
  /** As DecodedTraces: attribute values truncated to the size limit, by service; absent when none. */
  truncations?: ValueTruncation[];
  /** What the pipeline reads of each row, without span objects. */
  summary: SpanSummaries;
}

/**
 * How spans went, since the process started: straight from the bytes, through the reference
 * decoder one by one, or whole requests through it (malformed ones). For tests and profiling.
 */
export const transcodeCounters = { fastSpans: 0, slowSpans: 0, requestsViaObjects: 0 };

/**
 * Transcodes a protobuf ExportTraceServiceRequest into RowBinary rows; throws OtlpDecodeError on
 * malformed bytes, exactly as decodeTraceRequest does.
 */
export function transcodeTraceRequest(bytes: Uint8Array, options?: DecodeOptions): TranscodedTraces {
  if (!(bytes instanceof Uint8Array)) throw new OtlpDecodeError('request body is not a byte array');
  try {
    return new Transcoder(bytes, options).run();
  } catch (err) {
    // The reference decoder throws the error it always threw (its wording and offset).
    if (err instanceof OtlpDecodeError) return viaObjects(bytes, options);
    throw err;
  }
}

/** The reference path: decode into objects, encode them (malformed requests only). */
function viaObjects(bytes: Uint8Array, options: DecodeOptions | undefined): TranscodedTraces {
  transcodeCounters.requestsViaObjects++;
  const decoded = decodeTraceRequest(bytes, options);
  const rows = new RowBuilder(bytes, options?.maxRowBytes);
  const resources = new Map<Resource, [bytes: Buffer, index: number]>();
  const scopes = new Map<InstrumentationScope, Buffer>();
  for (const span of decoded.spans) {
    let resource = resources.get(span.resource);
    if (resource === undefined) resources.set(span.resource, (resource = [encodeResource(span.resource), rows.addService(span.resource.serviceName)]));
    let scope = scopes.get(span.scope);
    if (scope === undefined) scopes.set(span.scope, (scope = encodeScope(span.scope)));
    rows.objectRow(span, resource[0], scope, resource[1]);
  }
  const result: TranscodedTraces = { ...rows.finish(), rejectedSpans: decoded.rejectedSpans, rejectionMessage: decoded.rejectionMessage };
  if (decoded.rejections !== undefined) result.rejections = decoded.rejections;
  if (decoded.truncations !== undefined) result.truncations = decoded.truncations;
  return result;
}

// ---------------------------------------------------------------------------------------
// Output: the rows and their summaries.

/** Length-prefixed strings written as they are, by number (OTLP SpanKind, StatusCode). */
const KIND_NAMES = SPAN_KIND_NAMES.map(stringBytes);
const STATUS_NAMES = STATUS_CODE_NAMES.map(stringBytes);
const EMPTY_STRING = stringBytes('');
const NO_BYTES = Buffer.alloc(0);
const TRUE = stringBytes('true');
const FALSE = stringBytes('false');
const VALUE_KIND_BYTES: Record<string, Buffer> = Object.fromEntries(
  ['bool', 'int', 'double', 'bytes', 'array', 'kvlist', 'empty'].map((kind) => [kind, stringBytes(kind)]),
);
const INT_KIND = VALUE_KIND_BYTES['int']!;
const BOOL_KIND = VALUE_KIND_BYTES['bool']!;
const EMPTY_KIND = VALUE_KIND_BYTES['empty']!;
const SPAN_PREFIX = Buffer.from('span:');
/** `event.<i>:` / `link.<i>:` key prefixes of AttributeKinds, made once per index. */
const eventPrefixes: Buffer[] = [];
const linkPrefixes: Buffer[] = [];

function stringBytes(s: string): Buffer {
  const w = new RowBinaryWriter(16);
  w.string(s);
  return Buffer.from(w.finish());
}

function prefixOf(cache: Buffer[], name: string, i: number): Buffer {
  return (cache[i] ??= Buffer.from(`${name}.${i}:`));
}

/** The rows of one request are written here first (transcoding is synchronous: one at a time). */
let rowScratch: Buffer = Buffer.allocUnsafeSlow(0);
/** Larger requests write into a buffer of their own rather than keep this much for ever. */
const MAX_SCRATCH_BYTES = 16 * 1024 * 1024;

/** The rows and the summary arrays, grown together. */
class RowBuilder {
  readonly w: RowBinaryCopier;
  count = 0;
  private capacity: number;
  readonly services: string[] = [];
  resourceIndex: Uint32Array;
  scopeIndex: Uint32Array;
  kind: Int32Array;
  statusCode: Int32Array;
  /** [startLo, startHi, durationLo, durationHi] per span, viewed as BigUint64Array at the end (little-endian). */
  times: Uint32Array;
  /** 16 bytes per span, written as four little-endian words (the platform's order: see SpanSummaries). */
  traceWords: Uint32Array;
  nameAt: Uint32Array;

  constructor(
    request: Uint8Array,
    /** Past this many bytes of rows the request is refused (RequestTooLargeError). */
    private readonly maxBytes = Infinity,
  ) {
    // Rows repeat resource and scope bytes and spell IDs in hex: larger than the request. They
    // are written into a scratch buffer kept between requests and copied out at the exact size:
    // a fresh buffer of twice the request per request was most of the memory the GC chased.
    const wanted = request.length * 2 + 1024;
    if (rowScratch.length < wanted && wanted <= MAX_SCRATCH_BYTES) rowScratch = Buffer.allocUnsafeSlow(wanted);
    this.w = new RowBinaryCopier(request, rowScratch.length >= wanted ? rowScratch : wanted);
    // Spans usually take a few hundred bytes of a request: room for most without growing.
    const capacity = (this.capacity = Math.max(64, request.length >>> 8));
    this.resourceIndex = new Uint32Array(capacity);
    this.scopeIndex = new Uint32Array(capacity);
    this.kind = new Int32Array(capacity);
    this.statusCode = new Int32Array(capacity);
    this.times = new Uint32Array(4 * capacity);
    this.traceWords = new Uint32Array(4 * capacity);
    this.nameAt = new Uint32Array(capacity);
  }

  addService(name: string): number {
    this.services.push(name);
    return this.services.length - 1;
  }

  /** Makes room for one more row (its index is `count`); checks the rows so far against the limit. */
  reserve(): void {
    if (this.w.length > this.maxBytes) throw new RequestTooLargeError(this.w.length, this.maxBytes);
    if (this.count < this.capacity) return;
    const capacity = (this.capacity *= 2);
    this.resourceIndex = grow(this.resourceIndex, new Uint32Array(capacity));
    this.scopeIndex = grow(this.scopeIndex, new Uint32Array(capacity));
    this.kind = grow(this.kind, new Int32Array(capacity));
    this.statusCode = grow(this.statusCode, new Int32Array(capacity));
    this.times = grow(this.times, new Uint32Array(capacity * 4));
    this.traceWords = grow(this.traceWords, new Uint32Array(capacity * 4));
    this.nameAt = grow(this.nameAt, new Uint32Array(capacity));
  }

  /** A span decoded into an object (the slow path), written by the reference encoder. */
  objectRow(span: Span, resource: Buffer, scope: Buffer, resourceIndex: number, scopeIndex = 0): void {
    this.reserve();
    const i = this.count++;
    const rowAt = this.w.length;
    writeSpanRow(this.w, span, resource, scope);
    this.resourceIndex[i] = resourceIndex;
    this.scopeIndex[i] = scopeIndex;
    this.kind[i] = span.kind;
    this.statusCode[i] = span.statusCode;
    const start = span.startTimeUnixNano;
    const duration = span.endTimeUnixNano > start ? span.endTimeUnixNano - start : 0n;
    this.times[4 * i] = Number(start & 0xffffffffn);
    this.times[4 * i + 1] = Number(start >> 32n);
    this.times[4 * i + 2] = Number(duration & 0xffffffffn);
    this.times[4 * i + 3] = Number(duration >> 32n);
    new Uint8Array(this.traceWords.buffer).set(Buffer.from(span.traceId, 'hex'), 16 * i);
    // The name follows Timestamp and four strings: trace, span and parent IDs, trace state.
    const traceState = Buffer.byteLength(span.traceState);
    this.nameAt[i] = rowAt + 8 + 33 + 17 + (span.parentSpanId === '' ? 1 : 17) + varintSize(traceState) + traceState;
  }

  finish(): { rowBinary: Buffer; spans: number; summary: SpanSummaries } {
    if (this.w.length > this.maxBytes) throw new RequestTooLargeError(this.w.length, this.maxBytes);
    const rowBinary = Buffer.from(this.w.finish());
    const grown = this.w.buffer;
    if (grown.length > rowScratch.length && grown.length <= MAX_SCRATCH_BYTES) rowScratch = grown;
    const n = this.count;
    const summary = new SpanSummaries(
      rowBinary,
      n,
      this.services,
      this.resourceIndex.subarray(0, n),
      this.kind.subarray(0, n),
      this.statusCode.subarray(0, n),
      new BigUint64Array(this.times.buffer, 0, 2 * n),
      new Uint8Array(this.traceWords.buffer, 0, 16 * n),
      this.nameAt.subarray(0, n),
    );
    return { rowBinary, spans: n, summary };
  }
}

/** Summaries and the trace-ID words share the host's byte order; every platform Node runs on is little-endian. */
if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) throw new Error('rowbinary-transcoder needs a little-endian host');

function grow<T extends Uint8Array | Uint32Array | Int32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

// ---------------------------------------------------------------------------------------
// Input: one request.

/** A resource or scope of the request: decoded as objects, encoded once. */
interface Shared<T> {
  /** As decoded: what spans are matched against (retention rules) and rejections name. */
  object: T;
  /** As stored: `object`, or a copy of it with values over the size limit truncated. */
  stored: T;
  /** Its columns (encodeResource / encodeScope). */
  bytes: Buffer;
  /** Its `resource:` / `scope:` AttributeKinds entries and how many. */
  kinds: Buffer;
  kindCount: number;
  /** Values it had truncated (value-limit.ts), counted with its first kept span. */
  truncated: number;
  index: number;
  /** Where `bytes` and `kinds` are in a finished row, to copy from there (-1: not yet). */
  bytesAt: number;
  kindsAt: number;
}

/** An AttributeKinds map in the rows and what it was made of (key positions in the request, holders, kinds). */
interface LastKinds {
  /** Where it is in the rows (-1: none, or taken back). */
  at: number;
  end: number;
  resource: Shared<Resource> | undefined;
  scope: Shared<InstrumentationScope> | undefined;
  spanKinds: number;
  count: number;
  keys: Int32Array;
  names: Buffer[];
}

/** How readResourceSpans / readScopeSpans name a schema_url holding invalid UTF-8. */
const SCHEMA_URL_FIELDS = { resource: 'resource schema_url', scope: 'scope schema_url' } as const;

/** Bits of the span fields seen once already (a second one sends the span to the slow path). */
const TRACE_STATE = 1;
const NAME = 2;
const STATUS = 4;

/** Where a span's repeated parts are, in the scratch arrays. */
const SCRATCH = 256;

/** Beginning of the first start time the store cannot hold (2^32 s): its high 32 bits, low bits 0. */
const START_LIMIT_HI = 1_000_000_000;

class Transcoder {
  private readonly r: ProtoReader;
  private readonly bytes: Buffer;
  private readonly view: DataView;
  private readonly log = new RejectionLog();
  private readonly rows: RowBuilder;
  private readonly maxValueBytes: number;
  /** Non-string values no longer than this many characters cannot be over the limit. */
  private readonly longValue: number;
  /** SpanTimeRules.youngEnough as two uint32. */
  private readonly youngHi: number;
  private readonly youngLo: number;
  /** Per kept row with values truncated in the span itself: row → count (rare). */
  private readonly ownTruncations = new Map<number, number>();
  private anyTruncation = false;
  private readonly resources: Array<Shared<Resource>> = [];
  private readonly scopes: Array<Shared<InstrumentationScope>> = [];
  /** The last finished row's trace ID: where it was in the request and its hex in the rows (-1: none). */
  private lastTraceIn = 0;
  private lastTraceOut = -1;
  private resourceKindsAt = -1;
  private scopeKindsAt = -1;
  /** The last AttributeKinds map written out entry by entry (see writeKinds). */
  private readonly lastKinds: LastKinds = { at: -1, end: 0, resource: undefined, scope: undefined, spanKinds: 0, count: 0, keys: new Int32Array(3 * SCRATCH), names: [] };

  // Scratch for the span being transcoded: attribute KeyValues (start, end) of span, events and
  // links; events (start, end, first KeyValue, KeyValue count, time at, name at, name end,
  // dropped); links (same layout: trace ID at/length, span ID at/length, state at/end,
  // first KeyValue, count, flags, dropped); non-string values' (key at, key end, holder, kind).
  // (Allocated once per process: transcoding is synchronous.)
  private readonly kvs = scratch.kvs;
  private kvCount = 0;
  private readonly events = scratch.events;
  private readonly links = scratch.links;
  private kindKeys = scratch.kindKeys;
  private readonly kindNames = scratch.kindNames;
  private kindCount = 0;
  /** Repeated-key detection: key hash → generation stamp and the key's (start, end). */
  private readonly keyStamps = scratch.keyStamps;
  private readonly keyAt = scratch.keyAt;
  /** The keys of the map being written (start, end): at most the KeyValues of one span. */
  private readonly mapKeys = scratch.mapKeys;
  private mapKeyCount = 0;

  constructor(bytes: Uint8Array, options: DecodeOptions | undefined) {
    const timeRules = new SpanTimeRules(options);
    this.r = new ProtoReader(bytes, timeRules);
    this.bytes = this.r.text;
    this.view = this.r.view;
    this.maxValueBytes = options?.maxAttributeValueBytes ?? DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES;
    this.r.longValueChars = longValueChars(this.maxValueBytes);
    this.longValue = longValueChars(this.maxValueBytes);
    this.youngHi = Number(timeRules.youngEnough >> 32n);
    this.youngLo = Number(timeRules.youngEnough & 0xffffffffn);
    this.rows = new RowBuilder(bytes, options?.maxRowBytes);
  }

  run(): TranscodedTraces {
    const r = this.r;
    const end = this.bytes.length;
    while (r.pos < end) {
      const tagAt = r.pos;
      const tag = readTag(r, end);
      if (tag === 0x0a) this.resourceSpans(readLength(r, end)); // 1 resource_spans
      else skipField(r, tag, end, tagAt, 0);
    }
    const result: TranscodedTraces = { ...this.rows.finish(), rejectedSpans: 0, rejectionMessage: '' };
    const log = this.log;
    if (log.count > 0) {
      result.rejectedSpans = log.count;
      result.rejectionMessage = log.message();
      result.rejections = log.rejections();
    }
    if (this.anyTruncation) {
      const truncations = this.truncations();
      if (truncations.length > 0) result.truncations = truncations;
    }
    return result;
  }

  /**
   * Truncations by service in value-limit.ts's order: per kept span, its resource's and its
   * scope's values (with their first kept span) and its own.
   */
  private truncations(): ValueTruncation[] {
    const byService = new Map<string, number>();
    const resourceSeen = new Set<number>();
    const scopeSeen = new Set<number>();
    const rows = this.rows;
    for (let i = 0; i < rows.count; i++) {
      const resource = this.resources[rows.resourceIndex[i]!]!;
      const scope = this.scopes[rows.scopeIndex[i]!]!;
      let n = this.ownTruncations.get(i) ?? 0;
      if (!resourceSeen.has(resource.index)) {
        resourceSeen.add(resource.index);
        n += resource.truncated;
      }
      if (!scopeSeen.has(scope.index)) {
        scopeSeen.add(scope.index);
        n += scope.truncated;
      }
      const service = resource.object.serviceName;
      if (n > 0) byService.set(service, (byService.get(service) ?? 0) + n);
    }
    return [...byService].map(([service, values]) => ({ service, values }));
  }

  /**
   * One ResourceSpans. Its resource may follow its spans on the wire and every row needs it:
   * the resource fields are read first, then the spans. As in readResourceSpans, invalid
   * UTF-8 in the resource rejects its spans as a group.
   */
  private resourceSpans(end: number): void {
    const start = this.r.pos;
    const resource = newResource();
    const invalid = this.header(end, resource, readResource, 'resource');
    const shared = this.share(resource, encodeResource, 'resource:', this.resources);
    this.rows.addService(resource.serviceName);
    const first = this.rows.count;
    const firstAt = this.rows.w.length;
    this.forEachField2(start, end, (stop) => this.scopeSpans(stop, shared)); // 2 scope_spans
    if (invalid !== '') this.rejectSince(first, firstAt, resource, undefined, invalid);
  }

  /** One ScopeSpans: the scope first (it may follow its spans), then the spans. */
  private scopeSpans(end: number, resource: Shared<Resource>): void {
    const start = this.r.pos;
    const scope = newScope();
    const invalid = this.header(end, scope, readScope, 'scope');
    const shared = this.share(scope, encodeScope, 'scope:', this.scopes);
    const first = this.rows.count;
    const firstAt = this.rows.w.length;
    let spanIndex = 0;
    this.forEachField2(start, end, (stop) => this.span(stop, resource, shared, spanIndex++)); // 2 spans
    if (invalid !== '') this.rejectSince(first, firstAt, resource.object, scope, invalid);
  }

  /**
   * The resource of a ResourceSpans or the scope of a ScopeSpans (field 1) and its schema_url
   * (field 3), wherever they are in the message, read as readResourceSpans / readScopeSpans
   * read them. Returns the field whose invalid UTF-8 rejects the spans, or ''.
   */
  private header<T extends Resource | InstrumentationScope>(end: number, object: T, read: (r: ProtoReader, end: number, object: T) => void, name: 'resource' | 'scope'): string {
    const r = this.r;
    let invalid = '';
    // readResourceSpans reads resources sent after their spans ahead when retention rules name
    // services; then their invalid UTF-8 is named before the schema_url's.
    const resourcesFirst = name === 'resource' && r.timeRules.needsServiceName && r.pos < end && this.bytes[r.pos] !== 0x0a;
    if (resourcesFirst) invalid = readResourcesAhead(r, end, object as Resource);
    while (r.pos < end) {
      const tagAt = r.pos;
      const tag = readTag(r, end);
      if (tag === 0x0a && resourcesFirst) {
        r.pos = readLength(r, end);
      } else if (tag === 0x0a) {
        r.invalidUtf8 = '';
        read(r, readLength(r, end), object);
        if (invalid === '' && r.invalidUtf8 !== '') invalid = `${name}.${r.invalidUtf8}`;
      } else if (tag === 0x1a) {
        r.invalidUtf8 = '';
        object.schemaUrl = readString(r, end, SCHEMA_URL_FIELDS[name]);
        if (invalid === '') invalid = r.invalidUtf8;
      } else {
        skipField(r, tag, end, tagAt, 0);
      }
    }
    return invalid;
  }

  /** Calls `each` with the end of every field 2 (scope_spans, spans) of the message [start, end). */
  private forEachField2(start: number, end: number, each: (stop: number) => void): void {
    const r = this.r;
    r.pos = start;
    while (r.pos < end) {
      const tagAt = r.pos;
      const tag = readTag(r, end);
      if (tag === 0x12) each(readLength(r, end));
      else skipField(r, tag, end, tagAt, 0);
    }
  }

  /** A resource or scope, truncated and encoded once, as limitAttributeValues and encodeRowBinary do. */
  private share<T extends Resource | InstrumentationScope>(
    object: T,
    encode: (o: T) => Buffer,
    kindPrefix: string,
    list: Array<Shared<T>>,
  ): Shared<T> {
    let stored = object;
    let truncated = 0;
    if (this.hasLongValue(object.attributes)) {
      // Truncated in a copy: the reference truncates after decoding, so its retention rules
      // saw the values as sent.
      stored = { ...object, attributes: { ...object.attributes } };
      if (object.attributeKinds !== undefined) stored.attributeKinds = { ...object.attributeKinds };
      truncated = limitHolder(stored as AttributeHolder, this.maxValueBytes);
      if (truncated > 0) this.anyTruncation = true;
    }
    let kinds: Buffer = NO_BYTES;
    let kindCount = 0;
    if (stored.attributeKinds !== undefined) {
      const w = new RowBinaryWriter(64);
      kindCount = w.mapEntries(stored.attributeKinds, kindPrefix);
      kinds = w.finish();
    }
    const shared: Shared<T> = { object, stored, bytes: encode(stored), kinds, kindCount, truncated, index: list.length, bytesAt: -1, kindsAt: -1 };
    list.push(shared);
    return shared;
  }

  private hasLongValue(attributes: Record<string, string>): boolean {
    for (const key in attributes) if (attributes[key]!.length > this.longValue) return true;
    return false;
  }

  /** Takes back the rows kept since `first` (of a resource or scope with invalid UTF-8) and rejects them. */
  private rejectSince(first: number, firstAt: number, resource: Resource, scope: InstrumentationScope | undefined, field: string): void {
    const count = this.rows.count - first;
    if (count === 0) return;
    this.rows.count = first;
    this.rows.w.rewind(firstAt);
    // Rows from there on are gone: nothing may be copied from them.
    for (const shared of [...this.resources, ...this.scopes]) {
      if (shared.bytesAt >= firstAt) shared.bytesAt = -1;
      if (shared.kindsAt >= firstAt) shared.kindsAt = -1;
    }
    if (this.lastTraceOut >= firstAt) this.lastTraceOut = -1;
    if (this.lastKinds.at >= firstAt) this.lastKinds.at = -1;
    for (const row of this.ownTruncations.keys()) if (row >= first) this.ownTruncations.delete(row);
    this.log.rejectGroup(count, scope, `invalid UTF-8 in ${field}`, resource);
  }

  private span(end: number, resource: Shared<Resource>, scope: Shared<InstrumentationScope>, spanIndex: number): void {
    const r = this.r;
    const start = r.pos;
    const rowAt = this.rows.w.length;
    if (this.fastSpan(end, resource, scope)) {
      transcodeCounters.fastSpans++;
      r.pos = end;
      return;
    }
    // The slow path: the reference decoder and encoder, for this span only.
    transcodeCounters.slowSpans++;
    this.rows.w.rewind(rowAt);
    r.pos = start;
    const out: Span[] = [];
    readSpan(r, end, resource.object, scope.object, out, this.log, spanIndex);
    const span = out[0];
    if (span === undefined) return;
    // Rules matched the resource and scope as sent; the row gets them as stored (truncated).
    span.resource = resource.stored;
    span.scope = scope.stored;
    let truncated = limitHolder(span, this.maxValueBytes);
    for (const event of span.events) truncated += limitHolder(event, this.maxValueBytes);
    for (const link of span.links) truncated += limitHolder(link, this.maxValueBytes);
    if (truncated > 0) {
      this.ownTruncations.set(this.rows.count, truncated);
      this.anyTruncation = true;
    }
    this.rows.objectRow(span, resource.bytes, scope.bytes, resource.index, scope.index);
  }

  /**
   * Writes the span's row straight from the request bytes; false (with a half-written row) when
   * the span needs the slow path. Throws OtlpDecodeError on malformed bytes.
   */
  private fastSpan(end: number, resource: Shared<Resource>, scope: Shared<InstrumentationScope>): boolean {
    const r = this.r;
    const spanAt = r.pos;
    const bytes = this.bytes;
    let seen = 0;
    let traceIdAt = 0;
    let traceIdLength = 0;
    let spanIdAt = 0;
    let spanIdLength = 0;
    let parentIdAt = 0;
    let parentIdLength = 0;
    let traceStateAt = 0;
    let traceStateEnd = 0;
    let nameAt = 0;
    let nameEnd = 0;
    let kind = 0;
    let startAt = -1;
    let endAt = -1;
    let flags = 0;
    let droppedAttributes = 0;
    let droppedEvents = 0;
    let droppedLinks = 0;
    let statusAt = 0;
    let statusEnd = 0;
    this.kvCount = 0;
    let eventCount = 0;
    let linkCount = 0;
    const kvs = this.kvs;
    while (r.pos < end) {
      const tagAt = r.pos;
      const tag = readTag(r, end);
      switch (tag) {
        case 0x0a: // 1 trace_id
          traceIdLength = lengthEnd(r, end) - r.pos;
          traceIdAt = r.pos;
          r.pos += traceIdLength;
          break;
        case 0x12: // 2 span_id
          spanIdLength = lengthEnd(r, end) - r.pos;
          spanIdAt = r.pos;
          r.pos += spanIdLength;
          break;
        case 0x1a: // 3 trace_state
          if ((seen & TRACE_STATE) !== 0) return false;
          seen |= TRACE_STATE;
          traceStateEnd = lengthEnd(r, end);
          traceStateAt = r.pos;
          r.pos = traceStateEnd;
          break;
        case 0x22: // 4 parent_span_id
          parentIdLength = lengthEnd(r, end) - r.pos;
          parentIdAt = r.pos;
          r.pos += parentIdLength;
          break;
        case 0x2a: // 5 name
          if ((seen & NAME) !== 0) return false;
          seen |= NAME;
          nameEnd = lengthEnd(r, end);
          nameAt = r.pos;
          r.pos = nameEnd;
          break;
        case 0x30: {
          // 6 kind: nearly always one varint byte
          const b = bytes[r.pos]!;
          if (r.pos < end && b < 0x80) {
            kind = b;
            r.pos++;
          } else {
            kind = readInt32(r, end);
          }
          break;
        }
        case 0x39: // 7 start_time_unix_nano (fixed64)
          startAt = checkFixed(r, end, 8);
          break;
        case 0x41: // 8 end_time_unix_nano (fixed64)
          endAt = checkFixed(r, end, 8);
          break;
        case 0x4a: {
          // 9 attributes
          const stop = lengthEnd(r, end);
          if (this.kvCount === SCRATCH) return false;
          kvs[2 * this.kvCount] = r.pos;
          kvs[2 * this.kvCount++ + 1] = stop;
          r.pos = stop;
          break;
        }
        case 0x50: // 10 dropped_attributes_count
          droppedAttributes = readUint32(r, end);
          break;
        case 0x5a: {
          // 11 events
          const stop = lengthEnd(r, end);
          if (eventCount === SCRATCH) return false;
          this.events[8 * eventCount] = r.pos;
          this.events[8 * eventCount++ + 1] = stop;
          r.pos = stop;
          break;
        }
        case 0x60: // 12 dropped_events_count
          droppedEvents = readUint32(r, end);
          break;
        case 0x6a: {
          // 13 links
          const stop = lengthEnd(r, end);
          if (linkCount === SCRATCH) return false;
          this.links[12 * linkCount] = r.pos;
          this.links[12 * linkCount++ + 1] = stop;
          r.pos = stop;
          break;
        }
        case 0x70: // 14 dropped_links_count
          droppedLinks = readUint32(r, end);
          break;
        case 0x7a: // 15 status
          if ((seen & STATUS) !== 0) return false;
          seen |= STATUS;
          statusEnd = lengthEnd(r, end);
          statusAt = r.pos;
          r.pos = statusEnd;
          break;
        case 0x85: // 16 flags (fixed32)
          flags = readFixed32(r, end);
          break;
        default:
          skipField(r, tag, end, tagAt, 0);
      }
    }
    const spanKvs = this.kvCount;

    // What readSpan would reject (or look at more closely) goes to the slow path.
    if (traceIdLength !== 16 || isAllZero(bytes, traceIdAt, 16)) return false;
    if (spanIdLength !== 8 || isAllZero(bytes, spanIdAt, 8)) return false;
    if (parentIdLength !== 0 && parentIdLength !== 8) return false;
    if (startAt < 0) return false; // no start: refused, or kept when there is no age check
    const view = this.view;
    const startLo = view.getUint32(startAt, true);
    const startHi = view.getUint32(startAt + 4, true);
    if ((startLo | startHi) === 0) return false;
    // Older than some retention rule allows (SpanTimeRules decides), or beyond DateTime's range.
    if (startHi < this.youngHi || (startHi === this.youngHi && startLo < this.youngLo)) return false;
    if (startHi >= START_LIMIT_HI) return false;
    for (let i = 0; i < eventCount; i++) if (!this.scanEvent(i)) return false;
    for (let i = 0; i < linkCount; i++) if (!this.scanLink(i)) return false;
    let statusCode = 0;
    let statusMessage = '';
    if (statusEnd > 0) {
      r.pos = statusAt;
      r.statusCode = 0;
      r.statusMessage = '';
      r.invalidUtf8 = '';
      readStatus(r, statusEnd);
      if (r.invalidUtf8 !== '') return false;
      statusCode = r.statusCode;
      statusMessage = r.statusMessage;
    }
    const endLo = endAt < 0 ? 0 : view.getUint32(endAt, true);
    const endHi = endAt < 0 ? 0 : view.getUint32(endAt + 4, true);

    // The row, column by column (INSERT_COLUMNS). Room first: copied strings take what they
    // took in the request, IDs twice that, a field absent from the request at most a few
    // bytes per tag of what is there; values formatted as text and AttributeKinds entries
    // make their own room.
    const rows = this.rows;
    const w = rows.w;
    w.reserve(8 * (end - spanAt) + resource.bytes.length + resource.kinds.length + scope.bytes.length + scope.kinds.length + 1024);
    w.copy(startAt, startAt + 8);
    const traceOut = w.length;
    if (this.lastTraceOut >= 0 && sameWords(view, this.lastTraceIn, traceIdAt)) w.copyRows(this.lastTraceOut, this.lastTraceOut + 33);
    else w.hex(traceIdAt, 16);
    w.hex(spanIdAt, 8);
    if (parentIdLength === 0 || isAllZero(bytes, parentIdAt, 8)) w.byte(0);
    else w.hex(parentIdAt, 8);
    if (!this.text(traceStateAt, traceStateEnd)) return false;
    const nameRowAt = w.length;
    if (!this.text(nameAt, nameEnd)) return false;
    w.constant(KIND_NAMES[kind] ?? EMPTY_STRING);
    const resourceAt = this.shared(resource.bytesAt, resource.bytes);
    const scopeAt = this.shared(scope.bytesAt, scope.bytes);
    this.kindCount = 0;
    if (!this.writeAttributes(0, spanKvs, 0)) return false;
    const spanKinds = this.kindCount;
    // Duration (end − start when later) and EndBeforeStart (start − end when earlier), as uint64.
    const later = endHi > startHi || (endHi === startHi && endLo > startLo);
    const earlier = endHi < startHi || (endHi === startHi && endLo < startLo);
    const durationLo = later ? (endLo - startLo) >>> 0 : 0;
    const durationHi = later ? (endHi - startHi - (endLo < startLo ? 1 : 0)) >>> 0 : 0;
    w.u32(durationLo);
    w.u32(durationHi);
    w.constant(STATUS_NAMES[statusCode] ?? EMPTY_STRING);
    if (statusMessage === '') w.byte(0);
    else w.string(statusMessage);
    const events = this.events;
    w.count(eventCount);
    for (let i = 0; i < eventCount; i++) {
      const timeAt = events[8 * i + 4]!;
      if (timeAt < 0) {
        w.u32(0);
        w.u32(0);
      } else {
        w.copy(timeAt, timeAt + 8);
      }
    }
    w.count(eventCount);
    for (let i = 0; i < eventCount; i++) if (!this.text(events[8 * i + 5]!, events[8 * i + 6]!)) return false;
    w.count(eventCount);
    for (let i = 0; i < eventCount; i++) if (!this.writeAttributes(events[8 * i + 2]!, events[8 * i + 3]!, 1 + 2 * i)) return false;
    const links = this.links;
    w.count(linkCount);
    for (let i = 0; i < linkCount; i++) this.linkId(links[12 * i + 2]!, links[12 * i + 3]!);
    w.count(linkCount);
    for (let i = 0; i < linkCount; i++) this.linkId(links[12 * i + 4]!, links[12 * i + 5]!);
    w.count(linkCount);
    for (let i = 0; i < linkCount; i++) if (!this.text(links[12 * i + 6]!, links[12 * i + 7]!)) return false;
    w.count(linkCount);
    for (let i = 0; i < linkCount; i++) if (!this.writeAttributes(links[12 * i + 8]!, links[12 * i + 9]!, 2 + 2 * i)) return false;
    w.reserve(64 + 12 * (eventCount + 2 * linkCount));
    w.u32(flags);
    w.u32(droppedAttributes);
    w.u32(droppedEvents);
    w.u32(droppedLinks);
    w.count(eventCount);
    for (let i = 0; i < eventCount; i++) w.u32(events[8 * i + 7]!);
    w.count(linkCount);
    for (let i = 0; i < linkCount; i++) w.u32(links[12 * i + 10]!);
    w.count(linkCount);
    for (let i = 0; i < linkCount; i++) w.u32(links[12 * i + 11]!);
    this.writeKinds(spanKinds, resource, scope);
    w.reserve(8);
    w.u32(earlier ? (startLo - endLo) >>> 0 : 0);
    w.u32(earlier ? (startHi - endHi - (startLo < endLo ? 1 : 0)) >>> 0 : 0);

    // The row is complete: later rows may copy from it.
    if (resource.bytesAt < 0) resource.bytesAt = resourceAt;
    if (scope.bytesAt < 0) scope.bytesAt = scopeAt;
    if (resource.kindsAt < 0) resource.kindsAt = this.resourceKindsAt;
    if (scope.kindsAt < 0) scope.kindsAt = this.scopeKindsAt;
    this.lastTraceIn = traceIdAt;
    this.lastTraceOut = traceOut;

    // The summary.
    rows.reserve();
    const i = rows.count++;
    rows.resourceIndex[i] = resource.index;
    rows.scopeIndex[i] = scope.index;
    rows.kind[i] = kind;
    rows.statusCode[i] = statusCode;
    const times = rows.times;
    times[4 * i] = startLo;
    times[4 * i + 1] = startHi;
    times[4 * i + 2] = durationLo;
    times[4 * i + 3] = durationHi;
    const traceWords = rows.traceWords;
    traceWords[4 * i] = view.getUint32(traceIdAt, true);
    traceWords[4 * i + 1] = view.getUint32(traceIdAt + 4, true);
    traceWords[4 * i + 2] = view.getUint32(traceIdAt + 8, true);
    traceWords[4 * i + 3] = view.getUint32(traceIdAt + 12, true);
    rows.nameAt[i] = nameRowAt;
    return true;
  }

  /** A resource's or scope's bytes: copied from an earlier row when there is one; returns where they went. */
  private shared(at: number, bytes: Buffer): number {
    const w = this.rows.w;
    const to = w.length;
    if (bytes.length === 0) return to;
    if (at >= 0) w.copyRows(at, at + bytes.length);
    else w.bytes(bytes);
    return to;
  }

  /** Event `i`: its time, name, attributes and dropped count into the scratch; false for the slow path. */
  private scanEvent(i: number): boolean {
    const r = this.r;
    const events = this.events;
    const end = events[8 * i + 1]!;
    r.pos = events[8 * i]!;
    let timeAt = -1;
    let nameAt = 0;
    let nameEnd = 0;
    let named = false;
    let dropped = 0;
    const first = this.kvCount;
    while (r.pos < end) {
      const tagAt = r.pos;
      const tag = readTag(r, end);
      switch (tag) {
        case 0x09: // 1 time_unix_nano (fixed64)
          timeAt = checkFixed(r, end, 8);
          break;
        case 0x12: // 2 name
          if (named) return false;
          named = true;
          nameEnd = lengthEnd(r, end);
          nameAt = r.pos;
          r.pos = nameEnd;
          break;
        case 0x1a: {
          // 3 attributes
          const stop = lengthEnd(r, end);
          if (!this.pushKv(r.pos, stop)) return false;
          r.pos = stop;
          break;
        }
        case 0x20: // 4 dropped_attributes_count
          dropped = readUint32(r, end);
          break;
        default:
          skipField(r, tag, end, tagAt, 0);
      }
    }
    // A time of 2^63 ns or more is refused (span-validation.ts).
    if (timeAt >= 0 && this.bytes[timeAt + 7]! >= 0x80) return false;
    events[8 * i + 2] = first;
    events[8 * i + 3] = this.kvCount;
    events[8 * i + 4] = timeAt;
    events[8 * i + 5] = nameAt;
    events[8 * i + 6] = nameEnd;
    events[8 * i + 7] = dropped;
    return true;
  }

  /** Link `i` into the scratch; false for the slow path (including IDs readLink refuses). */
  private scanLink(i: number): boolean {
    const r = this.r;
    const links = this.links;
    const end = links[12 * i + 1]!;
    r.pos = links[12 * i]!;
    let traceIdAt = 0;
    let traceIdLength = 0;
    let spanIdAt = 0;
    let spanIdLength = 0;
    let stateAt = 0;
    let stateEnd = 0;
    let stated = false;
    let flags = 0;
    let dropped = 0;
    const first = this.kvCount;
    while (r.pos < end) {
      const tagAt = r.pos;
      const tag = readTag(r, end);
      switch (tag) {
        case 0x0a: // 1 trace_id
          traceIdLength = lengthEnd(r, end) - r.pos;
          traceIdAt = r.pos;
          r.pos += traceIdLength;
          break;
        case 0x12: // 2 span_id
          spanIdLength = lengthEnd(r, end) - r.pos;
          spanIdAt = r.pos;
          r.pos += spanIdLength;
          break;
        case 0x1a: // 3 trace_state
          if (stated) return false;
          stated = true;
          stateEnd = lengthEnd(r, end);
          stateAt = r.pos;
          r.pos = stateEnd;
          break;
        case 0x22: {
          // 4 attributes
          const stop = lengthEnd(r, end);
          if (!this.pushKv(r.pos, stop)) return false;
          r.pos = stop;
          break;
        }
        case 0x28: // 5 dropped_attributes_count
          dropped = readUint32(r, end);
          break;
        case 0x35: // 6 flags (fixed32)
          flags = readFixed32(r, end);
          break;
        default:
          skipField(r, tag, end, tagAt, 0);
      }
    }
    if ((traceIdLength !== 0 && traceIdLength !== 16) || (spanIdLength !== 0 && spanIdLength !== 8)) return false;
    links[12 * i + 2] = traceIdAt;
    links[12 * i + 3] = traceIdLength;
    links[12 * i + 4] = spanIdAt;
    links[12 * i + 5] = spanIdLength;
    links[12 * i + 6] = stateAt;
    links[12 * i + 7] = stateEnd;
    links[12 * i + 8] = first;
    links[12 * i + 9] = this.kvCount;
    links[12 * i + 10] = flags;
    links[12 * i + 11] = dropped;
    return true;
  }

  private pushKv(start: number, end: number): boolean {
    if (this.kvCount === SCRATCH) return false;
    this.kvs[2 * this.kvCount] = start;
    this.kvs[2 * this.kvCount++ + 1] = end;
    return true;
  }

  /** A link's trace or span ID: '' when absent or all zeros (linkIdHex), else hex. */
  private linkId(at: number, length: number): void {
    if (length === 0 || isAllZero(this.bytes, at, length)) this.rows.w.byte(0);
    else this.rows.w.hex(at, length);
  }

  /** A string field (bytes [start, end) of the request) copied as it is; false when it is not valid UTF-8 (readSpan rejects the span). */
  private text(start: number, end: number): boolean {
    return this.rows.w.copyString(start, end) || this.validUtf8(start, end);
  }

  /** ASCII is checked four bytes at a time; only other text costs a native call. */
  private validUtf8(start: number, end: number): boolean {
    const view = this.view;
    let high = 0;
    let i = start;
    for (; i + 4 <= end; i += 4) high |= view.getUint32(i, true);
    const bytes = this.bytes;
    for (; i < end; i++) high |= bytes[i]!;
    return (high & 0x80808080) === 0 || isUtf8(bytes.subarray(start, end));
  }

  /**
   * The attribute map of KeyValues [first, last) of the scratch. `holder` names them in
   * AttributeKinds: 0 the span, 1 + 2i event i, 2 + 2i link i. False for the slow path: a
   * repeated key or one a JS object would order first (an integer index), a value over the
   * size limit, invalid UTF-8, or a KeyValue of unusual shape.
   */
  private writeAttributes(first: number, last: number, holder: number): boolean {
    const r = this.r;
    const bytes = this.bytes;
    const kvs = this.kvs;
    const w = this.rows.w;
    const countAt = w.beginMap();
    if (scratch.generation === 0x3fffffff) {
      scratch.keyStamps.fill(0);
      scratch.generation = 0;
    }
    const generation = ++scratch.generation;
    this.mapKeyCount = 0;
    for (let k = first; k < last; k++) {
      const start = kvs[2 * k]!;
      const end = kvs[2 * k + 1]!;
      let keyAt = 0;
      let keyEnd = 0;
      let valueAt = -1;
      let valueEnd = 0;
      // The usual layout, key then value, with one-byte lengths: read in place.
      const keyLength = bytes[start + 1]!;
      if (bytes[start] === 0x0a && keyLength < 0x80 && start + 2 + keyLength <= end) {
        keyAt = start + 2;
        keyEnd = keyAt + keyLength;
        if (keyEnd < end) {
          const valueLength = bytes[keyEnd + 1]!;
          if (bytes[keyEnd] === 0x12 && valueLength < 0x80 && keyEnd + 2 + valueLength === end) {
            valueAt = keyEnd + 2;
            valueEnd = end;
          } else {
            keyEnd = 0;
          }
        }
      }
      if (keyEnd === 0) {
        r.pos = start;
        keyAt = 0;
        valueAt = -1;
        while (r.pos < end) {
          const tag = readTag(r, end);
          if (tag === 0x0a && keyEnd === 0) {
            keyEnd = readLength(r, end);
            keyAt = r.pos;
            r.pos = keyEnd;
          } else if (tag === 0x12 && valueAt < 0) {
            valueEnd = readLength(r, end);
            valueAt = r.pos;
            r.pos = valueEnd;
          } else {
            return false; // repeated or unknown fields: rare, left to readKeyValue
          }
        }
      }
      if (!w.copyKey(keyAt, keyEnd) && !this.validUtf8(keyAt, keyEnd)) return false;
      if (!this.newKey(keyAt, keyEnd, generation, w.hash)) return false;
      if (valueAt < 0) {
        // A KeyValue without a value holds an empty AnyValue.
        w.byte(0);
        this.addKind(keyAt, keyEnd, holder, EMPTY_KIND);
        continue;
      }
      if (valueAt < valueEnd) {
        const tag = bytes[valueAt]!;
        if (tag === 0x0a) {
          // The usual value: an AnyValue holding just a string_value.
          const length = bytes[valueAt + 1]!;
          if (length < 0x80 && valueAt + 2 + length === valueEnd && length <= this.maxValueBytes) {
            if (!this.text(valueAt + 2, valueEnd)) return false;
            continue;
          }
          r.pos = valueAt + 1;
          const stringEnd = readLength(r, valueEnd);
          if (stringEnd === valueEnd) {
            if (stringEnd - r.pos > this.maxValueBytes) return false; // to be truncated
            if (!this.text(r.pos, stringEnd)) return false;
            continue;
          }
        } else if (tag === 0x18 && valueEnd - valueAt <= 5) {
          // A small non-negative int_value (up to 4 varint bytes, below 2^28).
          let n = 0;
          let shift = 0;
          let p = valueAt + 1;
          let b = 0x80;
          while (p < valueEnd && b >= 0x80) {
            b = bytes[p++]!;
            n |= (b & 0x7f) << shift;
            shift += 7;
          }
          if (b < 0x80 && p === valueEnd) {
            w.decimal(n);
            this.addKind(keyAt, keyEnd, holder, INT_KIND);
            continue;
          }
        } else if (tag === 0x10 && valueEnd === valueAt + 2 && bytes[valueAt + 1]! <= 1) {
          w.constant(bytes[valueAt + 1] === 1 ? TRUE : FALSE);
          this.addKind(keyAt, keyEnd, holder, BOOL_KIND);
          continue;
        }
      }
      // Any other value: formatted by the decoder's own code (value-format.ts).
      r.pos = valueAt;
      r.invalidUtf8 = '';
      const value = readAnyValue(r, valueEnd);
      if (r.invalidUtf8 !== '' || value.length > this.longValue) return false;
      w.string(value);
      if (r.kind !== undefined) this.addKind(keyAt, keyEnd, holder, VALUE_KIND_BYTES[r.kind]!);
    }
    w.endMap(countAt, last - first);
    return true;
  }

  /**
   * Whether the key can go to the map as it comes: not an integer index (a JS object lists
   * those first) and not seen before in this map (an object keeps one entry). Anything that
   * looks like either goes to the slow path, which builds the object.
   */
  private newKey(keyAt: number, keyEnd: number, generation: number, hash: number): boolean {
    const bytes = this.bytes;
    const length = keyEnd - keyAt;
    const c = bytes[keyAt]!;
    if (length > 0 && length <= 10 && c >= 0x30 && c <= 0x39) {
      let digits = true;
      for (let i = keyAt + 1; i < keyEnd && digits; i++) digits = bytes[i]! >= 0x30 && bytes[i]! <= 0x39;
      if (digits) return false;
    }
    const slot = hash >>> (32 - KEY_SLOT_BITS);
    const n = this.mapKeyCount++;
    this.mapKeys[2 * n] = keyAt;
    this.mapKeys[2 * n + 1] = keyEnd;
    if (this.keyStamps[slot] !== generation) {
      this.keyStamps[slot] = generation;
      this.keyAt[2 * slot] = keyAt;
      this.keyAt[2 * slot + 1] = keyEnd;
      return true;
    }
    // The slot is taken: the same key again, or (rarely) another key with the same hash.
    if (sameKey(bytes, this.keyAt[2 * slot]!, this.keyAt[2 * slot + 1]!, keyAt, keyEnd)) return false;
    for (let j = 0; j < n; j++) if (sameKey(bytes, this.mapKeys[2 * j]!, this.mapKeys[2 * j + 1]!, keyAt, keyEnd)) return false;
    return true;
  }

  private addKind(keyAt: number, keyEnd: number, holder: number, kind: Buffer): void {
    const n = this.kindCount++;
    if (3 * n + 3 > this.kindKeys.length) {
      const bigger = new Int32Array(this.kindKeys.length * 2);
      bigger.set(this.kindKeys);
      this.kindKeys = scratch.kindKeys = bigger;
    }
    this.kindKeys[3 * n] = keyAt;
    this.kindKeys[3 * n + 1] = keyEnd;
    this.kindKeys[3 * n + 2] = holder;
    this.kindNames[n] = kind;
  }

  /**
   * The AttributeKinds map: the span's kinds, the resource's, the scope's, then events' and
   * links'. Leaves where the resource's and the scope's entries went in resourceKindsAt and
   * scopeKindsAt (fields, not a returned pair: that cost an array per span).
   */
  private writeKinds(spanKinds: number, resource: Shared<Resource>, scope: Shared<InstrumentationScope>): void {
    const w = this.rows.w;
    const keys = this.kindKeys;
    // Spans of one kind usually have the same non-string keys: then the map is the previous
    // row's, copied whole.
    const last = this.lastKinds;
    if (last.at >= 0 && last.resource === resource && last.scope === scope && last.spanKinds === spanKinds && this.sameKinds(last)) {
      w.reserve(last.end - last.at);
      w.copyRows(last.at, last.end);
      this.resourceKindsAt = resource.kindsAt;
      this.scopeKindsAt = scope.kindsAt;
      return;
    }
    w.reserve(5);
    const countAt = w.beginMap();
    for (let n = 0; n < spanKinds; n++) this.kindEntry(SPAN_PREFIX, keys[3 * n]!, keys[3 * n + 1]!, this.kindNames[n]!);
    w.reserve(resource.kinds.length + scope.kinds.length);
    this.resourceKindsAt = this.shared(resource.kindsAt, resource.kinds);
    this.scopeKindsAt = this.shared(scope.kindsAt, scope.kinds);
    for (let n = spanKinds; n < this.kindCount; n++) {
      const holder = keys[3 * n + 2]!;
      const prefix = (holder & 1) === 1 ? prefixOf(eventPrefixes, 'event', (holder - 1) >> 1) : prefixOf(linkPrefixes, 'link', (holder - 2) >> 1);
      this.kindEntry(prefix, keys[3 * n]!, keys[3 * n + 1]!, this.kindNames[n]!);
    }
    w.endMap(countAt, this.kindCount + resource.kindCount + scope.kindCount);
    if (resource.kindsAt >= 0 && scope.kindsAt >= 0) {
      // Remembered for the next rows (the resource's and scope's entries are copied from an
      // earlier row here, so the map holds no first copy a later row would need).
      last.at = countAt;
      last.end = w.length;
      last.resource = resource;
      last.scope = scope;
      last.spanKinds = spanKinds;
      last.count = this.kindCount;
      last.keys.set(keys.subarray(0, 3 * this.kindCount));
      for (let n = 0; n < this.kindCount; n++) last.names[n] = this.kindNames[n]!;
    }
  }

  /** Whether this span's non-string keys and kinds are those of the map `last` remembers. */
  private sameKinds(last: LastKinds): boolean {
    if (last.count !== this.kindCount) return false;
    const keys = this.kindKeys;
    for (let n = 0; n < last.count; n++) {
      if (last.names[n] !== this.kindNames[n] || last.keys[3 * n + 2] !== keys[3 * n + 2]) return false;
      if (!sameKey(this.bytes, last.keys[3 * n]!, last.keys[3 * n + 1]!, keys[3 * n]!, keys[3 * n + 1]!)) return false;
    }
    return true;
  }

  /** One AttributeKinds entry: `prefix + key` → kind name. */
  private kindEntry(prefix: Uint8Array, keyAt: number, keyEnd: number, kind: Buffer): void {
    const w = this.rows.w;
    let length = prefix.length + keyEnd - keyAt;
    w.reserve(length + kind.length + 5);
    while (length > 0x7f) {
      w.byte((length & 0x7f) | 0x80);
      length >>>= 7;
    }
    w.byte(length);
    w.constant(prefix);
    w.copy(keyAt, keyEnd);
    w.constant(kind);
  }
}

/** readLength with the usual one-byte length read in place (most of a span's fields). */
function lengthEnd(r: ProtoReader, end: number): number {
  const at = r.pos;
  if (at < end) {
    const length = r.bytes[at]!;
    if (length < 0x80 && length < end - at) {
      r.pos = at + 1;
      return at + 1 + length;
    }
  }
  return readLength(r, end);
}

/** Whether the 16 bytes at `a` and at `b` are equal. */
function sameWords(view: DataView, a: number, b: number): boolean {
  return (
    view.getUint32(a, true) === view.getUint32(b, true) &&
    view.getUint32(a + 4, true) === view.getUint32(b + 4, true) &&
    view.getUint32(a + 8, true) === view.getUint32(b + 8, true) &&
    view.getUint32(a + 12, true) === view.getUint32(b + 12, true)
  );
}

function sameKey(bytes: Buffer, a: number, aEnd: number, b: number, bEnd: number): boolean {
  if (aEnd - a !== bEnd - b) return false;
  for (let i = 0; i < aEnd - a; i++) if (bytes[a + i] !== bytes[b + i]) return false;
  return true;
}

const KEY_SLOT_BITS = 12;
const KEY_SLOTS = 1 << KEY_SLOT_BITS;

/** The Transcoder's scratch arrays (see there), shared by all requests. */
const scratch = {
  kvs: new Int32Array(2 * SCRATCH),
  events: new Float64Array(8 * SCRATCH),
  links: new Float64Array(12 * SCRATCH),
  kindKeys: new Int32Array(3 * SCRATCH),
  kindNames: [] as Buffer[],
  keyStamps: new Int32Array(KEY_SLOTS),
  keyAt: new Int32Array(2 * KEY_SLOTS),
  /** Stamp of the map being written; stamps of earlier maps are smaller. */
  generation: 0,
  mapKeys: new Int32Array(2 * SCRATCH),
};
