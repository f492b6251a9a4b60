import { parseJsonExact, RoundedFraction } from '../receivers/otlp/exact-json.js';
import type { ValueKind } from '../model/span.js';

/** A span as the query API returns it: every stored field, attribute values typed again. */
export interface SpanView {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  traceState: string;
  flags: number;
  name: string;
  kind: string;
  serviceName: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  /** 0 when the end was sent before the start. */
  durationNano: string;
  /** Present only for a span whose end was sent before its start (`endTimeUnixNano` is still as sent). */
  endBeforeStart?: true;
  attributes: Record<string, unknown>;
  droppedAttributesCount: number;
  resource: { attributes: Record<string, unknown>; droppedAttributesCount: number; schemaUrl: string };
  scope: { name: string; version: string; attributes: Record<string, unknown>; droppedAttributesCount: number; schemaUrl: string };
  events: Array<{ timeUnixNano: string; name: string; attributes: Record<string, unknown>; droppedAttributesCount: number }>;
  droppedEventsCount: number;
  links: Array<{ traceId: string; spanId: string; traceState: string; flags: number; attributes: Record<string, unknown>; droppedAttributesCount: number }>;
  droppedLinksCount: number;
  status: { code: string; message: string };
}

/** The columns `SPAN_COLUMNS` selects, as ClickHouse returns them in JSON. */
export interface SpanRow {
  Start: string;
  TraceId: string;
  SpanId: string;
  ParentSpanId: string;
  TraceState: string;
  SpanName: string;
  SpanKind: string;
  ServiceName: string;
  ResourceAttributes: Record<string, string>;
  ScopeName: string;
  ScopeVersion: string;
  SpanAttributes: Record<string, string>;
  Duration: string;
  StatusCode: string;
  StatusMessage: string;
  EventTimes: string[];
  EventNames: string[];
  EventAttributes: Array<Record<string, string>>;
  LinkTraceIds: string[];
  LinkSpanIds: string[];
  LinkTraceStates: string[];
  LinkAttributes: Array<Record<string, string>>;
  SpanFlags: number;
  DroppedAttributesCount: number;
  DroppedEventsCount: number;
  DroppedLinksCount: number;
  ResourceSchemaUrl: string;
  ResourceDroppedAttributesCount: number;
  ScopeAttributes: Record<string, string>;
  ScopeSchemaUrl: string;
  ScopeDroppedAttributesCount: number;
  EventsDroppedAttributesCount: number[];
  LinksFlags: number[];
  LinksDroppedAttributesCount: number[];
  AttributeKinds: Record<string, string>;
  EndBeforeStart: string;
}

/** Times as nanosecond integers (strings in JSON, so they keep all their digits). */
export const SPAN_COLUMNS = `
  toString(toUnixTimestamp64Nano(Timestamp)) AS Start, TraceId, SpanId, ParentSpanId, TraceState, SpanName, SpanKind,
  ServiceName, ResourceAttributes, ScopeName, ScopeVersion, SpanAttributes, toString(Duration) AS Duration,
  StatusCode, StatusMessage,
  arrayMap(t -> toString(toUnixTimestamp64Nano(t)), Events.Timestamp) AS EventTimes, Events.Name AS EventNames,
  Events.Attributes AS EventAttributes, Links.TraceId AS LinkTraceIds, Links.SpanId AS LinkSpanIds,
  Links.TraceState AS LinkTraceStates, Links.Attributes AS LinkAttributes,
  SpanFlags, DroppedAttributesCount, DroppedEventsCount, DroppedLinksCount, ResourceSchemaUrl,
  ResourceDroppedAttributesCount, ScopeAttributes, ScopeSchemaUrl, ScopeDroppedAttributesCount,
  EventsDroppedAttributesCount, LinksFlags, LinksDroppedAttributesCount, AttributeKinds,
  toString(EndBeforeStart) AS EndBeforeStart`;

export function spanView(row: SpanRow): SpanView {
  const kinds = row.AttributeKinds;
  const typed = (where: string, attributes: Record<string, string>) => typedAttributes(attributes, kinds, where);
  const end = BigInt(row.Start) + BigInt(row.Duration) - BigInt(row.EndBeforeStart);
  const view: SpanView = {
    traceId: row.TraceId,
    spanId: row.SpanId,
    parentSpanId: row.ParentSpanId,
    traceState: row.TraceState,
    flags: row.SpanFlags,
    name: row.SpanName,
    kind: row.SpanKind,
    serviceName: row.ServiceName,
    startTimeUnixNano: row.Start,
    endTimeUnixNano: end.toString(),
    durationNano: row.Duration,
    attributes: typed('span', row.SpanAttributes),
    droppedAttributesCount: row.DroppedAttributesCount,
    resource: {
      attributes: typed('resource', row.ResourceAttributes),
      droppedAttributesCount: row.ResourceDroppedAttributesCount,
      schemaUrl: row.ResourceSchemaUrl,
    },
    scope: {
      name: row.ScopeName,
      version: row.ScopeVersion,
      attributes: typed('scope', row.ScopeAttributes),
      droppedAttributesCount: row.ScopeDroppedAttributesCount,
      schemaUrl: row.ScopeSchemaUrl,
    },
    events: row.EventTimes.map((time, i) => ({
      timeUnixNano: time,
      name: row.EventNames[i]!,
      attributes: typed(`event.${i}`, row.EventAttributes[i]!),
      droppedAttributesCount: row.EventsDroppedAttributesCount[i] ?? 0,
    })),
    droppedEventsCount: row.DroppedEventsCount,
    links: row.LinkTraceIds.map((traceId, i) => ({
      traceId,
      spanId: row.LinkSpanIds[i]!,
      traceState: row.LinkTraceStates[i]!,
      flags: row.LinksFlags[i] ?? 0,
      attributes: typed(`link.${i}`, row.LinkAttributes[i]!),
      droppedAttributesCount: row.LinksDroppedAttributesCount[i] ?? 0,
    })),
    droppedLinksCount: row.DroppedLinksCount,
    status: { code: row.StatusCode, message: row.StatusMessage },
  };
  if (row.EndBeforeStart !== '0') view.endBeforeStart = true;
  return view;
}

function typedAttributes(attributes: Record<string, string>, kinds: Record<string, string>, where: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in attributes) out[key] = typedValue(attributes[key]!, kinds[`${where}:${key}`] as ValueKind | undefined);
  return out;
}

/**
 * The stored string back to a JSON value of its OTLP kind. Integers beyond 2^53 and
 * non-finite doubles stay strings, since JSON numbers cannot hold them; bytes stay base64.
 */
export function typedValue(text: string, kind: ValueKind | undefined): unknown {
  switch (kind) {
    case undefined:
    case 'bytes':
      return text;
    case 'bool':
      return text === 'true';
    case 'int': {
      const n = Number(text);
      return Number.isSafeInteger(n) ? n : text;
    }
    case 'double': {
      const n = Number(text);
      return Number.isFinite(n) ? n : text;
    }
    case 'array':
    case 'kvlist':
      try {
        // Exact: an int inside past 2^53 comes back as a string, like a top-level one.
        return jsonSafe(parseJsonExact(text));
      } catch {
        return text;
      }
    case 'empty':
      return null;
  }
}

/** Numbers a JSON number cannot hold exactly, as strings. */
function jsonSafe(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof RoundedFraction) return value.value;
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) Object.defineProperty(out, k, { value: jsonSafe(v), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value;
}
