/**
 * A single-pass decoder for `opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest`
 * that writes the collector's span model (model/span.ts) directly: no intermediate OTLP
 * object tree, every string decoded once, attribute values rendered as pdata's AsString().
 *
 * Protobuf rules it follows: fields may come in any order and repeat (last scalar wins,
 * repeated message fields merge), unknown fields and known fields with an unexpected wire
 * type are skipped (forward compatibility), and every length is checked against the end of
 * its enclosing message. Malformed input raises OtlpDecodeError with the byte offset.
 *
 * Strings must be valid UTF-8 (proto3): a span holding an invalid one is rejected (partial
 * success naming the field) rather than stored rewritten; an invalid string in a resource or
 * scope rejects that resource's or scope's spans.
 */
import type {
  AttributeKinds,
  Attributes,
  InstrumentationScope,
  Resource,
  Span,
  SpanEvent,
  SpanLink,
  ValueKind,
} from '../../model/span.js';
import {
  RejectionLog,
  hasRepeatedKeys,
  idLengthProblem,
  newResource,
  optionalIdLengthProblem,
  newScope,
  putAttribute,
  serviceNameOf,
  setKinds,
  type DecodedTraces,
} from './decoded-traces.js';
import { isUtf8 } from 'node:buffer';
import { OtlpDecodeError } from './errors.js';
import { SpanTimeRules, type DecodeOptions } from './span-validation.js';
import { DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES, limitAttributeValues, longValueChars } from './value-limit.js';
import { KvlistJsonBuilder, MAX_VALUE_DEPTH, bytesAsJson, doubleAsJson, doubleAsString, quoteJsonString } from './value-format.js';

export { OtlpDecodeError } from './errors.js';
export type { DecodedTraces } from './decoded-traces.js';
export type { DecodeOptions } from './span-validation.js';

/**
 * Decodes a protobuf ExportTraceServiceRequest; throws OtlpDecodeError on malformed bytes.
 * Spans the store could not keep as sent (see span-validation.ts) are rejected.
 */
export function decodeTraceRequest(bytes: Uint8Array, options?: DecodeOptions): DecodedTraces {
  if (!(bytes instanceof Uint8Array)) throw new OtlpDecodeError('request body is not a byte array');
  const r = new ProtoReader(bytes, new SpanTimeRules(options));
  const maxValueBytes = options?.maxAttributeValueBytes ?? DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES;
  r.longValueChars = longValueChars(maxValueBytes);
  const spans: Span[] = [];
  const log = new RejectionLog();
  const end = bytes.length;
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = readTag(r, end);
    if (tag === 0x0a) {
      // 1 resource_spans (LEN)
      const stop = readLength(r, end);
      readResourceSpans(r, stop, spans, log);
    } else {
      skipField(r, tag, end, tagAt, 0);
    }
  }
  const result = log.result(spans);
  if (r.longValues) {
    const truncations = limitAttributeValues(result.spans, maxValueBytes);
    if (truncations.length > 0) result.truncations = truncations;
  }
  return result;
}

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_SGROUP = 3;
const WIRE_EGROUP = 4;
const WIRE_I32 = 5;

/**
 * Cursor over the request plus a few out-parameters that spare allocations on the hot path.
 * Exported, with the message readers and wire primitives below, for rowbinary-transcoder.ts,
 * which copies what it can straight into rows and calls these for everything else.
 */
export class ProtoReader {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** The same memory as a Buffer, for Node's native UTF-8, hex and base64 slicing. */
  readonly text: Buffer;
  readonly timeRules: SpanTimeRules;
  pos = 0;
  /** High 32 bits of the last varint read. */
  hi = 0;
  /** Kind of the last AnyValue read (undefined for a string). */
  kind: ValueKind | undefined = undefined;
  /** Key of the last nested KeyValue read. */
  key = '';
  statusCode = 0;
  statusMessage = '';
  /** Consecutive spans usually share a trace and a parent: reuse the previous hex string. */
  lastTraceIdAt = -1;
  lastTraceId = '';
  lastParentIdAt = -1;
  lastParentId = '';
  /** The first field holding invalid UTF-8 since the enclosing message reset it ('' for none). */
  invalidUtf8 = '';
  /** Attribute values longer than this (UTF-16 units) may be over the size limit (value-limit.ts). */
  longValueChars = Infinity;
  /** Some attribute value was longer than longValueChars: run the truncation pass. */
  longValues = false;

