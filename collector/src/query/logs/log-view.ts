import type { ValueKind } from '../../model/span.js';
import { typedValue } from '../span-view.js';

/** Longest body returned per record; the rest is cut and `bodyTruncated` says so (a response byte cap needs a row cap). */
export const MAX_BODY_CHARS = 16_384;
/**
 * A record whose attribute maps (log, resource, scope, with their kinds) hold more bytes than this
 * has them cut (`attributesTruncated`): at most MAX_ATTRIBUTE_ENTRIES entries per map, keys and values
 * cut, values as strings. Even JSON-escaped (≤ 6 bytes a character) such a record stays far under
 * the page's 4 MiB, so the byte cap holds for the first record of a page too.
 */
export const MAX_RECORD_ATTRIBUTE_BYTES = 256 * 1024;
export const MAX_ATTRIBUTE_ENTRIES = 64;
export const MAX_ATTRIBUTE_KEY_CHARS = 256;
export const MAX_ATTRIBUTE_VALUE_CHARS = 1024;

/** How a record of a trace's logs was found: it names the trace, or it shares a correlation ID with the trace's spans. */
export type LogFoundBy = 'trace' | 'correlation';

/** One log record as the query API returns it: every stored field, attribute values typed again. */
export interface LogView {
  timeUnixNano: string;
  observedTimeUnixNano: string;
  traceId: string;
  spanId: string;
  flags: number;
  severityText: string;
  severityNumber: number;
  serviceName: string;
  /** A string body as sent; any other kind typed again from its stored JSON. Cut at MAX_BODY_CHARS. */
  body: unknown;
  /** Present (true) only when the body was longer than MAX_BODY_CHARS. */
  bodyTruncated?: true;
  /** Present (true) only when the attribute maps were cut (MAX_RECORD_ATTRIBUTE_BYTES); their values are then strings. */
  attributesTruncated?: true;
  eventName: string;
  correlationId: string;
  attributes: Record<string, unknown>;
  droppedAttributesCount: number;
  resource: { attributes: Record<string, unknown>; droppedAttributesCount: number; schemaUrl: string };
  scope: { name: string; version: string; attributes: Record<string, unknown>; droppedAttributesCount: number; schemaUrl: string };
  /** Only in the logs of a trace (`/api/traces/:id/logs`). */
  foundBy?: LogFoundBy;
}

/** The columns LOG_COLUMNS selects, as ClickHouse returns them in JSON. */
export interface LogRow {
  Time: string;
  Observed: string;
  TraceId: string;
  SpanId: string;
  Flags: number;
  SeverityText: string;
  SeverityNumber: number;
  ServiceName: string;
  BodyStart: string;
  BodyCut: number;
  EventName: string;
  CorrelationId: string;
  LogAttrs: Record<string, string>;
  DroppedAttributesCount: number;
  ResourceAttrs: Record<string, string>;
  ResourceDroppedAttributesCount: number;
  ResourceSchemaUrl: string;
  ScopeName: string;
  ScopeVersion: string;
  ScopeAttrs: Record<string, string>;
  ScopeDroppedAttributesCount: number;
  ScopeSchemaUrl: string;
  Kinds: Record<string, string>;
  AttributesCut: number;
}

/** Bytes of a map's keys and values. */
const mapBytes = (map: string) => `arraySum(arrayMap((k, v) -> length(k) + length(v), mapKeys(${map}), mapValues(${map})))`;
/** The map, or when the record's maps are too big, its first entries cut (the same type either way). */
const cutMap = (map: string) =>
  `if(AttributesCut, mapFromArrays(arraySlice(arrayMap(k -> substringUTF8(k, 1, ${MAX_ATTRIBUTE_KEY_CHARS}), CAST(mapKeys(${map}), 'Array(String)')), 1, ${MAX_ATTRIBUTE_ENTRIES}), arraySlice(arrayMap(v -> substringUTF8(v, 1, ${MAX_ATTRIBUTE_VALUE_CHARS}), mapValues(${map})), 1, ${MAX_ATTRIBUTE_ENTRIES})), CAST(${map}, 'Map(String, String)'))`;

