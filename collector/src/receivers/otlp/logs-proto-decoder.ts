/**
 * A single-pass decoder for `opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest`
 * into the collector's log records (model/log-record.ts), built from the trace decoder's readers
 * (proto-decoder.ts: the same ProtoReader, resource, scope, KeyValue and AnyValue readers, strings,
 * varints and skipping), so both signals follow one set of protobuf rules: fields in any order,
 * unknown fields skipped, every length checked, invalid UTF-8 refusing the record (or the records
 * of its resource or scope) with partial success, malformed input an OtlpDecodeError.
 */
import type { LogRecord } from '../../model/log-record.js';
import type { AttributeKinds, Attributes, InstrumentationScope, Resource } from '../../model/span.js';
import { hasRepeatedKeys, newResource, newScope, RejectionLog } from './decoded-traces.js';
import { OtlpDecodeError } from './errors.js';
import { LOG_RECORD, LogTimeRules, logIdProblem, severityProblem, type DecodedLogs } from './log-validation.js';
import {
  isAllZero,
  ProtoReader,
  readAnyValue,
  readFixed32,
  readFixed64,
  readInt32,
  readKeyValue,
  readLength,
  readResource,
  readResourcesAhead,
  readScope,
  readString,
  readTag,
  readUint32,
  skipField,
} from './proto-decoder.js';
import { SpanTimeRules, type DecodeOptions } from './span-validation.js';
import { limitLogValues } from './log-value-limit.js';
import { DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES, longValueChars } from './value-limit.js';

/** Decodes a protobuf ExportLogsServiceRequest; throws OtlpDecodeError on malformed bytes. */
export function decodeLogsRequest(bytes: Uint8Array, options?: DecodeOptions): DecodedLogs {
  if (!(bytes instanceof Uint8Array)) throw new OtlpDecodeError('request body is not a byte array');
  // The span rules are not used here (no age check on spans): the reader needs one.
  const r = new ProtoReader(bytes, new SpanTimeRules());
  const rules = new LogTimeRules(options);
  const maxValueBytes = options?.maxAttributeValueBytes ?? DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES;
  r.longValueChars = longValueChars(maxValueBytes);
  const records: LogRecord[] = [];
  const log = new RejectionLog(LOG_RECORD);
  const end = bytes.length;
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = readTag(r, end);
    if (tag === 0x0a) readResourceLogs(r, readLength(r, end), records, log, rules); // 1 resource_logs
    else skipField(r, tag, end, tagAt, 0);
  }
  const result: DecodedLogs = { records, rejectedRecords: log.count, rejectionMessage: log.count === 0 ? '' : log.message() };
  if (log.count > 0) result.rejections = log.rejections();
  if (r.longValues) {
    const truncations = limitLogValues(records, maxValueBytes);
    if (truncations.length > 0) result.truncations = truncations;
  }
  return result;
}

function readResourceLogs(r: ProtoReader, end: number, out: LogRecord[], log: RejectionLog, rules: LogTimeRules): void {
  const resource = newResource();
  const first = out.length;
  let invalid = '';
  // Rules by service judge records by `service.name`: a resource sent after its records is read first.
  const readAhead = rules.needsServiceName && r.pos < end && r.bytes[r.pos] !== 0x0a;
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
      case 0x12: // 2 scope_logs
        readScopeLogs(r, readLength(r, end), resource, out, log, rules);
        break;
      case 0x1a: // 3 schema_url
        r.invalidUtf8 = '';
        resource.schemaUrl = readString(r, end, 'resource schema_url');
        if (invalid === '') invalid = r.invalidUtf8;
        break;
      default:
        skipField(r, tag, end, tagAt, 0);
    }
  }
  if (invalid !== '') rejectSince(out, first, log, resource, undefined, invalid);
}

