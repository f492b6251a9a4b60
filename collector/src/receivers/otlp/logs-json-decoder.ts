/**
 * OTLP/JSON ExportLogsServiceRequest into log records, with the same output and validation as
 * the protobuf logs decoder (logs-proto-decoder.ts), on the trace JSON decoder's mapping and
 * readers (json-decoder.ts: IDs in hex, 64-bit integers as strings or numbers, camelCase or
 * snake_case names, enums as numbers or names, `null` as unset, shape errors naming the path).
 */
import type { LogRecord } from '../../model/log-record.js';
import type { Attributes, InstrumentationScope, Resource } from '../../model/span.js';
import { newResource, newScope, RejectionLog } from './decoded-traces.js';
import { anyValueOf, decodeJsonRequest, invalidTextSeen, jsonFields, resetInvalidText, type JsonObject } from './json-decoder.js';
import { LOG_RECORD, LogTimeRules, logIdProblem, severityProblem, type DecodedLogs } from './log-validation.js';
import { limitLogValues } from './log-value-limit.js';
import type { DecodeOptions } from './span-validation.js';
import { DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES } from './value-limit.js';

const { field, asObject, forEach, within, stringField, hexField, hexProblem, isZeroHex, uint32Field, uint64Field, enumField, readAttributes, readResource, readScope } = jsonFields;

/** SeverityNumber's value names, as protobuf JSON parsers accept them beside the numbers. */
const SEVERITY_NUMBERS: ReadonlyMap<string, number> = new Map([
  ['SEVERITY_NUMBER_UNSPECIFIED', 0],
  ...['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].flatMap((name, level) =>
    [1, 2, 3, 4].map((n): [string, number] => [`SEVERITY_NUMBER_${name}${n === 1 ? '' : n}`, level * 4 + n]),
  ),
]);

/** Decodes an OTLP/JSON logs body as received; throws OtlpDecodeError for a malformed one. */
export function decodeLogsJsonBody(body: Uint8Array, options?: DecodeOptions): DecodedLogs {
  const maxValueBytes = options?.maxAttributeValueBytes ?? DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES;
  const { result, longValues } = decodeJsonRequest(body, maxValueBytes, (request) => {
    const records: LogRecord[] = [];
    const log = new RejectionLog(LOG_RECORD);
    const rules = new LogTimeRules(options);
    forEach(field(request, 'resourceLogs', 'resource_logs'), 'resourceLogs', (item) => readResourceLogs(asObject(item), records, log, rules));
    const decoded: DecodedLogs = { records, rejectedRecords: log.count, rejectionMessage: log.count === 0 ? '' : log.message() };
    if (log.count > 0) decoded.rejections = log.rejections();
    return decoded;
  });
  if (longValues) {
    const truncations = limitLogValues(result.records, maxValueBytes);
    if (truncations.length > 0) result.truncations = truncations;
  }
  return result;
}

function readResourceLogs(obj: JsonObject, out: LogRecord[], log: RejectionLog, rules: LogTimeRules): void {
  const resource = newResource();
  const first = out.length;
  resetInvalidText();
  const resourceJson = field(obj, 'resource');
  if (resourceJson !== undefined) within('resource', () => readResource(asObject(resourceJson), resource));
  if (invalidTextSeen() !== '') resetInvalidText(`resource.${invalidTextSeen()}`);
  resource.schemaUrl = stringField(obj, 'schemaUrl', 'schema_url');
  if (invalidTextSeen() === 'schemaUrl') resetInvalidText('resource schemaUrl');
  const invalid = invalidTextSeen();
  forEach(field(obj, 'scopeLogs', 'scope_logs'), 'scopeLogs', (item) => readScopeLogs(asObject(item), resource, out, log, rules));
  if (invalid !== '') rejectSince(out, first, log, resource, undefined, invalid);
}

function readScopeLogs(obj: JsonObject, resource: Resource, out: LogRecord[], log: RejectionLog, rules: LogTimeRules): void {
  const scope = newScope();
  const first = out.length;
  resetInvalidText();
  const scopeJson = field(obj, 'scope');
  if (scopeJson !== undefined) within('scope', () => readScope(asObject(scopeJson), scope));
  if (invalidTextSeen() !== '') resetInvalidText(`scope.${invalidTextSeen()}`);
  scope.schemaUrl = stringField(obj, 'schemaUrl', 'schema_url');
  if (invalidTextSeen() === 'schemaUrl') resetInvalidText('scope schemaUrl');
  const invalid = invalidTextSeen();
  forEach(field(obj, 'logRecords', 'log_records'), 'logRecords', (item, index) => readLogRecord(asObject(item), resource, scope, out, log, rules, index));
  if (invalid !== '') rejectSince(out, first, log, resource, scope, invalid);
}

function rejectSince(out: LogRecord[], first: number, log: RejectionLog, resource: Resource, scope: InstrumentationScope | undefined, field: string): void {
  const count = out.length - first;
  out.length = first;
  if (count > 0) log.rejectGroup(count, scope, `invalid UTF-8 (a lone surrogate) in ${field}`, resource);
}

function readLogRecord(obj: JsonObject, resource: Resource, scope: InstrumentationScope, out: LogRecord[], log: RejectionLog, rules: LogTimeRules, index: number): void {
  resetInvalidText();
  const traceId = hexField(obj, 'traceId', 'trace_id');
  const spanId = hexField(obj, 'spanId', 'span_id');
  const attributes: Attributes = {};
  const kinds = readAttributes(obj, 'attributes', attributes);
  const bodyJson = field(obj, 'body');
  const clean = invalidTextSeen() === '';
  const body = bodyJson === undefined ? { text: '', kind: undefined } : within('body', () => anyValueOf(asObject(bodyJson)));
  if (clean && invalidTextSeen() !== '') resetInvalidText('body');
  const record: LogRecord = {
    resource,
    scope,
    timeUnixNano: uint64Field(obj, 'timeUnixNano', 'time_unix_nano'),
    observedTimeUnixNano: uint64Field(obj, 'observedTimeUnixNano', 'observed_time_unix_nano'),
    severityNumber: enumField(obj, 'severityNumber', 'severity_number', SEVERITY_NUMBERS),
    severityText: stringField(obj, 'severityText', 'severity_text'),
    body: body.text,
    attributes,
    droppedAttributesCount: uint32Field(obj, 'droppedAttributesCount', 'dropped_attributes_count'),
    flags: uint32Field(obj, 'flags'),
    traceId: '',
    spanId: '',
    eventName: stringField(obj, 'eventName', 'event_name'),
  };
  // An absent body is an empty AnyValue in protobuf; both decoders store it as '' with no kind.
  if (body.kind !== undefined && bodyJson !== undefined) record.bodyKind = body.kind;
  if (kinds !== undefined) record.attributeKinds = kinds;
  const invalid = invalidTextSeen();
  const problem =
    hexProblem('trace_id', traceId) ||
    hexProblem('span_id', spanId) ||
    logIdProblem(traceId.length / 2, spanId.length / 2, isZeroHex(traceId), isZeroHex(spanId)) ||
    severityProblem(record.severityNumber) ||
    (invalid === '' ? '' : `invalid UTF-8 (a lone surrogate) in ${invalid}`);
  if (problem !== '') {
    log.reject(index, scope, problem, resource);
    return;
  }
  if (!rules.admit(log, index, resource, scope, record.timeUnixNano, record.observedTimeUnixNano, record.severityNumber)) return;
  record.traceId = isZeroHex(traceId) ? '' : traceId.toLowerCase();
  record.spanId = isZeroHex(spanId) ? '' : spanId.toLowerCase();
  out.push(record);
}

