/**
 * OTLP/JSON (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding) into the
 * collector's span model, with the same output and validation as the protobuf decoder.
 *
 * The mapping is protobuf's JSON mapping with OTLP's exceptions: trace and span IDs are hex
 * (accepted in any case), enums are integers (names are accepted too, as protobuf JSON
 * parsers do), 64-bit integers may be strings or numbers (in any JSON number form of a whole
 * number, `1.5e3` too; exact past 2^53: see decodeJsonBody), field names are lowerCamelCase
 * (the proto snake_case names are accepted too), unknown fields are ignored and `null`
 * means "not set". A body of the wrong shape throws OtlpDecodeError naming the JSON path.
 *
 * A JSON body is Unicode text, but a `\ud800` escape still yields a lone surrogate, which UTF-8
 * cannot hold: as with invalid UTF-8 in protobuf, the span holding one is rejected (partial
 * success naming the field), and one in a resource or scope rejects that resource's or scope's
 * spans. (A body that is not UTF-8 at all is not JSON: see parseJsonBody.)
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
  idLengthProblem,
  newResource,
  newScope,
  optionalIdLengthProblem,
  putAttribute,
  serviceNameOf,
  setKinds,
  type DecodedTraces,
} from './decoded-traces.js';
import { isUtf8 } from 'node:buffer';
import { OtlpDecodeError } from './errors.js';
import { RoundedFraction, decimalIntegerOf, parseJsonExact, wholeNumberOf } from './exact-json.js';
import { SpanTimeRules, type DecodeOptions } from './span-validation.js';
import { DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES, limitAttributeValues, longValueChars } from './value-limit.js';
import { KvlistJsonBuilder, MAX_VALUE_DEPTH, bytesAsJson, doubleAsJson, doubleAsString, quoteJsonString } from './value-format.js';

export { OtlpDecodeError } from './errors.js';
export type { DecodedTraces } from './decoded-traces.js';

/**
 * Decodes an OTLP/JSON body as received, every digit of its 64-bit integers kept. The fast path
 * is native JSON.parse, which rounds numbers past 2^53: when the decoder meets such a number in
 * an integer field, the body is parsed again, exactly (exact-json.ts), and decoded again. Only
 * bodies that write big integers as JSON numbers (rare: protobuf JSON writes them as strings)
 * pay for it; the others pay nothing, not even a scan. The one thing this does not see: a
 * fraction below 2^53 with more digits than a double holds (1.0000000000000001) that JSON.parse
 * makes whole is taken as that whole number by an integer field (no encoder writes one there).
 */
export function decodeJsonBody(body: Uint8Array, options?: DecodeOptions): DecodedTraces {
  const text = jsonText(body);
  try {
    numberSource = 'json-parse';
    return decodeTraceRequestJson(parseText(text, JSON.parse), options);
  } catch (err) {
    if (!(err instanceof RoundedNumberFound)) throw err;
    numberSource = 'exact';
    return decodeTraceRequestJson(parseText(text, parseJsonExact), options);
  } finally {
    numberSource = 'caller';
  }
}

/** Parses an OTLP/JSON body with JSON.parse (numbers past 2^53 rounded: see decodeJsonBody). */
export function parseJsonBody(body: Uint8Array): unknown {
  return parseText(jsonText(body), JSON.parse);
}

/** A body that is not UTF-8 (RFC 8259 §8.1) is malformed. */
function jsonText(body: Uint8Array): string {
  if (!isUtf8(body)) throw new OtlpDecodeError('invalid JSON body: not valid UTF-8');
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
}

function parseText(text: string, parse: (text: string) => unknown): unknown {
  try {
    return parse(text);
  } catch (err) {
    throw new OtlpDecodeError(`invalid JSON body: ${(err as Error).message}`);
  }
}

/**
 * Where the numbers being decoded come from: JSON.parse (an integer past 2^53 may be a rounded
 * one), the exact parser (bigint and RoundedFraction too), or a caller's objects (as they are).
 */
