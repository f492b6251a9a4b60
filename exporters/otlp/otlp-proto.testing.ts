/**
 * An independent OTLP decoder for the exporter tests: protobufjs (a dependency of @grpc/grpc-js's
 * proto-loader) with the trace messages of opentelemetry-proto v1, transcribed below. It checks
 * our encoder against a general-purpose protobuf runtime rather than only against our decoder.
 */
import protobuf from 'protobufjs';

const OTLP_TRACE_PROTO = `
syntax = "proto3";
package opentelemetry.proto;

message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope {
  string name = 1;
  string version = 2;
  repeated KeyValue attributes = 3;
  uint32 dropped_attributes_count = 4;
}
message Resource {
  repeated KeyValue attributes = 1;
  uint32 dropped_attributes_count = 2;
}
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans {
  Resource resource = 1;
  repeated ScopeSpans scope_spans = 2;
  string schema_url = 3;
}
message ScopeSpans {
  InstrumentationScope scope = 1;
  repeated Span spans = 2;
  string schema_url = 3;
}
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  fixed32 flags = 16;
  string name = 5;
  int32 kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9;
  uint32 dropped_attributes_count = 10;
  message Event {
    fixed64 time_unix_nano = 1;
    string name = 2;
    repeated KeyValue attributes = 3;
    uint32 dropped_attributes_count = 4;
  }
  repeated Event events = 11;
  uint32 dropped_events_count = 12;
  message Link {
    bytes trace_id = 1;
    bytes span_id = 2;
    string trace_state = 3;
    repeated KeyValue attributes = 4;
    uint32 dropped_attributes_count = 5;
    fixed32 flags = 6;
  }
  repeated Link links = 13;
  uint32 dropped_links_count = 14;
  Status status = 15;
}
message Status {
  reserved 1;
  string message = 2;
  int32 code = 3;
}
`;

const root = protobuf.parse(OTLP_TRACE_PROTO).root;
const request = root.lookupType('opentelemetry.proto.ExportTraceServiceRequest');

/** An ExportTraceServiceRequest as plain JSON-like data: int64s as decimal strings, bytes as hex. */
export function decodeWithProtobufjs(bytes: Uint8Array): ProtobufjsRequest {
  const message = request.decode(bytes);
  const object = request.toObject(message, { longs: String, bytes: String, defaults: false, oneofs: false });
  return hexBytes(object) as ProtobufjsRequest;
}

/** protobufjs writes bytes as base64: IDs read better in hex. */
function hexBytes(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => hexBytes(v));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, hexBytes(v, k)]));
  }
  if (typeof value === 'string' && /Id$/.test(key)) return Buffer.from(value, 'base64').toString('hex');
  return value;
}

export interface PbAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values?: PbAnyValue[] };
  kvlistValue?: { values?: PbKeyValue[] };
  bytesValue?: string;
}
export interface PbKeyValue {
  key?: string;
  value?: PbAnyValue;
}
export interface PbSpan {
  traceId?: string;
  spanId?: string;
  traceState?: string;
  parentSpanId?: string;
  flags?: number;
  name?: string;
  kind?: number;
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
  attributes?: PbKeyValue[];
  droppedAttributesCount?: number;
  events?: Array<{ timeUnixNano?: string; name?: string; attributes?: PbKeyValue[]; droppedAttributesCount?: number }>;
  droppedEventsCount?: number;
  links?: Array<{ traceId?: string; spanId?: string; traceState?: string; attributes?: PbKeyValue[]; droppedAttributesCount?: number; flags?: number }>;
  droppedLinksCount?: number;
  status?: { message?: string; code?: number };
}
export interface ProtobufjsRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: PbKeyValue[]; droppedAttributesCount?: number };
    scopeSpans?: Array<{
      scope?: { name?: string; version?: string; attributes?: PbKeyValue[]; droppedAttributesCount?: number };
      spans?: PbSpan[];
      schemaUrl?: string;
    }>;
    schemaUrl?: string;
  }>;
}
