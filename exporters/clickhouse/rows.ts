import type { AttributeKinds, InstrumentationScope, Resource, Span } from '../../collector/src/model/span.js';

/** pdata's `SpanKind.String()` and `StatusCode.String()`, which the OpenTelemetry ClickHouse exporter stores. */
export const SPAN_KIND_NAMES = ['Unspecified', 'Internal', 'Server', 'Client', 'Producer', 'Consumer'] as const;
export const STATUS_CODE_NAMES = ['Unset', 'Ok', 'Error'] as const;

/**
 * Encodes spans as ClickHouse `JSONEachRow` text for `otel_traces`. Written by hand rather
 * than `JSON.stringify` per row object because the resource and scope are shared by many
 * spans: their JSON is made once per batch and spliced into each row.
 */
export function encodeJsonEachRow(spans: readonly Span[]): string {
  const resources = new Map<Resource, string>();
  const scopes = new Map<InstrumentationScope, string>();
  let out = '';
  for (const span of spans) {
    let resourceJson = resources.get(span.resource);
    if (resourceJson === undefined) {
      resourceJson = resourceFragment(span.resource);
      resources.set(span.resource, resourceJson);
    }
    let scopeJson = scopes.get(span.scope);
    if (scopeJson === undefined) {
      scopeJson = scopeFragment(span.scope);
      scopes.set(span.scope, scopeJson);
    }
    out += spanRow(span, resourceJson, scopeJson);
  }
  return out;
}

function resourceFragment(r: Resource): string {
  return (
    `"ServiceName":${JSON.stringify(r.serviceName)},"ResourceAttributes":${JSON.stringify(r.attributes)},` +
    `"ResourceSchemaUrl":${JSON.stringify(r.schemaUrl)},"ResourceDroppedAttributesCount":${r.droppedAttributesCount}`
  );
}

function scopeFragment(s: InstrumentationScope): string {
  return (
    `"ScopeName":${JSON.stringify(s.name)},"ScopeVersion":${JSON.stringify(s.version)},` +
    `"ScopeAttributes":${JSON.stringify(s.attributes)},"ScopeSchemaUrl":${JSON.stringify(s.schemaUrl)},` +
    `"ScopeDroppedAttributesCount":${s.droppedAttributesCount}`
  );
}

function spanRow(s: Span, resourceJson: string, scopeJson: string): string {
  const duration = s.endTimeUnixNano > s.startTimeUnixNano ? s.endTimeUnixNano - s.startTimeUnixNano : 0n;
  // IDs are hex and times are digits: no escaping needed.
  let row =
    `{"Timestamp":"${s.startTimeUnixNano}","TraceId":"${s.traceId}","SpanId":"${s.spanId}",` +
    `"ParentSpanId":"${s.parentSpanId}","TraceState":${JSON.stringify(s.traceState)},` +
    `"SpanName":${JSON.stringify(s.name)},"SpanKind":"${SPAN_KIND_NAMES[s.kind] ?? ''}",` +
    `${resourceJson},${scopeJson},"SpanAttributes":${JSON.stringify(s.attributes)},` +
    `"Duration":"${duration}","StatusCode":"${STATUS_CODE_NAMES[s.statusCode] ?? ''}",` +
    `"StatusMessage":${JSON.stringify(s.statusMessage)},"SpanFlags":${s.flags},` +
    `"DroppedAttributesCount":${s.droppedAttributesCount},"DroppedEventsCount":${s.droppedEventsCount},` +
    `"DroppedLinksCount":${s.droppedLinksCount}`;
  if (s.events.length > 0) {
    row +=
      `,"Events.Timestamp":[${s.events.map((e) => `"${e.timeUnixNano}"`).join(',')}]` +
      `,"Events.Name":${JSON.stringify(s.events.map((e) => e.name))}` +
      `,"Events.Attributes":[${s.events.map((e) => JSON.stringify(e.attributes)).join(',')}]` +
      `,"EventsDroppedAttributesCount":[${s.events.map((e) => e.droppedAttributesCount).join(',')}]`;
  }
  if (s.links.length > 0) {
    row +=
      `,"Links.TraceId":[${s.links.map((l) => `"${l.traceId}"`).join(',')}]` +
      `,"Links.SpanId":[${s.links.map((l) => `"${l.spanId}"`).join(',')}]` +
      `,"Links.TraceState":${JSON.stringify(s.links.map((l) => l.traceState))}` +
      `,"Links.Attributes":[${s.links.map((l) => JSON.stringify(l.attributes)).join(',')}]` +
      `,"LinksFlags":[${s.links.map((l) => l.flags).join(',')}]` +
      `,"LinksDroppedAttributesCount":[${s.links.map((l) => l.droppedAttributesCount).join(',')}]`;
  }
  const kinds = attributeKinds(s);
  if (kinds !== undefined) row += `,"AttributeKinds":${JSON.stringify(kinds)}`;
  return row + '}\n';
}

/** Every non-string attribute's OTLP kind, keyed by where it lives (see schema.ts). */
export function attributeKinds(s: Span): AttributeKinds | undefined {
  let out: AttributeKinds | undefined;
  const add = (prefix: string, kinds: AttributeKinds | undefined) => {
    if (kinds === undefined) return;
    for (const key in kinds) (out ??= {})[`${prefix}:${key}`] = kinds[key]!;
  };
  add('span', s.attributeKinds);
  add('resource', s.resource.attributeKinds);
  add('scope', s.scope.attributeKinds);
  s.events.forEach((e, i) => add(`event.${i}`, e.attributeKinds));
  s.links.forEach((l, i) => add(`link.${i}`, l.attributeKinds));
  return out;
}