  constructor(bytes: Uint8Array, timeRules: SpanTimeRules) {
    this.bytes = bytes;
    this.timeRules = timeRules;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
}

// ---------------------------------------------------------------------------------------
// Messages. Tags are written as literals (field << 3 | wire type) so that V8 compiles each
// switch to a jump table; the comment names the field.

function readResourceSpans(r: ProtoReader, end: number, out: Span[], log: RejectionLog): void {
  // Created before its fields are seen: spans reference it, resource and schema_url may come later.
  const resource = newResource();
  const first = out.length;
  let invalid = '';
  // Retention rules by service judge spans by `service.name`: a resource sent after its spans
  // (rare: SDKs write it first) is read ahead, so that every span is judged by its own rule.
  const readAhead = r.timeRules.needsServiceName && r.pos < end && r.bytes[r.pos] !== 0x0a;
  if (readAhead) invalid = readResourcesAhead(r, end, resource);
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = readTag(r, end);
    switch (tag) {
      case 0x0a: // 1 resource
        if (readAhead) {
          r.pos = readLength(r, end);
          break;
        }
        r.invalidUtf8 = '';
        readResource(r, readLength(r, end), resource);
        if (invalid === '' && r.invalidUtf8 !== '') invalid = `resource.${r.invalidUtf8}`;
        break;
      case 0x12: // 2 scope_spans
        readScopeSpans(r, readLength(r, end), resource, out, log);
        break;
      case 0x1a: // 3 schema_url
        r.invalidUtf8 = '';
        resource.schemaUrl = readString(r, end, 'resource schema_url');
        if (invalid === '') invalid = r.invalidUtf8;
        break;
      default: // includes the removed instrumentation_library_spans (1000)
        skipField(r, tag, end, tagAt, 0);
    }
  }
  if (invalid !== '') rejectSince(out, first, log, resource, undefined, invalid);
}

/** Reads every `resource` field of a ResourceSpans ahead of its spans, then rewinds; returns the invalid UTF-8 found, as the main loop would. */
export function readResourcesAhead(r: ProtoReader, end: number, resource: Resource): string {
  const start = r.pos;
  let invalid = '';
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = readTag(r, end);
    if (tag !== 0x0a) {
      skipField(r, tag, end, tagAt, 0);
      continue;
    }
    r.invalidUtf8 = '';
    readResource(r, readLength(r, end), resource);
    if (invalid === '' && r.invalidUtf8 !== '') invalid = `resource.${r.invalidUtf8}`;
  }
  r.pos = start;
  return invalid;
}

/** Rejects the spans kept since `first` (those of one resource or scope holding invalid UTF-8). */
function rejectSince(
  out: Span[],
  first: number,
  log: RejectionLog,
  resource: Resource,
  scope: InstrumentationScope | undefined,
  field: string,
): void {
  const count = out.length - first;
  out.length = first;
  if (count > 0) log.rejectGroup(count, scope, `invalid UTF-8 in ${field}`, resource);
}

export function readResource(r: ProtoReader, end: number, resource: Resource): void {
  let kinds = resource.attributeKinds;
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = readTag(r, end);
    switch (tag) {
      case 0x0a: // 1 attributes
        kinds = readKeyValue(r, readLength(r, end), resource.attributes, kinds, true, 'attributes');
        break;
      case 0x10: // 2 dropped_attributes_count
        resource.droppedAttributesCount = readUint32(r, end);
        break;
      default: // e.g. entity_refs (3)
        skipField(r, tag, end, tagAt, 0);
    }
  }
  setKinds(resource, kinds);
  resource.serviceName = serviceNameOf(resource.attributes);
}

function readScopeSpans(r: ProtoReader, end: number, resource: Resource, out: Span[], log: RejectionLog): void {
  const scope = newScope();
  let spanIndex = 0;
  const first = out.length;
  let invalid = '';
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = readTag(r, end);
    switch (tag) {
      case 0x0a: // 1 scope
        r.invalidUtf8 = '';
        readScope(r, readLength(r, end), scope);
        if (invalid === '' && r.invalidUtf8 !== '') invalid = `scope.${r.invalidUtf8}`;
        break;
      case 0x12: // 2 spans
        readSpan(r, readLength(r, end), resource, scope, out, log, spanIndex++);
        break;
      case 0x1a: // 3 schema_url
        r.invalidUtf8 = '';
        scope.schemaUrl = readString(r, end, 'scope schema_url');
        if (invalid === '') invalid = r.invalidUtf8;
        break;
      default:
        skipField(r, tag, end, tagAt, 0);
    }
  }
  if (invalid !== '') rejectSince(out, first, log, resource, scope, invalid);
}

export function readScope(r: ProtoReader, end: number, scope: InstrumentationScope): void {
  let kinds = scope.attributeKinds;
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = readTag(r, end);
    switch (tag) {
      case 0x0a: // 1 name
        scope.name = readString(r, end, 'name');
        break;
      case 0x12: // 2 version
        scope.version = readString(r, end, 'version');
        break;
      case 0x1a: // 3 attributes
        kinds = readKeyValue(r, readLength(r, end), scope.attributes, kinds, true, 'attributes');
        break;
      case 0x20: // 4 dropped_attributes_count
        scope.droppedAttributesCount = readUint32(r, end);
        break;
      default:
        skipField(r, tag, end, tagAt, 0);
    }
  }
  setKinds(scope, kinds);
}

