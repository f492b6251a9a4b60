/**
 * LogRecord[] → `opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest` protobuf, by
 * hand, the inverse of the receivers' logs-proto-decoder.ts, from the trace encoder's pieces
 * (encoder.ts's resource and scope writers, any-value.ts's typed values, proto-writer.ts).
 * Records are grouped by their shared resource, then scope objects, in first-seen order; fields at
 * their proto3 default are left out. Two outputs laid end to end are one valid request holding
 * both (repeated fields append), which the durable queues rely on.
 */
import type { LogRecord } from '../../collector/src/model/log-record.js';
import type { InstrumentationScope, Resource } from '../../collector/src/model/span.js';
import { writeAttributes, writeValue } from './any-value.js';
import { writeResource, writeScope } from './encoder.js';
import { ProtoWriter } from './proto-writer.js';

const writer = new ProtoWriter();
const RESERVE_OUTER = 3;
const RESERVE_RECORD = 2;
const RESERVE_SMALL = 1;

export function encodeLogsRequest(records: readonly LogRecord[]): Uint8Array {
  const w = writer;
  w.reset();
  try {
    for (const [resource, scopes] of groupRecords(records)) {
      w.byte(0x0a); // ExportLogsServiceRequest.resource_logs (1)
      const start = w.beginLen(RESERVE_OUTER);
      writeResource(w, resource);
      for (const [scope, list] of scopes) writeScopeLogs(w, scope, list);
      if (resource.schemaUrl !== '') w.string(0x1a, resource.schemaUrl); // 3 schema_url
      w.endLen(start, RESERVE_OUTER);
    }
    return w.finish();
  } finally {
    w.reset();
  }
}

function groupRecords(records: readonly LogRecord[]): Map<Resource, Map<InstrumentationScope, LogRecord[]>> {
  const groups = new Map<Resource, Map<InstrumentationScope, LogRecord[]>>();
  for (const record of records) {
    let scopes = groups.get(record.resource);
    if (scopes === undefined) groups.set(record.resource, (scopes = new Map()));
    let list = scopes.get(record.scope);
    if (list === undefined) scopes.set(record.scope, (list = []));
    list.push(record);
  }
  return groups;
}

function writeScopeLogs(w: ProtoWriter, scope: InstrumentationScope, records: readonly LogRecord[]): void {
  w.byte(0x12); // ResourceLogs.scope_logs (2)
  const start = w.beginLen(RESERVE_OUTER);
  writeScope(w, scope);
  for (const record of records) {
    w.byte(0x12); // 2 log_records
    const at = w.beginLen(RESERVE_RECORD);
    writeLogRecord(w, record);
    w.endLen(at, RESERVE_RECORD);
  }
  if (scope.schemaUrl !== '') w.string(0x1a, scope.schemaUrl); // 3 schema_url
  w.endLen(start, RESERVE_OUTER);
}

function writeLogRecord(w: ProtoWriter, r: LogRecord): void {
  if (r.timeUnixNano !== 0n) {
    w.byte(0x09); // 1 time_unix_nano (fixed64)
    w.fixed64(r.timeUnixNano);
  }
  if (r.severityNumber !== 0) {
    w.byte(0x10); // 2 severity_number
    w.varint32(r.severityNumber);
  }
  if (r.severityText !== '') w.string(0x1a, r.severityText); // 3 severity_text
  // 5 body: written when it has a value (a string, even empty, when the record had a string body).
  if (r.bodyKind !== undefined || r.body !== '') {
    w.byte(0x2a);
    const body = w.beginLen(RESERVE_SMALL);
    writeValue(w, r.body, r.bodyKind);
    w.endLen(body, RESERVE_SMALL);
  }
  writeAttributes(w, 0x32, r.attributes, r.attributeKinds); // 6 attributes
  if (r.droppedAttributesCount !== 0) {
    w.byte(0x38); // 7 dropped_attributes_count
    w.varint32(r.droppedAttributesCount);
  }
  if (r.flags !== 0) {
    w.byte(0x45); // 8 flags (fixed32)
    w.fixed32(r.flags);
  }
  if (r.traceId !== '') w.hex(0x4a, r.traceId); // 9 trace_id
  if (r.spanId !== '') w.hex(0x52, r.spanId); // 10 span_id
  if (r.observedTimeUnixNano !== 0n) {
    w.byte(0x59); // 11 observed_time_unix_nano (fixed64)
    w.fixed64(r.observedTimeUnixNano);
  }
  if (r.eventName !== '') w.string(0x62, r.eventName); // 12 event_name
}