/** Times as nanosecond integers (strings in JSON, so they keep all their digits); the body cut in the engine. */
export const LOG_COLUMNS = `
  toString(toUnixTimestamp64Nano(Timestamp)) AS Time, toString(toUnixTimestamp64Nano(ObservedTimestamp)) AS Observed,
  TraceId, SpanId, Flags, SeverityText, SeverityNumber, ServiceName,
  substringUTF8(Body, 1, ${MAX_BODY_CHARS}) AS BodyStart, lengthUTF8(Body) > ${MAX_BODY_CHARS} AS BodyCut, EventName, CorrelationId,
  ${mapBytes('LogAttributes')} + ${mapBytes('ResourceAttributes')} + ${mapBytes('ScopeAttributes')} + ${mapBytes('AttributeKinds')} > ${MAX_RECORD_ATTRIBUTE_BYTES} AS AttributesCut,
  ${cutMap('LogAttributes')} AS LogAttrs, DroppedAttributesCount, ${cutMap('ResourceAttributes')} AS ResourceAttrs, ResourceDroppedAttributesCount, ResourceSchemaUrl,
  ScopeName, ScopeVersion, ${cutMap('ScopeAttributes')} AS ScopeAttrs, ScopeDroppedAttributesCount, ScopeSchemaUrl,
  if(AttributesCut, mapFilter((k, v) -> k = 'body', AttributeKinds), AttributeKinds) AS Kinds`;

/** The bytes of a record as LOG_COLUMNS returns it, about: a lower bound of its JSON for the page's byte cap in the engine. */
export const LOG_ROW_BYTES = `length(BodyStart) + ${mapBytes('LogAttrs')} + ${mapBytes('ResourceAttrs')} + ${mapBytes('ScopeAttrs')}
  + length(ServiceName) + length(SeverityText) + length(EventName) + length(CorrelationId) + length(ScopeName) + length(ScopeVersion)
  + length(ResourceSchemaUrl) + length(ScopeSchemaUrl) + length(TraceId) + length(SpanId)`;

export function logView(row: LogRow): LogView {
  const kinds = row.Kinds;
  const typed = (where: string, attributes: Record<string, string>) => {
    const out: Record<string, unknown> = {};
    for (const key in attributes) out[key] = typedValue(attributes[key]!, kinds[`${where}:${key}`] as ValueKind | undefined);
    return out;
  };
  const cut = Boolean(row.BodyCut);
  const view: LogView = {
    timeUnixNano: row.Time,
    observedTimeUnixNano: row.Observed,
    traceId: row.TraceId,
    spanId: row.SpanId,
    flags: row.Flags,
    severityText: row.SeverityText,
    severityNumber: row.SeverityNumber,
    serviceName: row.ServiceName,
    // A cut JSON body no longer parses: it stays the text it is.
    body: cut ? row.BodyStart : typedValue(row.BodyStart, kinds.body as ValueKind | undefined),
    eventName: row.EventName,
    correlationId: row.CorrelationId,
    attributes: typed('log', row.LogAttrs),
    droppedAttributesCount: row.DroppedAttributesCount,
    resource: { attributes: typed('resource', row.ResourceAttrs), droppedAttributesCount: row.ResourceDroppedAttributesCount, schemaUrl: row.ResourceSchemaUrl },
    scope: {
      name: row.ScopeName,
      version: row.ScopeVersion,
      attributes: typed('scope', row.ScopeAttrs),
      droppedAttributesCount: row.ScopeDroppedAttributesCount,
      schemaUrl: row.ScopeSchemaUrl,
    },
  };
  if (cut) view.bodyTruncated = true;
  if (Boolean(row.AttributesCut)) view.attributesTruncated = true;
  return view;
}