export function readSpan(
  r: ProtoReader,
  end: number,
  resource: Resource,
  scope: InstrumentationScope,
  out: Span[],
  log: RejectionLog,
  spanIndex: number,
): void {
  const start = r.pos;
  // IDs are kept as positions and converted once the span is known to be valid.
  let traceIdAt = 0;
  let traceIdLength = 0;
  let spanIdAt = 0;
  let spanIdLength = 0;
  let parentIdAt = 0;
  let parentIdLength = 0;
  let traceState = '';
  let flags = 0;
  let name = '';
  let kind = 0;
  let startTime = 0n;
  let endTime = 0n;
  const attributes: Attributes = {};
  let kinds: AttributeKinds | undefined;
  let attributeCount = 0;
  let droppedAttributes = 0;
  const events: SpanEvent[] = [];
  let droppedEvents = 0;
  const links: SpanLink[] = [];
  let droppedLinks = 0;
  let linkProblem = '';
  let linkIndex = 0;
  r.statusCode = 0;
  r.statusMessage = '';
  r.invalidUtf8 = '';
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = readTag(r, end);
    switch (tag) {
      case 0x0a: // 1 trace_id
        traceIdLength = readLength(r, end) - r.pos;
        traceIdAt = r.pos;
        r.pos += traceIdLength;
        break;
      case 0x12: // 2 span_id
        spanIdLength = readLength(r, end) - r.pos;
        spanIdAt = r.pos;
        r.pos += spanIdLength;
        break;
      case 0x1a: // 3 trace_state
        traceState = readString(r, end, 'trace_state');
        break;
      case 0x22: // 4 parent_span_id
        parentIdLength = readLength(r, end) - r.pos;
        parentIdAt = r.pos;
        r.pos += parentIdLength;
        break;
      case 0x2a: // 5 name
        name = readString(r, end, 'name');
        break;
      case 0x30: // 6 kind (enum, int32)
        kind = readInt32(r, end);
        break;
      case 0x39: // 7 start_time_unix_nano (fixed64)
        startTime = readFixed64(r, end);
        break;
      case 0x41: // 8 end_time_unix_nano (fixed64)
        endTime = readFixed64(r, end);
        break;
      case 0x4a: // 9 attributes
        kinds = readKeyValue(r, readLength(r, end), attributes, kinds, false, 'attributes');
        attributeCount++;
        break;
      case 0x50: // 10 dropped_attributes_count
        droppedAttributes = readUint32(r, end);
        break;
      case 0x5a: {
        // 11 events
        const clean = r.invalidUtf8 === '';
        events.push(readEvent(r, readLength(r, end)));
        if (clean && r.invalidUtf8 !== '') r.invalidUtf8 = `events[${events.length - 1}].${r.invalidUtf8}`;
        break;
      }
      case 0x60: // 12 dropped_events_count
        droppedEvents = readUint32(r, end);
        break;
      case 0x6a: {
        // 13 links
        const clean = r.invalidUtf8 === '';
        const link = readLink(r, readLength(r, end));
        if (typeof link !== 'string') links.push(link);
        else if (linkProblem === '') linkProblem = `link ${links.length}: ${link}`;
        if (clean && r.invalidUtf8 !== '') r.invalidUtf8 = `links[${linkIndex}].${r.invalidUtf8}`;
        linkIndex++;
        break;
      }
      case 0x70: // 14 dropped_links_count
        droppedLinks = readUint32(r, end);
        break;
      case 0x7a: // 15 status
        readStatus(r, readLength(r, end));
        break;
      case 0x85: // 16 flags (fixed32)
        flags = readFixed32(r, end);
        break;
      default:
        skipField(r, tag, end, tagAt, 0);
    }
  }

  if (kinds !== undefined && hasRepeatedKeys(attributes, attributeCount)) kinds = rereadKinds(r, start, end, 0x4a);

  const problem =
    spanIdProblem(r, 'trace_id', traceIdAt, traceIdLength, 16) ||
    spanIdProblem(r, 'span_id', spanIdAt, spanIdLength, 8) ||
    optionalIdLengthProblem('parent_span_id', parentIdLength, 8) ||
    linkProblem ||
    (r.invalidUtf8 === '' ? '' : `invalid UTF-8 in ${r.invalidUtf8}`);
  if (problem !== '') {
    log.reject(spanIndex, scope, problem, resource);
    return;
  }
  if (!r.timeRules.admit(log, spanIndex, resource, scope, startTime, events, kind, r.statusCode, attributes)) return;

  const span: Span = {
    resource,
    scope,
    traceId: traceIdHex(r, traceIdAt),
    spanId: r.text.toString('hex', spanIdAt, spanIdAt + 8),
    parentSpanId: parentIdLength === 0 ? '' : parentIdHex(r, parentIdAt),
    traceState,
    flags,
    name,
    kind,
    startTimeUnixNano: startTime,
    endTimeUnixNano: endTime,
    attributes,
    droppedAttributesCount: droppedAttributes,
    events,
    droppedEventsCount: droppedEvents,
    links,
    droppedLinksCount: droppedLinks,
    statusCode: r.statusCode,
    statusMessage: r.statusMessage,
  };
  if (kinds !== undefined) span.attributeKinds = kinds;
  out.push(span);
}

