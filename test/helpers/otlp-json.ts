/** The OTLP/JSON shapes the official serializer produces, and their typed-JSON equivalents. */

export interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  bytesValue?: string;
  arrayValue?: { values?: OtlpAnyValue[] };
  kvlistValue?: { values?: OtlpKeyValue[] };
}
export interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  traceState?: string;
  flags?: number;
  name: string;
  kind: number;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes?: OtlpKeyValue[];
  droppedAttributesCount?: number;
  events?: Array<{ timeUnixNano: string | number; name: string; attributes?: OtlpKeyValue[]; droppedAttributesCount?: number }>;
  droppedEventsCount?: number;
  links?: Array<{ traceId: string; spanId: string; traceState?: string; flags?: number; attributes?: OtlpKeyValue[]; droppedAttributesCount?: number }>;
  droppedLinksCount?: number;
  status?: { code?: number; message?: string };
}
export interface OtlpRequest {
  resourceSpans: Array<{
    resource?: { attributes?: OtlpKeyValue[]; droppedAttributesCount?: number };
    schemaUrl?: string;
    scopeSpans: Array<{ scope?: { name?: string; version?: string; attributes?: OtlpKeyValue[] }; schemaUrl?: string; spans: OtlpSpan[] }>;
  }>;
}

/** An OTLP AnyValue as the query API returns it (see collector/src/query/span-view.ts). */
export function typedJson(v: OtlpAnyValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.bytesValue !== undefined) return v.bytesValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(typedJson);
  if (v.kvlistValue) return Object.fromEntries((v.kvlistValue.values ?? []).map((kv) => [kv.key, typedJson(kv.value)]));
  return null;
}

export function typedAttributes(kvs: OtlpKeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((kvs ?? []).map((kv) => [kv.key, typedJson(kv.value)]));
}

/** The value as the OpenTelemetry ClickHouse exporter stores it in a Map(String, String). */
export function storedString(v: OtlpAnyValue): string {
  const raw = typedJson(v);
  return typeof raw === 'string' ? raw : JSON.stringify(raw);
}

export const KIND_NAMES = ['Unspecified', 'Internal', 'Server', 'Client', 'Producer', 'Consumer'];
export const STATUS_NAMES = ['Unset', 'Ok', 'Error'];
