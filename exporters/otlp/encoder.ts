/**
 * Span[] → `opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest` protobuf, by
 * hand (no intermediate OTLP object tree), the inverse of the receivers' proto-decoder.
 *
 * Spans are grouped by their `resource` object, then their `scope` object: the decoders share
 * one object among the spans of a ResourceSpans / ScopeSpans, so identity is the grouping the
 * sender made (and free to test). Groups keep the order in which they are first seen; spans
 * keep their order within a group.
 *
 * Fields at their proto3 default are left out, except where presence matters: a string
 * AnyValue is always written (an empty string is not an empty value). The output of two
 * calls laid end to end is one valid request holding both (repeated fields append), which
 * the exporters' durable queue relies on.
 */
import type { InstrumentationScope, Resource, Span, SpanEvent, SpanLink } from '../../collector/src/model/span.js';
import { writeAttributes } from './any-value.js';
import { ProtoWriter } from './proto-writer.js';

/** Encoding is synchronous: one buffer serves every call. */
const writer = new ProtoWriter();

/** `prefix`, when given, goes in front of the request in the same buffer (the journal's record header): one copy, not two. */
export function encodeTraceRequest(spans: readonly Span[], prefix?: Uint8Array): Uint8Array {
  const w = writer;
  w.reset();
  try {
    if (prefix) w.raw(prefix);
    for (const [resource, scopes] of groupSpans(spans)) writeResourceSpans(w, resource, scopes);
    return w.finish();
  } finally {
    w.reset();
  }
}

/**
 * The spans in the order {@link encodeTraceRequest} writes them — grouped by resource, then
 * scope, each group where it first appears — which is the order a decoder reads them back in.
 * Encoding this array keeps that order: the journal numbers spans by it.
 */
export function inEncodingOrder(spans: readonly Span[]): Span[] {
  const out: Span[] = [];
  for (const scopes of groupSpans(spans).values()) for (const list of scopes.values()) for (const span of list) out.push(span);
  return out;
}

type Groups = Map<Resource, Map<InstrumentationScope, Span[]>>;

function groupSpans(spans: readonly Span[]): Groups {
  const groups: Groups = new Map();
  // Consecutive spans nearly always share both: look the maps up only on a change.
  let lastResource: Resource | undefined;
  let lastScope: InstrumentationScope | undefined;
  let current: Span[] = [];
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i];
    if (span.resource !== lastResource || span.scope !== lastScope) {
      lastResource = span.resource;
      lastScope = span.scope;
      let scopes = groups.get(lastResource);
      if (scopes === undefined) groups.set(lastResource, (scopes = new Map()));
      let list = scopes.get(lastScope);
      if (list === undefined) scopes.set(lastScope, (list = []));
      current = list;
    }
    current.push(span);
  }
  return groups;
}

// Reserved length bytes per message: what its content usually needs (proto-writer.ts).
const RESERVE_OUTER = 3; // ResourceSpans, ScopeSpans: up to 2 MiB
const RESERVE_SPAN = 2; // up to 16 KiB
const RESERVE_SMALL = 1;

function writeResourceSpans(w: ProtoWriter, resource: Resource, scopes: Map<InstrumentationScope, Span[]>): void {
  w.byte(0x0a); // ExportTraceServiceRequest.resource_spans (1)
  const start = w.beginLen(RESERVE_OUTER);
  writeResource(w, resource);
  for (const [scope, spans] of scopes) writeScopeSpans(w, scope, spans);
  if (resource.schemaUrl !== '') w.string(0x1a, resource.schemaUrl); // 3 schema_url
  w.endLen(start, RESERVE_OUTER);
}

function writeScopeSpans(w: ProtoWriter, scope: InstrumentationScope, spans: Span[]): void {
  w.byte(0x12); // ResourceSpans.scope_spans (2)
  const start = w.beginLen(RESERVE_OUTER);
  writeScope(w, scope);
  for (let i = 0; i < spans.length; i++) {
    w.byte(0x12); // 2 spans
    const span = w.beginLen(RESERVE_SPAN);
    writeSpan(w, spans[i]);
    w.endLen(span, RESERVE_SPAN);
  }
  if (scope.schemaUrl !== '') w.string(0x1a, scope.schemaUrl); // 3 schema_url
  w.endLen(start, RESERVE_OUTER);
}

/**
 * Field 1 of a ResourceSpans — and of a ResourceLogs, which has the same layout (the logs
 * encoder, logs-encoder.ts, writes its resources with this).
 */
export function writeResource(w: ProtoWriter, resource: Resource): void {
  w.byte(0x0a); // 1 resource
  const res = w.beginLen(2);
  writeAttributes(w, 0x0a, resource.attributes, resource.attributeKinds); // 1 attributes
  if (resource.droppedAttributesCount !== 0) {
    w.byte(0x10); // 2 dropped_attributes_count
    w.varint32(resource.droppedAttributesCount);
  }
  w.endLen(res, 2);
}