/** OTLP: a span's trace_id / span_id must have the exact length and not be all zeros. */
function spanIdProblem(r: ProtoReader, field: string, at: number, length: number, want: number): string {
  const problem = idLengthProblem(field, length, want);
  if (problem !== '') return problem;
  return isAllZero(r.bytes, at, length) ? `${field} is all zeros` : '';
}

function readEvent(r: ProtoReader, end: number): SpanEvent {
  const start = r.pos;
  let time = 0n;
  let name = '';
  const attributes: Attributes = {};
  let kinds: AttributeKinds | undefined;
  let attributeCount = 0;
  let dropped = 0;
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = readTag(r, end);
    switch (tag) {
      case 0x09: // 1 time_unix_nano (fixed64)
        time = readFixed64(r, end);
        break;
      case 0x12: // 2 name
        name = readString(r, end, 'name');
        break;
      case 0x1a: // 3 attributes
        kinds = readKeyValue(r, readLength(r, end), attributes, kinds, false, 'attributes');
        attributeCount++;
        break;
      case 0x20: // 4 dropped_attributes_count
        dropped = readUint32(r, end);
        break;
      default:
        skipField(r, tag, end, tagAt, 0);
    }
  }
  if (kinds !== undefined && hasRepeatedKeys(attributes, attributeCount)) kinds = rereadKinds(r, start, end, 0x1a);
  const event: SpanEvent = { timeUnixNano: time, name, attributes, droppedAttributesCount: dropped };
  if (kinds !== undefined) event.attributeKinds = kinds;
  return event;
}

/** A link, or the reason its IDs are unusable (a string). */
function readLink(r: ProtoReader, end: number): SpanLink | string {
  const start = r.pos;
  let traceIdAt = 0;
  let traceIdLength = 0;
  let spanIdAt = 0;
  let spanIdLength = 0;
  let traceState = '';
  const attributes: Attributes = {};
  let kinds: AttributeKinds | undefined;
  let attributeCount = 0;
  let dropped = 0;
  let flags = 0;
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = readTag(r, end);
    switch (tag) {
      case 0x0a: // 1 trace_id
        traceIdLength = readLength(r, end) - r.pos;
        traceIdAt = r.pos;
        r.pos += traceIdLength;
        break;
      case 0x12: // 2 span_id
        spanIdLength = readLength(r, end) - r.pos;
        spanIdAt = r.pos;
        r.pos += spanIdLength;
        break;
      case 0x1a: // 3 trace_state
        traceState = readString(r, end, 'trace_state');
        break;
      case 0x22: // 4 attributes
        kinds = readKeyValue(r, readLength(r, end), attributes, kinds, false, 'attributes');
        attributeCount++;
        break;
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
  if (kinds !== undefined && hasRepeatedKeys(attributes, attributeCount)) kinds = rereadKinds(r, start, end, 0x22);
  // A link may point at an invalid (all-zero or absent) context when it carries attributes
  // or trace state (trace API spec); only lengths that are neither empty nor exact are wrong.
  const problem =
    optionalIdLengthProblem('trace_id', traceIdLength, 16) || optionalIdLengthProblem('span_id', spanIdLength, 8);
  if (problem !== '') return problem;
  const link: SpanLink = {
    traceId: linkIdHex(r, traceIdAt, traceIdLength),
    spanId: linkIdHex(r, spanIdAt, spanIdLength),
    traceState,
    flags,
    attributes,
    droppedAttributesCount: dropped,
  };
  if (kinds !== undefined) link.attributeKinds = kinds;
  return link;
}

/** Merges into r.statusCode / r.statusMessage (a repeated status field merges, per protobuf). */
export function readStatus(r: ProtoReader, end: number): void {
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = readTag(r, end);
    switch (tag) {
      case 0x12: // 2 message
        r.statusMessage = readString(r, end, 'status.message');
        break;
      case 0x18: // 3 code (enum, int32)
        r.statusCode = readInt32(r, end);
        break;
      default: // includes deprecated_code (1), no longer honoured by the Collector either
        skipField(r, tag, end, tagAt, 0);
    }
  }
}