let numberSource: 'json-parse' | 'exact' | 'caller' = 'caller';

/** Thrown through the decoder to have decodeJsonBody parse the body again, exactly. */
class RoundedNumberFound extends Error {}

/** Decodes an already parsed OTLP/JSON ExportTraceServiceRequest. */
export function decodeTraceRequestJson(body: unknown, options?: DecodeOptions): DecodedTraces {
  const spans: Span[] = [];
  const log = new RejectionLog();
  timeRules = new SpanTimeRules(options);
  const maxValueBytes = options?.maxAttributeValueBytes ?? DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES;
  longValues = false;
  longValueLimit = longValueChars(maxValueBytes);
  try {
    const request = asObject(body);
    forEach(field(request, 'resourceSpans', 'resource_spans'), 'resourceSpans', (item) => {
      readResourceSpans(asObject(item), spans, log);
    });
  } catch (err) {
    if (err instanceof JsonShapeError) throw new OtlpDecodeError(`${err.path()}: ${err.message}`);
    throw err;
  }
  const result = log.result(spans);
  if (longValues) {
    const truncations = limitAttributeValues(result.spans, maxValueBytes);
    if (truncations.length > 0) result.truncations = truncations;
  }
  return result;
}

/** Attribute values longer than this (UTF-16 units) may be over the size limit; set per request (value-limit.ts). */
let longValueLimit = Infinity;
/** Some attribute value of the request was longer than longValueLimit: run the truncation pass. */
let longValues = false;

type JsonObject = Record<string, unknown>;

/**
 * A value of the wrong JSON type. The path is assembled on the way out, one segment per
 * level, so that the happy path never builds path strings.
 */
class JsonShapeError extends Error {
  private readonly segments: string[] = [];

  constructor(segment: string, problem: string) {
    super(problem);
    if (segment !== '') this.segments.push(segment);
  }

  within(segment: string): this {
    this.segments.push(segment);
    return this;
  }

  path(): string {
    return this.segments.length === 0 ? '(root)' : this.segments.reverse().join('.');
  }
}

/** Runs `read` and prefixes any shape error it raises with `segment`. */
function within<T>(segment: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw err instanceof JsonShapeError ? err.within(segment) : err;
  }
}

/** Iterates a repeated field (absent or null is empty), naming the element on errors. */
function forEach(value: unknown, name: string, visit: (item: unknown, index: number) => void): void {
  if (value === undefined || value === null) return;
  if (!Array.isArray(value)) throw new JsonShapeError(name, `expected an array, got ${describe(value)}`);
  for (let i = 0; i < value.length; i++) {
    try {
      visit(value[i], i);
    } catch (err) {
      throw err instanceof JsonShapeError ? err.within(`${name}[${i}]`) : err;
    }
  }
}

/** The field under its JSON name, else under its proto name; null counts as absent. */
function field(obj: JsonObject, jsonName: string, protoName?: string): unknown {
  const value = obj[jsonName];
  if (value !== undefined && value !== null) return value;
  if (protoName === undefined) return undefined;
  const alternative = obj[protoName];
  return alternative === null ? undefined : alternative;
}