/** Field 1 of a ScopeSpans, or of a ScopeLogs (the same layout). */
export function writeScope(w: ProtoWriter, scope: InstrumentationScope): void {
  w.byte(0x0a); // 1 scope
  const sc = w.beginLen(RESERVE_SMALL);
  if (scope.name !== '') w.string(0x0a, scope.name); // 1 name
  if (scope.version !== '') w.string(0x12, scope.version); // 2 version
  writeAttributes(w, 0x1a, scope.attributes, scope.attributeKinds); // 3 attributes
  if (scope.droppedAttributesCount !== 0) {
    w.byte(0x20); // 4 dropped_attributes_count
    w.varint32(scope.droppedAttributesCount);
  }
  w.endLen(sc, RESERVE_SMALL);
}

function writeSpan(w: ProtoWriter, s: Span): void {
  w.hex(0x0a, s.traceId); // 1 trace_id
  w.hex(0x12, s.spanId); // 2 span_id
  if (s.traceState !== '') w.string(0x1a, s.traceState); // 3 trace_state
  if (s.parentSpanId !== '') w.hex(0x22, s.parentSpanId); // 4 parent_span_id
  if (s.name !== '') w.string(0x2a, s.name); // 5 name
  if (s.kind !== 0) {
    w.byte(0x30); // 6 kind
    w.int64(s.kind);
  }
  if (s.startTimeUnixNano !== 0n) {
    w.byte(0x39); // 7 start_time_unix_nano (fixed64)
    w.fixed64(s.startTimeUnixNano);
  }
  if (s.endTimeUnixNano !== 0n) {
    w.byte(0x41); // 8 end_time_unix_nano (fixed64)
    w.fixed64(s.endTimeUnixNano);
  }
  writeAttributes(w, 0x4a, s.attributes, s.attributeKinds); // 9 attributes
  if (s.droppedAttributesCount !== 0) {
    w.byte(0x50); // 10 dropped_attributes_count
    w.varint32(s.droppedAttributesCount);
  }
  for (let i = 0; i < s.events.length; i++) writeEvent(w, s.events[i]); // 11 events
  if (s.droppedEventsCount !== 0) {
    w.byte(0x60); // 12 dropped_events_count
    w.varint32(s.droppedEventsCount);
  }
  for (let i = 0; i < s.links.length; i++) writeLink(w, s.links[i]); // 13 links
  if (s.droppedLinksCount !== 0) {
    w.byte(0x70); // 14 dropped_links_count
    w.varint32(s.droppedLinksCount);
  }
  if (s.statusCode !== 0 || s.statusMessage !== '') {
    w.byte(0x7a); // 15 status
    const status = w.beginLen(RESERVE_SMALL);
    if (s.statusMessage !== '') w.string(0x12, s.statusMessage); // 2 message
    if (s.statusCode !== 0) {
      w.byte(0x18); // 3 code
      w.int64(s.statusCode);
    }
    w.endLen(status, RESERVE_SMALL);
  }
  if (s.flags !== 0) {
    w.byte(0x85); // 16 flags (fixed32): a two-byte tag
    w.byte(0x01);
    w.fixed32(s.flags);
  }
}

function writeEvent(w: ProtoWriter, e: SpanEvent): void {
  w.byte(0x5a);
  const start = w.beginLen(RESERVE_SMALL);
  if (e.timeUnixNano !== 0n) {
    w.byte(0x09); // 1 time_unix_nano (fixed64)
    w.fixed64(e.timeUnixNano);
  }
  if (e.name !== '') w.string(0x12, e.name); // 2 name
  writeAttributes(w, 0x1a, e.attributes, e.attributeKinds); // 3 attributes
  if (e.droppedAttributesCount !== 0) {
    w.byte(0x20); // 4 dropped_attributes_count
    w.varint32(e.droppedAttributesCount);
  }
  w.endLen(start, RESERVE_SMALL);
}

function writeLink(w: ProtoWriter, l: SpanLink): void {
  w.byte(0x6a);
  const start = w.beginLen(RESERVE_SMALL);
  if (l.traceId !== '') w.hex(0x0a, l.traceId); // 1 trace_id
  if (l.spanId !== '') w.hex(0x12, l.spanId); // 2 span_id
  if (l.traceState !== '') w.string(0x1a, l.traceState); // 3 trace_state
  writeAttributes(w, 0x22, l.attributes, l.attributeKinds); // 4 attributes
  if (l.droppedAttributesCount !== 0) {
    w.byte(0x28); // 5 dropped_attributes_count
    w.varint32(l.droppedAttributesCount);
  }
  if (l.flags !== 0) {
    w.byte(0x35); // 6 flags (fixed32)
    w.fixed32(l.flags);
  }
  w.endLen(start, RESERVE_SMALL);
}