/**
 * One KeyValue into `attributes`; returns the (possibly new) kinds record (see putAttribute for
 * `exact`). Invalid UTF-8 in it is reported as `field["key"]` (or `field key`).
 */
export function readKeyValue(
  r: ProtoReader,
  end: number,
  attributes: Attributes,
  kinds: AttributeKinds | undefined,
  exact: boolean,
  field: string,
): AttributeKinds | undefined {
  const clean = r.invalidUtf8 === '';
  let key = '';
  let value = '';
  let kind: ValueKind | undefined = 'empty'; // a KeyValue without a value holds an empty AnyValue
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = readTag(r, end);
    if (tag === 0x0a) {
      // 1 key
      key = readString(r, end, KEY);
    } else if (tag === 0x12) {
      // 2 value
      value = readAnyValue(r, readLength(r, end));
      kind = r.kind;
    } else {
      skipField(r, tag, end, tagAt, 0);
    }
  }
  if (value.length > r.longValueChars) r.longValues = true;
  if (!clean || r.invalidUtf8 === '') return putAttribute(attributes, kinds, key, value, kind, exact);
  r.invalidUtf8 = r.invalidUtf8 === KEY ? `${field} key` : `${field}[${quoteJsonString(key.length > 64 ? key.slice(0, 64) + '…' : key)}]`;
  return putAttribute(attributes, kinds, key, value, kind, exact);
}

/** What readString records for an attribute's key and for any string inside its value. */
const KEY = 'key';
const VALUE = 'value';

/**
 * The exact kinds of a message's attributes (field `tag`) after a repeated key, by reading
 * them again in order. Only for the rare message with a repeated key: the bytes between
 * `start` and `end` have been read once already, so this cannot fail.
 */
function rereadKinds(r: ProtoReader, start: number, end: number, tag: number): AttributeKinds | undefined {
  const resume = r.pos;
  r.pos = start;
  const attributes: Attributes = {};
  let kinds: AttributeKinds | undefined;
  while (r.pos < end) {
    const tagAt = r.pos;
    const fieldTag = readTag(r, end);
    if (fieldTag === tag) kinds = readKeyValue(r, readLength(r, end), attributes, kinds, true, 'attributes');
    else skipField(r, fieldTag, end, tagAt, 0);
  }
  r.pos = resume;
  return kinds;
}

/** An attribute value as pdata's AsString() renders it; its kind goes to r.kind. */
export function readAnyValue(r: ProtoReader, end: number): string {
  let value = '';
  let kind: ValueKind | undefined = 'empty';
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = readTag(r, end);
    switch (tag) {
      case 0x0a: // 1 string_value
        value = readString(r, end, VALUE);
        kind = undefined;
        break;
      case 0x10: // 2 bool_value
        value = readBool(r, end) ? 'true' : 'false';
        kind = 'bool';
        break;
      case 0x18: // 3 int_value
        value = readInt64String(r, end);
        kind = 'int';
        break;
      case 0x21: // 4 double_value
        value = doubleAsString(readDouble(r, end));
        kind = 'double';
        break;
      case 0x2a: // 5 array_value: json.Marshal fails on NaN/Inf and pdata then returns ''
        value = readArrayJson(r, readLength(r, end), 1) ?? '';
        kind = 'array';
        break;
      case 0x32: // 6 kvlist_value
        value = readKvlistJson(r, readLength(r, end), 1) ?? '';
        kind = 'kvlist';
        break;
      case 0x3a: {
        // 7 bytes_value
        const stop = readLength(r, end);
        value = r.text.toString('base64', r.pos, stop);
        r.pos = stop;
        kind = 'bytes';
        break;
      }
      default:
        skipField(r, tag, end, tagAt, 0);
    }
  }
  r.kind = kind;
  return value;
}

/** A nested AnyValue as encoding/json renders its AsRaw() form; undefined if json.Marshal would fail. */
function readAnyValueJson(r: ProtoReader, end: number, depth: number): string | undefined {
  let json: string | undefined = 'null'; // an empty AnyValue is nil
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = readTag(r, end);
    switch (tag) {
      case 0x0a: // 1 string_value
        json = quoteJsonString(readString(r, end, VALUE));
        break;
      case 0x10: // 2 bool_value
        json = readBool(r, end) ? 'true' : 'false';
        break;
      case 0x18: // 3 int_value
        json = readInt64String(r, end);
        break;
      case 0x21: // 4 double_value
        json = doubleAsJson(readDouble(r, end));
        break;
      case 0x2a: // 5 array_value
        json = readArrayJson(r, readLength(r, end), depth + 1);
        break;
      case 0x32: // 6 kvlist_value
        json = readKvlistJson(r, readLength(r, end), depth + 1);
        break;
      case 0x3a: {
        // 7 bytes_value
        const stop = readLength(r, end);
        json = bytesAsJson(r.text.toString('base64', r.pos, stop));
        r.pos = stop;
        break;
      }
      default:
        skipField(r, tag, end, tagAt, depth);
    }
  }
  return json;
}

