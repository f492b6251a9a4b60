import type { AttributeKinds, Attributes, SpanEvent, SpanLink, ValueKind } from '../../collector/src/model/span.js';

/**
 * Span events and links as the Datadog Agent's OTLP ingest flattens them into meta
 * (`events`, `_dd.span_links`; pkg/trace/transform/transform.go `MarshalEvents`,
 * `MarshalLinks`). Event attributes keep their OTLP types (the agent marshals `AsRaw()`);
 * link attributes are strings, as the agent writes them.
 */

/** The JSON for a model attribute value of the given kind (see collector/src/model/span.ts). */
export function typedJson(value: string, kind: ValueKind | undefined): string {
  switch (kind) {
    case 'bool':
      return value === 'true' ? 'true' : 'false';
    case 'int':
      // Written as it is: JSON numbers have no 2^53 limit, only JavaScript's do.
      return /^-?\d+$/.test(value) ? value : JSON.stringify(value);
    case 'double':
      // NaN and ±Inf are kept by the model as pdata's error text, which JSON can only carry as a string.
      return value.trim() !== '' && Number.isFinite(Number(value)) ? value : JSON.stringify(value);
    case 'array':
    case 'kvlist':
      // Already JSON (pdata's AsString of these is json.Marshal); '' when that failed.
      return value === '' ? 'null' : value;
    case 'empty':
      return 'null';
    default: // strings, and bytes (base64, as encoding/json writes []byte)
      return JSON.stringify(value);
  }
}

function attributesJson(attributes: Attributes, kinds: AttributeKinds | undefined): string {
  const parts: string[] = [];
  for (const key of Object.keys(attributes)) parts.push(`${JSON.stringify(key)}:${typedJson(attributes[key], kinds?.[key])}`);
  return `{${parts.join(',')}}`;
}

export function eventsJson(events: SpanEvent[]): string {
  const out: string[] = [];
  for (const e of events) {
    const parts: string[] = [];
    // A bigint: string concatenation keeps every digit of a nanosecond timestamp.
    if (e.timeUnixNano !== 0n) parts.push(`"time_unix_nano":${e.timeUnixNano}`);
    if (e.name) parts.push(`"name":${JSON.stringify(e.name)}`);
    if (Object.keys(e.attributes).length > 0) parts.push(`"attributes":${attributesJson(e.attributes, e.attributeKinds)}`);
    if (e.droppedAttributesCount) parts.push(`"dropped_attributes_count":${e.droppedAttributesCount}`);
    out.push(`{${parts.join(',')}}`);
  }
  return `[${out.join(',')}]`;
}

interface LinkJson {
  trace_id: string;
  span_id: string;
  tracestate?: string;
  attributes?: Attributes;
  dropped_attributes_count?: number;
}

export function linksJson(links: SpanLink[]): string {
  return JSON.stringify(
    links.map((l) => {
      const j: LinkJson = { trace_id: l.traceId, span_id: l.spanId };
      if (l.traceState) j.tracestate = l.traceState;
      if (Object.keys(l.attributes).length > 0) j.attributes = l.attributes;
      if (l.droppedAttributesCount) j.dropped_attributes_count = l.droppedAttributesCount;
      return j;
    }),
  );
}