function asObject(value: unknown): JsonObject {
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && (numberSource !== 'exact' || !(value instanceof RoundedFraction))) {
    return value as JsonObject; // (instanceof costs 6% of the decode: only where a RoundedFraction can be)
  }
  throw new JsonShapeError('', `expected an object, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value instanceof RoundedFraction) return value.text;
  if (value === null) return 'null';
  switch (typeof value) {
    case 'object':
      return 'an object';
    case 'string':
      return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
    case 'undefined':
      return 'nothing';
    default:
      return String(value);
  }
}

// ---------------------------------------------------------------------------------------
// Messages

function readResourceSpans(obj: JsonObject, out: Span[], log: RejectionLog): void {
  const resource = newResource();
  const first = out.length;
  invalidText = '';
  const resourceJson = field(obj, 'resource');
  if (resourceJson !== undefined) within('resource', () => readResource(asObject(resourceJson), resource));
  if (invalidText !== '') invalidText = `resource.${invalidText}`;
  resource.schemaUrl = stringField(obj, 'schemaUrl', 'schema_url');
  if (invalidText === 'schemaUrl') invalidText = 'resource schemaUrl';
  const invalid = invalidText;
  forEach(field(obj, 'scopeSpans', 'scope_spans'), 'scopeSpans', (item) => {
    readScopeSpans(asObject(item), resource, out, log);
  });
  if (invalid !== '') rejectSince(out, first, log, resource, undefined, invalid);
}

/** Rejects the spans kept since `first` (those of one resource or scope holding a lone surrogate). */
function rejectSince(out: Span[], first: number, log: RejectionLog, resource: Resource, scope: InstrumentationScope | undefined, field: string): void {
  const count = out.length - first;
  out.length = first;
  if (count > 0) log.rejectGroup(count, scope, `invalid UTF-8 (a lone surrogate) in ${field}`, resource);
}

function readResource(obj: JsonObject, resource: Resource): void {
  const kinds = readAttributes(obj, 'attributes', resource.attributes);
  setKinds(resource, kinds);
  resource.droppedAttributesCount = uint32Field(obj, 'droppedAttributesCount', 'dropped_attributes_count');
  resource.serviceName = serviceNameOf(resource.attributes);
}

function readScopeSpans(obj: JsonObject, resource: Resource, out: Span[], log: RejectionLog): void {
  const scope = newScope();
  const first = out.length;
  invalidText = '';
  const scopeJson = field(obj, 'scope');
  if (scopeJson !== undefined) within('scope', () => readScope(asObject(scopeJson), scope));
  if (invalidText !== '') invalidText = `scope.${invalidText}`;
  scope.schemaUrl = stringField(obj, 'schemaUrl', 'schema_url');
  if (invalidText === 'schemaUrl') invalidText = 'scope schemaUrl';
  const invalid = invalidText;
  forEach(field(obj, 'spans'), 'spans', (item, index) => {
    readSpan(asObject(item), resource, scope, out, log, index);
  });
  if (invalid !== '') rejectSince(out, first, log, resource, scope, invalid);
}

function readScope(obj: JsonObject, scope: InstrumentationScope): void {
  scope.name = stringField(obj, 'name');
  scope.version = stringField(obj, 'version');
  setKinds(scope, readAttributes(obj, 'attributes', scope.attributes));
  scope.droppedAttributesCount = uint32Field(obj, 'droppedAttributesCount', 'dropped_attributes_count');
}

function readSpan(
  obj: JsonObject,
  resource: Resource,
  scope: InstrumentationScope,
  out: Span[],
  log: RejectionLog,
  spanIndex: number,
): void {
  invalidText = '';
  const traceId = hexField(obj, 'traceId', 'trace_id');
  const spanId = hexField(obj, 'spanId', 'span_id');
  const parentSpanId = hexField(obj, 'parentSpanId', 'parent_span_id');
  const attributes: Attributes = {};
  const kinds = readAttributes(obj, 'attributes', attributes);
  const events: SpanEvent[] = [];
  forEach(field(obj, 'events'), 'events', (item, index) => {
    const clean = invalidText === '';
    events.push(readEvent(asObject(item)));
    if (clean && invalidText !== '') invalidText = `events[${index}].${invalidText}`;
  });
  const links: SpanLink[] = [];
  let linkProblem = '';
  forEach(field(obj, 'links'), 'links', (item, index) => {
    const clean = invalidText === '';
    const link = readLink(asObject(item));
    if (clean && invalidText !== '') invalidText = `links[${index}].${invalidText}`;
    if (typeof link !== 'string') links.push(link);
    else if (linkProblem === '') linkProblem = `link ${index}: ${link}`;
  });
  const status = field(obj, 'status');
  const statusObj = status === undefined ? undefined : within('status', () => asObject(status));

  const span: Span = {
    resource,
    scope,
    traceId: '',
    spanId: '',
    parentSpanId: '',
    traceState: stringField(obj, 'traceState', 'trace_state'),
    flags: uint32Field(obj, 'flags'),
    name: stringField(obj, 'name'),
    kind: enumField(obj, 'kind', undefined, SPAN_KINDS),
    startTimeUnixNano: uint64Field(obj, 'startTimeUnixNano', 'start_time_unix_nano'),
    endTimeUnixNano: uint64Field(obj, 'endTimeUnixNano', 'end_time_unix_nano'),
    attributes,
    droppedAttributesCount: uint32Field(obj, 'droppedAttributesCount', 'dropped_attributes_count'),
    events,
    droppedEventsCount: uint32Field(obj, 'droppedEventsCount', 'dropped_events_count'),
    links,
    droppedLinksCount: uint32Field(obj, 'droppedLinksCount', 'dropped_links_count'),
    statusCode: statusObj === undefined ? 0 : within('status', () => enumField(statusObj, 'code', undefined, STATUS_CODES)),
    statusMessage: statusObj === undefined ? '' : within('status', () => stringField(statusObj, 'message', undefined, 'status.message')),
  };
  if (kinds !== undefined) span.attributeKinds = kinds;

  // Validation happens after the whole span is read, so that shape errors anywhere in it
  // fail the request exactly as they do in a valid span.
  const problem =
    spanIdProblem('trace_id', traceId, 16) ||
    spanIdProblem('span_id', spanId, 8) ||
    optionalIdProblem('parent_span_id', parentSpanId, 8) ||
    linkProblem ||
    (invalidText === '' ? '' : `invalid UTF-8 (a lone surrogate) in ${invalidText}`);
  if (problem !== '') {
    log.reject(spanIndex, scope, problem, resource);
    return;
  }
  if (!timeRules.admit(log, spanIndex, resource, scope, span.startTimeUnixNano, events, span.kind, span.statusCode, attributes)) return;
  span.traceId = traceId.toLowerCase();
  span.spanId = spanId.toLowerCase();
  span.parentSpanId = isZeroHex(parentSpanId) ? '' : parentSpanId.toLowerCase();
  out.push(span);
}

function readEvent(obj: JsonObject): SpanEvent {
  const attributes: Attributes = {};
  const kinds = readAttributes(obj, 'attributes', attributes);
  const event: SpanEvent = {
    timeUnixNano: uint64Field(obj, 'timeUnixNano', 'time_unix_nano'),
    name: stringField(obj, 'name'),
    attributes,
    droppedAttributesCount: uint32Field(obj, 'droppedAttributesCount', 'dropped_attributes_count'),
  };
  if (kinds !== undefined) event.attributeKinds = kinds;
  return event;
}

/** A link, or the reason its IDs are unusable. Absent or all-zero IDs are '' (an invalid context). */
function readLink(obj: JsonObject): SpanLink | string {
  const traceId = hexField(obj, 'traceId', 'trace_id');
  const spanId = hexField(obj, 'spanId', 'span_id');
  const attributes: Attributes = {};
  const kinds = readAttributes(obj, 'attributes', attributes);
  const link: SpanLink = {
    traceId: '',
    spanId: '',
    traceState: stringField(obj, 'traceState', 'trace_state'),
    flags: uint32Field(obj, 'flags'),
    attributes,
    droppedAttributesCount: uint32Field(obj, 'droppedAttributesCount', 'dropped_attributes_count'),
  };
  if (kinds !== undefined) link.attributeKinds = kinds;
  const problem =
    optionalIdProblem('trace_id', traceId, 16) || optionalIdProblem('span_id', spanId, 8);
  if (problem !== '') return problem;
  link.traceId = isZeroHex(traceId) ? '' : traceId.toLowerCase();
  link.spanId = isZeroHex(spanId) ? '' : spanId.toLowerCase();
  return link;
}

// ---------------------------------------------------------------------------------------
// IDs: validated as hex text, lower-cased only once the span is accepted.

const HEX = /^[0-9a-fA-F]*$/;

function hexField(obj: JsonObject, jsonName: string, protoName: string): string {
  const value = field(obj, jsonName, protoName);
  if (value === undefined) return '';
  if (typeof value !== 'string') throw new JsonShapeError(jsonName, `expected a hex string, got ${describe(value)}`);
  return value;
}

function hexProblem(name: string, hex: string): string {
  if (HEX.test(hex) && hex.length % 2 === 0) return '';
  return `${name} is not hex: ${describe(hex)}`;
}

/** A span's own trace_id / span_id: exact length and not all zeros (OTLP). */
function spanIdProblem(name: string, hex: string, bytes: number): string {
  const problem = hexProblem(name, hex) || idLengthProblem(name, hex.length / 2, bytes);
  if (problem !== '') return problem;
  return isZeroHex(hex) ? `${name} is all zeros` : '';
}

/** An ID that may be absent (parent_span_id, link IDs). */
function optionalIdProblem(name: string, hex: string, bytes: number): string {
  return hexProblem(name, hex) || optionalIdLengthProblem(name, hex.length / 2, bytes);
}

function isZeroHex(hex: string): boolean {
  for (let i = 0; i < hex.length; i++) if (hex.charCodeAt(i) !== 0x30) return false;
  return true;
}

// ---------------------------------------------------------------------------------------
// Scalars

/** A string field; a lone surrogate in it is recorded as `reportAs` (see checkText). */
function stringField(obj: JsonObject, jsonName: string, protoName?: string, reportAs = jsonName): string {
  const value = field(obj, jsonName, protoName);
  if (value === undefined) return '';
  if (typeof value !== 'string') throw new JsonShapeError(jsonName, `expected a string, got ${describe(value)}`);
  checkText(value, reportAs);
  return value;
}

/** The first field holding a lone surrogate since the enclosing message reset it ('' for none). */
let invalidText = '';
/** The current request's time rules (decoding is synchronous, as for invalidText). */
let timeRules = new SpanTimeRules();

/** String.prototype.isWellFormed (Node 20; not in the ES2022 library this project compiles against): native and fast. */
const isWellFormed = (String.prototype as unknown as { isWellFormed(this: string): boolean }).isWellFormed;

function checkText(value: string, field: string): void {
  if (invalidText === '' && !isWellFormed.call(value)) invalidText = field;
}

const SIGNED_DECIMAL = /^-?\d+$/;
const MAX_UINT32 = 0xffffffff;
const MAX_UINT64 = (1n << 64n) - 1n;
const MIN_INT64 = -(1n << 63n);
const MAX_INT64 = (1n << 63n) - 1n;

/**
 * The whole number a JSON integer field holds, exactly, or undefined. Protobuf's JSON mapping
 * takes a number or a string, either in any JSON number form (`12`, `1.2e1`, `12.0`); a fraction
 * is refused. Numbers the exact parser could not give as doubles come as bigint, or as
 * RoundedFraction (refused).
 */
function wholeNumber(value: unknown): number | bigint | undefined {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return undefined;
    if (numberSource === 'json-parse' && !Number.isSafeInteger(value)) throw new RoundedNumberFound();
    return value;
  }
  if (typeof value === 'bigint') return value;
  if (typeof value !== 'string') return undefined;
  const whole = decimalIntegerOf(value) ?? wholeNumberOf(value); // the usual form, checked first
  return typeof whole === 'bigint' ? whole : undefined;
}

/** uint32 fields (counts, flags): a number or a decimal string. */
function uint32Field(obj: JsonObject, jsonName: string, protoName?: string): number {
  const value = field(obj, jsonName, protoName);
  if (value === undefined) return 0;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_UINT32) return value; // the usual form, first
  const n = wholeNumber(value);
  if (n !== undefined && n >= 0 && n <= MAX_UINT32) return Number(n);
  throw new JsonShapeError(jsonName, `expected an unsigned 32-bit integer, got ${describe(value)}`);
}

/** fixed64 times: a number or (as protobuf JSON writes them) a decimal string. */
function uint64Field(obj: JsonObject, jsonName: string, protoName: string): bigint {
  const value = field(obj, jsonName, protoName);
  if (value === undefined) return 0n;
  const n = wholeNumber(value);
  if (n !== undefined && n >= 0 && n <= MAX_UINT64) return BigInt(n);
  throw new JsonShapeError(jsonName, `expected an unsigned 64-bit integer, got ${describe(value)}`);
}

type EnumNames = ReadonlyMap<string, number>;

const SPAN_KINDS: EnumNames = new Map([
  ['SPAN_KIND_UNSPECIFIED', 0],
  ['SPAN_KIND_INTERNAL', 1],
  ['SPAN_KIND_SERVER', 2],
  ['SPAN_KIND_CLIENT', 3],
  ['SPAN_KIND_PRODUCER', 4],
  ['SPAN_KIND_CONSUMER', 5],
]);

const STATUS_CODES: EnumNames = new Map([
  ['STATUS_CODE_UNSET', 0],
  ['STATUS_CODE_OK', 1],
  ['STATUS_CODE_ERROR', 2],
]);

/** Enums: OTLP/JSON writes integers; protobuf JSON parsers also take the value names. */
function enumField(obj: JsonObject, jsonName: string, protoName: string | undefined, names: EnumNames): number {
  const value = field(obj, jsonName, protoName);
  if (value === undefined) return 0;
  if (typeof value === 'number' && Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff) return value;
  if (typeof value === 'string') {
    const named = names.get(value);
    if (named !== undefined) return named;
    if (SIGNED_DECIMAL.test(value)) {
      const n = Number(value);
      if (n >= -0x80000000 && n <= 0x7fffffff) return n;
    }
  }
  throw new JsonShapeError(jsonName, `expected an enum number or name, got ${describe(value)}`);
}

/**
 * The int64 minimum as JavaScript writes it: JS clients (the official OTLP/JSON exporter among
 * them) hold it as the double -2^63, whose shortest text is this, one step past the range.
 */
const MIN_INT64_AS_JS_WRITES_IT = -9223372036854776000n;

/** int64 in canonical decimal (as Go's strconv.FormatInt prints it). */
function int64AsString(value: unknown, name: string): string {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value === 0 ? 0 : value); // no "-0"
  const n = wholeNumber(value);
  if (n !== undefined && n >= MIN_INT64 && n <= MAX_INT64) return BigInt(n).toString();
  if (n === MIN_INT64_AS_JS_WRITES_IT && typeof value === 'bigint') return MIN_INT64.toString();
  throw new JsonShapeError(name, `expected a 64-bit integer, got ${describe(value)}`);
}

const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** double: a JSON number, or a string holding a number, "NaN", "Infinity" or "-Infinity". */
function doubleOf(value: unknown, name: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value); // the double nearest, as JSON.parse would give
  if (value instanceof RoundedFraction) return value.value;
  if (typeof value === 'string') {
    if (value === 'NaN') return NaN;
    if (value === 'Infinity') return Infinity;
    if (value === '-Infinity') return -Infinity;
    if (JSON_NUMBER.test(value)) return Number(value);
  }
  throw new JsonShapeError(name, `expected a number, got ${describe(value)}`);
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** bytes: standard or URL-safe base64, padded or not (as protobuf JSON accepts); re-encoded standard. */
function bytesAsBase64(value: unknown, name: string): string {
  if (typeof value === 'string' && BASE64.test(value) && value.length % 4 !== 1) {
    const padding = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0;
    if (padding === 0 || value.length % 4 === 0) return Buffer.from(value, 'base64').toString('base64');
  }
  throw new JsonShapeError(name, `expected base64 bytes, got ${describe(value)}`);
}

// ---------------------------------------------------------------------------------------
// Attributes and AnyValue

/** The kinds of a KeyValue list read into `attributes` (undefined when all are strings). */
function readAttributes(obj: JsonObject, name: string, attributes: Attributes): AttributeKinds | undefined {
  let kinds: AttributeKinds | undefined;
  forEach(field(obj, name), name, (item) => {
    const keyValue = asObject(item);
    const clean = invalidText === '';
    const key = stringField(keyValue, 'key');
    const value = field(keyValue, 'value');
    let text = '';
    let kind: ValueKind | undefined = 'empty';
    if (value !== undefined) {
      try {
        text = anyValueAsString(asObject(value));
      } catch (err) {
        throw err instanceof JsonShapeError ? err.within('value') : err;
      }
      kind = lastKind;
    }
    if (clean && invalidText !== '') invalidText = invalidText === 'key' ? `${name} key` : `${name}[${quoteJsonString(key.length > 64 ? key.slice(0, 64) + '…' : key)}]`;
    if (text.length > longValueLimit) longValues = true;
    kinds = putAttribute(attributes, kinds, key, text, kind, true);
  });
  return kinds;
}

/** The canonical AnyValue member for each accepted JSON and proto field name. */
const ANY_VALUE_FIELDS: ReadonlyMap<string, ValueKind | 'string'> = new Map<string, ValueKind | 'string'>([
  ['stringValue', 'string'],
  ['string_value', 'string'],
  ['boolValue', 'bool'],
  ['bool_value', 'bool'],
  ['intValue', 'int'],
  ['int_value', 'int'],
  ['doubleValue', 'double'],
  ['double_value', 'double'],
  ['arrayValue', 'array'],
  ['array_value', 'array'],
  ['kvlistValue', 'kvlist'],
  ['kvlist_value', 'kvlist'],
  ['bytesValue', 'bytes'],
  ['bytes_value', 'bytes'],
]);

/** Which member of the AnyValue oneof is set; its JSON name and value go to `member`. */
function oneofMember(obj: JsonObject, member: { name: string; value: unknown }): ValueKind | 'string' {
  let kind: ValueKind | 'string' = 'empty';
  for (const name in obj) {
    const candidate = ANY_VALUE_FIELDS.get(name);
    const value = obj[name];
    if (candidate === undefined || value === null || value === undefined) continue; // unknown or unset
    if (kind !== 'empty') throw new JsonShapeError(name, `more than one AnyValue field is set (${member.name} and ${name})`);
    kind = candidate;
    member.name = name;
    member.value = value;
  }
  return kind;
}

/** Kind of the last top-level value converted by anyValueAsString (undefined for a string). */
let lastKind: ValueKind | undefined;

/** A top-level attribute value as pdata's AsString() renders it; its kind goes to lastKind. */
function anyValueAsString(obj: JsonObject): string {
  const member = { name: '', value: undefined as unknown };
  const kind = oneofMember(obj, member);
  const value = member.value;
  const name = member.name;
  lastKind = kind === 'string' ? undefined : kind;
  switch (kind) {
    case 'string':
      if (typeof value !== 'string') throw new JsonShapeError(name, `expected a string, got ${describe(value)}`);
      checkText(value, 'value');
      return value;
    case 'bool':
      return boolOf(value, name) ? 'true' : 'false';
    case 'int':
      return int64AsString(value, name);
    case 'double':
      return doubleAsString(doubleOf(value, name));
    case 'bytes':
      return bytesAsBase64(value, name);
    case 'array': // json.Marshal fails on NaN/Inf and pdata then returns ''
      return within(name, () => arrayAsJson(asObject(value), 1)) ?? '';
    case 'kvlist':
      return within(name, () => kvlistAsJson(asObject(value), 1)) ?? '';
    case 'empty':
      return '';
  }
}

/** A nested AnyValue as encoding/json renders its AsRaw() form; undefined if json.Marshal would fail. */
function anyValueAsJson(obj: JsonObject, depth: number): string | undefined {
  const member = { name: '', value: undefined as unknown };
  const kind = oneofMember(obj, member);
  const value = member.value;
  const name = member.name;
  switch (kind) {
    case 'string':
      if (typeof value !== 'string') throw new JsonShapeError(name, `expected a string, got ${describe(value)}`);
      checkText(value, 'value');
      return quoteJsonString(value);
    case 'bool':
      return boolOf(value, name) ? 'true' : 'false';
    case 'int':
      return int64AsString(value, name);
    case 'double':
      return doubleAsJson(doubleOf(value, name));
    case 'bytes':
      return bytesAsJson(bytesAsBase64(value, name));
    case 'array':
      return within(name, () => arrayAsJson(asObject(value), depth + 1));
    case 'kvlist':
      return within(name, () => kvlistAsJson(asObject(value), depth + 1));
    case 'empty':
      return 'null';
  }
}

function boolOf(value: unknown, name: string): boolean {
  if (typeof value === 'boolean') return value;
  throw new JsonShapeError(name, `expected true or false, got ${describe(value)}`);
}

function checkDepth(depth: number): void {
  if (depth > MAX_VALUE_DEPTH) throw new JsonShapeError('', `AnyValue nested deeper than ${MAX_VALUE_DEPTH} levels`);
}

function arrayAsJson(obj: JsonObject, depth: number): string | undefined {
  checkDepth(depth);
  let json = '[';
  let encodable = true;
  forEach(field(obj, 'values'), 'values', (item, index) => {
    const element = anyValueAsJson(asObject(item), depth);
    if (element === undefined) encodable = false;
    else json += (index === 0 ? '' : ',') + element;
  });
  return encodable ? json + ']' : undefined;
}

function kvlistAsJson(obj: JsonObject, depth: number): string | undefined {
  checkDepth(depth);
  const builder = new KvlistJsonBuilder();
  forEach(field(obj, 'values'), 'values', (item) => {
    const keyValue = asObject(item);
    const key = stringField(keyValue, 'key', undefined, 'value'); // a key nested in a value is part of it
    const value = field(keyValue, 'value');
    builder.set(key, value === undefined ? 'null' : within('value', () => anyValueAsJson(asObject(value), depth)));
  });
  return builder.finish();
}

// ---------------------------------------------------------------------------------------
// Shared with the OTLP/JSON logs decoder (logs-json-decoder.ts): the same request state, the same
// readers and scalars, so both signals follow one JSON mapping.

export type { JsonObject };

/**
 * Decodes a body as decodeJsonBody does (UTF-8 check, JSON.parse, the exact parse again when an
 * integer past 2^53 is met, shape errors as OtlpDecodeError naming the JSON path), with `read`
 * in place of the trace request's reader; `longValues` says whether an attribute value may be
 * over `maxAttributeValueBytes` (value-limit.ts).
 */
export function decodeJsonRequest<T>(body: Uint8Array, maxAttributeValueBytes: number, read: (request: JsonObject) => T): { result: T; longValues: boolean } {
  const text = jsonText(body);
  const run = (parse: (text: string) => unknown) => {
    longValues = false;
    longValueLimit = longValueChars(maxAttributeValueBytes);
    try {
      return { result: read(asObject(parseText(text, parse))), longValues };
    } catch (err) {
      if (err instanceof JsonShapeError) throw new OtlpDecodeError(`${err.path()}: ${err.message}`);
      throw err;
    }
  };
  try {
    numberSource = 'json-parse';
    return run(JSON.parse);
  } catch (err) {
    if (!(err instanceof RoundedNumberFound)) throw err;
    numberSource = 'exact';
    return run(parseJsonExact);
  } finally {
    numberSource = 'caller';
  }
}

/** The first field with a lone surrogate since the last reset ('' for none). */
export function invalidTextSeen(): string {
  return invalidText;
}

export function resetInvalidText(value = ''): void {
  invalidText = value;
}

/** A top-level AnyValue as AsString() renders it, with its kind (undefined for a string). */
export function anyValueOf(obj: JsonObject): { text: string; kind: ValueKind | undefined } {
  const text = anyValueAsString(obj);
  return { text, kind: lastKind };
}

export const jsonFields = { field, asObject, forEach, within, stringField, hexField, hexProblem, isZeroHex, uint32Field, uint64Field, enumField, readAttributes, readResource, readScope };