function readArrayJson(r: ProtoReader, end: number, depth: number): string | undefined {
  checkDepth(r, depth);
  let json = '[';
  let count = 0;
  let encodable = true;
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = readTag(r, end);
    if (tag === 0x0a) {
      // 1 values
      const element = readAnyValueJson(r, readLength(r, end), depth);
      if (element === undefined) encodable = false;
      else json += (count++ === 0 ? '' : ',') + element;
    } else {
      skipField(r, tag, end, tagAt, depth);
    }
  }
  return encodable ? json + ']' : undefined;
}

function readKvlistJson(r: ProtoReader, end: number, depth: number): string | undefined {
  checkDepth(r, depth);
  const builder = new KvlistJsonBuilder();
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = readTag(r, end);
    if (tag === 0x0a) {
      // 1 values (KeyValue)
      const json = readKeyValueJson(r, readLength(r, end), depth);
      builder.set(r.key, json);
    } else {
      skipField(r, tag, end, tagAt, depth);
    }
  }
  return builder.finish();
}

/** A nested KeyValue: returns the value's JSON, leaves the key in r.key. */
function readKeyValueJson(r: ProtoReader, end: number, depth: number): string | undefined {
  let key = '';
  let json: string | undefined = 'null';
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = readTag(r, end);
    if (tag === 0x0a) {
      key = readString(r, end, VALUE); // a key nested in a value is part of the attribute's value
    } else if (tag === 0x12) {
      json = readAnyValueJson(r, readLength(r, end), depth);
    } else {
      skipField(r, tag, end, tagAt, depth);
    }
  }
  r.key = key; // set last: the nested value may itself have used r.key
  return json;
}

function checkDepth(r: ProtoReader, depth: number): void {
  if (depth > MAX_VALUE_DEPTH) {
    throw new OtlpDecodeError(`AnyValue nested deeper than ${MAX_VALUE_DEPTH} levels at offset ${r.pos}`);
  }
}

// ---------------------------------------------------------------------------------------
// IDs

function traceIdHex(r: ProtoReader, at: number): string {
  if (r.lastTraceIdAt >= 0 && sameBytes(r.bytes, r.lastTraceIdAt, at, 16)) return r.lastTraceId;
  r.lastTraceIdAt = at;
  r.lastTraceId = r.text.toString('hex', at, at + 16);
  return r.lastTraceId;
}

/** An all-zero parent is no parent (pdata treats an empty and a zero SpanID alike). */
function parentIdHex(r: ProtoReader, at: number): string {
  if (r.lastParentIdAt >= 0 && sameBytes(r.bytes, r.lastParentIdAt, at, 8)) return r.lastParentId;
  r.lastParentIdAt = at;
  r.lastParentId = isAllZero(r.bytes, at, 8) ? '' : r.text.toString('hex', at, at + 8);
  return r.lastParentId;
}

/** A link ID: '' when absent or all zeros (an invalid context), hex otherwise. */
function linkIdHex(r: ProtoReader, at: number, length: number): string {
  return length === 0 || isAllZero(r.bytes, at, length) ? '' : r.text.toString('hex', at, at + length);
}

function sameBytes(bytes: Uint8Array, a: number, b: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (bytes[a + i] !== bytes[b + i]) return false;
  return true;
}

export function isAllZero(bytes: Uint8Array, at: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (bytes[at + i] !== 0) return false;
  return true;
}

// ---------------------------------------------------------------------------------------
// Strings. Keys and many values repeat across spans and requests. A direct-mapped cache of
// short strings keyed by their UTF-8 bytes returns the same string object after a 4-bytes-
// at-a-time comparison, which is several times cheaper on these machines than any native
// decode call (TextDecoder ~130 ns, Buffer#toString ~90 ns per short string).

const STRING_CACHE_BITS = 12;
const STRING_CACHE_SLOTS = 1 << STRING_CACHE_BITS;
const STRING_CACHE_MAX_LENGTH = 48;
const cachedStrings: string[] = new Array<string>(STRING_CACHE_SLOTS).fill('');
/** Byte length of each slot's string; 0 marks an empty slot (empty strings never reach the cache). */
const cachedLengths = new Int32Array(STRING_CACHE_SLOTS);
const cachedBytes = new Uint8Array(STRING_CACHE_SLOTS * STRING_CACHE_MAX_LENGTH);
const cachedView = new DataView(cachedBytes.buffer);