function readScopeLogs(r: ProtoReader, end: number, resource: Resource, out: LogRecord[], log: RejectionLog, rules: LogTimeRules): void {
  const scope = newScope();
  let index = 0;
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
      case 0x12: // 2 log_records
        readLogRecord(r, readLength(r, end), resource, scope, out, log, rules, index++);
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

function rejectSince(out: LogRecord[], first: number, log: RejectionLog, resource: Resource, scope: InstrumentationScope | undefined, field: string): void {
  const count = out.length - first;
  out.length = first;
  if (count > 0) log.rejectGroup(count, scope, `invalid UTF-8 in ${field}`, resource);
}

function readLogRecord(
  r: ProtoReader,
  end: number,
  resource: Resource,
  scope: InstrumentationScope,
  out: LogRecord[],
  log: RejectionLog,
  rules: LogTimeRules,
  index: number,
): void {
  const start = r.pos;
  let time = 0n;
  let observed = 0n;
  let severityNumber = 0;
  let severityText = '';
  let body = '';
  let bodyKind: LogRecord['bodyKind'];
  const attributes: Attributes = {};
  let kinds: AttributeKinds | undefined;
  let attributeCount = 0;
  let dropped = 0;
  let flags = 0;
  let traceIdAt = 0;
  let traceIdLength = 0;
  let spanIdAt = 0;
  let spanIdLength = 0;
  let eventName = '';
  r.invalidUtf8 = '';
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = readTag(r, end);
    switch (tag) {
      case 0x09: // 1 time_unix_nano (fixed64)
        time = readFixed64(r, end);
        break;
      case 0x10: // 2 severity_number (enum)
        severityNumber = readInt32(r, end);
        break;
      case 0x1a: // 3 severity_text
        severityText = readString(r, end, 'severity_text');
        break;
      case 0x2a: {
        // 5 body (AnyValue)
        const clean = r.invalidUtf8 === '';
        body = readAnyValue(r, readLength(r, end));
        bodyKind = r.kind;
        if (clean && r.invalidUtf8 !== '') r.invalidUtf8 = 'body';
        break;
      }
      case 0x32: // 6 attributes
        kinds = readKeyValue(r, readLength(r, end), attributes, kinds, false, 'attributes');
        attributeCount++;
        break;
      case 0x38: // 7 dropped_attributes_count
        dropped = readUint32(r, end);
        break;
      case 0x45: // 8 flags (fixed32)
        flags = readFixed32(r, end);
        break;
      case 0x4a: // 9 trace_id
        traceIdLength = readLength(r, end) - r.pos;
        traceIdAt = r.pos;
        r.pos += traceIdLength;
        break;
      case 0x52: // 10 span_id
        spanIdLength = readLength(r, end) - r.pos;
        spanIdAt = r.pos;
        r.pos += spanIdLength;
        break;
      case 0x59: // 11 observed_time_unix_nano (fixed64)
        observed = readFixed64(r, end);
        break;
      case 0x62: // 12 event_name
        eventName = readString(r, end, 'event_name');
        break;
      default:
        skipField(r, tag, end, tagAt, 0);
    }
  }
  if (kinds !== undefined && hasRepeatedKeys(attributes, attributeCount)) kinds = rereadKinds(r, start, end);
  const traceZero = traceIdLength === 0 || isAllZero(r.bytes, traceIdAt, traceIdLength);
  const spanZero = spanIdLength === 0 || isAllZero(r.bytes, spanIdAt, spanIdLength);
  const problem = logIdProblem(traceIdLength, spanIdLength, traceZero, spanZero) || severityProblem(severityNumber) || (r.invalidUtf8 === '' ? '' : `invalid UTF-8 in ${r.invalidUtf8}`);
  if (problem !== '') {
    log.reject(index, scope, problem, resource);
    return;
  }
  if (!rules.admit(log, index, resource, scope, time, observed, severityNumber)) return;
  const record: LogRecord = {
    resource,
    scope,
    timeUnixNano: time,
    observedTimeUnixNano: observed,
    severityNumber,
    severityText,
    body,
    attributes,
    droppedAttributesCount: dropped,
    flags,
    traceId: traceZero ? '' : r.text.toString('hex', traceIdAt, traceIdAt + 16),
    spanId: spanZero ? '' : r.text.toString('hex', spanIdAt, spanIdAt + 8),
    eventName,
  };
  if (bodyKind !== undefined) record.bodyKind = bodyKind;
  if (kinds !== undefined) record.attributeKinds = kinds;
  out.push(record);
}

/** The exact kinds after a repeated key (rare): the attributes read again in order, exactly. */
function rereadKinds(r: ProtoReader, start: number, end: number): AttributeKinds | undefined {
  const resume = r.pos;
  r.pos = start;
  const attributes: Attributes = {};
  let kinds: AttributeKinds | undefined;
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = readTag(r, end);
    if (tag === 0x32) kinds = readKeyValue(r, readLength(r, end), attributes, kinds, true, 'attributes');
    else skipField(r, tag, end, tagAt, 0);
  }
  r.pos = resume;
  return kinds;
}