/**
 * A string field. Invalid UTF-8 is recorded in r.invalidUtf8 (as `field`, when nothing was
 * recorded yet) and the caller rejects what holds it. Only a decoded string containing U+FFFD
 * can come from invalid bytes, so the exact check runs on those alone; the cache only ever
 * holds valid strings, so a cache hit needs no check.
 */
export function readString(r: ProtoReader, end: number, field: string): string {
  const stop = readLength(r, end);
  const start = r.pos;
  r.pos = stop;
  const length = stop - start;
  if (length === 0) return '';
  if (length > STRING_CACHE_MAX_LENGTH) {
    const long = r.text.toString('utf8', start, stop);
    if (long.indexOf('\ufffd') !== -1) checkUtf8(r, start, stop, field);
    return long;
  }
  const slot = stringSlot(r, start, length);
  const base = slot * STRING_CACHE_MAX_LENGTH;
  if (cachedLengths[slot] === length && matchesCachedBytes(r, start, length, base)) return cachedStrings[slot];
  const decoded = r.text.toString('utf8', start, stop);
  if (decoded.indexOf('\ufffd') !== -1 && !checkUtf8(r, start, stop, field)) return decoded;
  cachedStrings[slot] = decoded;
  cachedLengths[slot] = length;
  const bytes = r.bytes;
  for (let i = 0; i < length; i++) cachedBytes[base + i] = bytes[start + i]; // cheaper than set(subarray()) for short strings
  return decoded;
}

/** Whether bytes [start, stop) are valid UTF-8; records `field` when they are not. */
function checkUtf8(r: ProtoReader, start: number, stop: number, field: string): boolean {
  if (isUtf8(r.bytes.subarray(start, stop))) return true;
  if (r.invalidUtf8 === '') r.invalidUtf8 = field;
  return false;
}

/**
 * Hash of the length and the first and last four bytes: enough to tell keys like "attr.0" and
 * "attr.8" apart. The slot is taken from the top bits of the last product, which depend on
 * every input bit (the low bits only depend on the low bits).
 */
function stringSlot(r: ProtoReader, start: number, length: number): number {
  let first: number;
  let last: number;
  if (length >= 4) {
    first = r.view.getUint32(start, true);
    last = r.view.getUint32(start + length - 4, true);
  } else {
    first = r.bytes[start];
    last = r.bytes[start + length - 1] | (r.bytes[start + (length >> 1)] << 8);
  }
  let h = Math.imul(first ^ length, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15) ^ last, 0xc2b2ae35);
  return h >>> (32 - STRING_CACHE_BITS);
}

function matchesCachedBytes(r: ProtoReader, start: number, length: number, base: number): boolean {
  if (length < 4) {
    for (let i = 0; i < length; i++) if (r.bytes[start + i] !== cachedBytes[base + i]) return false;
    return true;
  }
  const view = r.view;
  const last = length - 4; // the final word may overlap the previous one
  for (let i = 0; i < last; i += 4) {
    if (view.getUint32(start + i, true) !== cachedView.getUint32(base + i, true)) return false;
  }
  return view.getUint32(start + last, true) === cachedView.getUint32(base + last, true);
}

// ---------------------------------------------------------------------------------------
// Wire primitives. Every read is bounded by `end`, the end of the enclosing message.

export function readTag(r: ProtoReader, end: number): number {
  const at = r.pos;
  const first = r.bytes[at];
  if (first < 0x80) {
    r.pos = at + 1;
    return first;
  }
  const tag = readVarintSlow(r, end);
  if (r.hi !== 0) throw new OtlpDecodeError(`field tag too large at offset ${at}`);
  return tag;
}

/** Reads a varint; returns its low 32 bits (unsigned) and leaves the high 32 bits in r.hi. */
export function readVarint(r: ProtoReader, end: number): number {
  const at = r.pos;
  if (at < end) {
    const first = r.bytes[at];
    if (first < 0x80) {
      r.pos = at + 1;
      r.hi = 0;
      return first;
    }
  }
  return readVarintSlow(r, end);
}

function readVarintSlow(r: ProtoReader, end: number): number {
  const bytes = r.bytes;
  const start = r.pos;
  let pos = start;
  let lo = 0;
  let byte = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= end) throw truncatedVarint(start);
    byte = bytes[pos++];
    lo |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      r.pos = pos;
      r.hi = 0;
      return lo >>> 0;
    }
  }
  // The fifth byte straddles the two halves: 4 bits low, 3 bits high.
  if (pos >= end) throw truncatedVarint(start);
  byte = bytes[pos++];
  lo |= (byte & 0x0f) << 28;
  let hi = (byte & 0x7f) >>> 4;
  if (byte >= 0x80) {
    for (let shift = 3; ; shift += 7) {
      if (pos >= end) throw truncatedVarint(start);
      byte = bytes[pos++];
      hi |= (byte & 0x7f) << shift;
      if (byte < 0x80) {
        // The tenth byte holds bit 63 only.
        if (shift === 31 && byte > 1) throw new OtlpDecodeError(`varint overflows 64 bits at offset ${start}`);
        break;
      }
      if (shift === 31) throw new OtlpDecodeError(`varint longer than 10 bytes at offset ${start}`);
    }
  }
  r.pos = pos;
  r.hi = hi >>> 0;
  return lo >>> 0;
}

function truncatedVarint(start: number): OtlpDecodeError {
  return new OtlpDecodeError(`truncated varint at offset ${start}`);
}

/** Reads a length prefix; returns the end offset of the bytes it announces. */
export function readLength(r: ProtoReader, end: number): number {
  const at = r.pos;
  const length = readVarint(r, end);
  if (r.hi !== 0 || length > end - r.pos) {
    const announced = r.hi * 4294967296 + length;
    throw new OtlpDecodeError(
      `length ${announced} at offset ${at} runs past the end of its enclosing message (offset ${end})`,
    );
  }
  return r.pos + length;
}

/** uint32 fields: protobuf parsers keep the low 32 bits of a longer varint. */
export function readUint32(r: ProtoReader, end: number): number {
  return readVarint(r, end);
}

/** int32 and enum fields (negative values arrive sign-extended to 64 bits). */
export function readInt32(r: ProtoReader, end: number): number {
  return readVarint(r, end) | 0;
}

function readBool(r: ProtoReader, end: number): boolean {
  const lo = readVarint(r, end);
  return (lo | r.hi) !== 0;
}

/** int64 in decimal, exact over the full range (Go's strconv.FormatInt). */
function readInt64String(r: ProtoReader, end: number): string {
  const lo = readVarint(r, end);
  const hi = r.hi;
  if (hi === 0) return String(lo);
  // Within ±2^53 a double holds the value exactly.
  if (hi < 0x200000) return String(hi * 4294967296 + lo);
  if (hi >= 0xffe00000) return String((hi | 0) * 4294967296 + lo);
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString();
}

export function readFixed64(r: ProtoReader, end: number): bigint {
  const at = checkFixed(r, end, 8);
  return r.view.getBigUint64(at, true);
}

function readDouble(r: ProtoReader, end: number): number {
  const at = checkFixed(r, end, 8);
  return r.view.getFloat64(at, true);
}

export function readFixed32(r: ProtoReader, end: number): number {
  const at = checkFixed(r, end, 4);
  return r.view.getUint32(at, true);
}

/** Advances over a fixed-size value and returns where it starts. */
export function checkFixed(r: ProtoReader, end: number, size: number): number {
  const at = r.pos;
  if (size > end - at) {
    throw new OtlpDecodeError(`truncated ${size * 8}-bit value at offset ${at} (message ends at ${end})`);
  }
  r.pos = at + size;
  return at;
}

/** Skips an unknown field (or a known one with an unexpected wire type) after its tag. */
export function skipField(r: ProtoReader, tag: number, end: number, tagAt: number, depth: number): void {
  const field = tag >>> 3;
  if (field === 0) throw new OtlpDecodeError(`invalid field number 0 at offset ${tagAt}`);
  switch (tag & 7) {
    case WIRE_VARINT:
      readVarint(r, end);
      return;
    case WIRE_I64:
      checkFixed(r, end, 8);
      return;
    case WIRE_LEN:
      r.pos = readLength(r, end);
      return;
    case WIRE_SGROUP:
      skipGroup(r, field, end, tagAt, depth + 1);
      return;
    case WIRE_EGROUP:
      throw new OtlpDecodeError(`unexpected end-group tag for field ${field} at offset ${tagAt}`);
    case WIRE_I32:
      checkFixed(r, end, 4);
      return;
    default:
      throw new OtlpDecodeError(`invalid wire type ${tag & 7} for field ${field} at offset ${tagAt}`);
  }
}

/** Groups are obsolete but still valid protobuf for unknown fields: skip to the matching end. */
function skipGroup(r: ProtoReader, field: number, end: number, groupAt: number, depth: number): void {
  if (depth > MAX_VALUE_DEPTH) throw new OtlpDecodeError(`groups nested too deeply at offset ${groupAt}`);
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = readTag(r, end);
    if ((tag & 7) === WIRE_EGROUP) {
      if (tag >>> 3 !== field) {
        throw new OtlpDecodeError(`end-group tag for field ${tag >>> 3} at offset ${tagAt} closes group ${field}`);
      }
      return;
    }
    skipField(r, tag, end, tagAt, depth);
  }
  throw new OtlpDecodeError(`group for field ${field} at offset ${groupAt} is not closed`);
}
