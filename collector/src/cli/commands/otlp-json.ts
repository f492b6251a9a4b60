import type { ValueKind } from '../../model/span.js';
import type { SpanView } from '../../query/span-view.js';

/**
 * A stored trace as an OTLP/JSON `ExportTraceServiceRequest` (the protobuf JSON mapping:
 * hex IDs, 64-bit times and ints as decimal strings, enums as numbers), and the check that a
 * file is one, for `flowtrace trace export` / `trace import`.
 *
 * Attribute types. The query API returns values typed again from the stored kinds, but a JSON
 * number cannot say int or double; `kinds` (the stored `AttributeKinds`, keyed `span:k`,
 * `resource:k`, `scope:k`, `event.N:k`, `link.N:k`) restores the top-level type exactly. Inside
 * arrays and kvlists the store keeps what pdata's JSON rendering keeps (as the OpenTelemetry
 * ClickHouse exporter does): a whole double comes back as an int, bytes as a base64 string, an
 * int beyond 2^53 as a string. Without kinds (no `sql` scope) a whole number is taken for an int.
 */

export interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number | string;
  bytesValue?: string;
  arrayValue?: { values: OtlpAnyValue[] };
  kvlistValue?: { values: OtlpKeyValue[] };
}
export interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}
export interface OtlpSpanJson {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  traceState: string;
  flags: number;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpKeyValue[];
  droppedAttributesCount: number;
  events: Array<{ timeUnixNano: string; name: string; attributes: OtlpKeyValue[]; droppedAttributesCount: number }>;
  droppedEventsCount: number;
  links: Array<{ traceId: string; spanId: string; traceState: string; flags: number; attributes: OtlpKeyValue[]; droppedAttributesCount: number }>;
  droppedLinksCount: number;
  status: { code: number; message: string };
}
export interface OtlpScopeSpansJson {
  scope: { name: string; version: string; attributes: OtlpKeyValue[]; droppedAttributesCount: number };
  schemaUrl: string;
  spans: OtlpSpanJson[];
}
export interface OtlpResourceSpansJson {
  resource: { attributes: OtlpKeyValue[]; droppedAttributesCount: number };
  schemaUrl: string;
  scopeSpans: OtlpScopeSpansJson[];
}
export interface OtlpTracesJson {
  resourceSpans: OtlpResourceSpansJson[];
}

/** Stored attribute kinds per span ID; a key absent is a string. */
export type KindsBySpan = ReadonlyMap<string, Readonly<Record<string, string>>>;

const SPAN_KINDS: Record<string, number> = { Unspecified: 0, Internal: 1, Server: 2, Client: 3, Producer: 4, Consumer: 5 };
const STATUS_CODES: Record<string, number> = { Unset: 0, Ok: 1, Error: 2 };
/** What the store holds for a non-finite double (pdata's error text), back to the protobuf JSON spelling. */
const NON_FINITE: Record<string, string> = {
  'json: unsupported value: NaN': 'NaN',
  'json: unsupported value: +Inf': 'Infinity',
  'json: unsupported value: -Inf': '-Infinity',
};

export function toOtlpJson(spans: readonly SpanView[], kinds?: KindsBySpan): OtlpTracesJson {
  const resources = new Map<string, { out: OtlpResourceSpansJson; scopes: Map<string, OtlpScopeSpansJson> }>();
  for (const span of spans) {
    const kindOf = (where: string) => (key: string) => kindFrom(kinds?.get(span.spanId)?.[`${where}:${key}`], kinds !== undefined);
    const resourceKey = JSON.stringify([span.resource.attributes, span.resource.droppedAttributesCount, span.resource.schemaUrl]);
    let resource = resources.get(resourceKey);
    if (!resource) {
      resource = {
        out: { resource: { attributes: keyValues(span.resource.attributes, kindOf('resource')), droppedAttributesCount: span.resource.droppedAttributesCount }, schemaUrl: span.resource.schemaUrl, scopeSpans: [] },
        scopes: new Map(),
      };
      resources.set(resourceKey, resource);
    }
    const s = span.scope;
    const scopeKey = JSON.stringify([s.name, s.version, s.attributes, s.droppedAttributesCount, s.schemaUrl]);
    let scope = resource.scopes.get(scopeKey);
    if (!scope) {
      scope = { scope: { name: s.name, version: s.version, attributes: keyValues(s.attributes, kindOf('scope')), droppedAttributesCount: s.droppedAttributesCount }, schemaUrl: s.schemaUrl, spans: [] };
      resource.scopes.set(scopeKey, scope);
      resource.out.scopeSpans.push(scope);
    }
    scope.spans.push({
      traceId: span.traceId,
      spanId: span.spanId,
      parentSpanId: span.parentSpanId,
      traceState: span.traceState,
      flags: span.flags,
      name: span.name,
      kind: SPAN_KINDS[span.kind] ?? 0,
      startTimeUnixNano: span.startTimeUnixNano,
      endTimeUnixNano: span.endTimeUnixNano,
      attributes: keyValues(span.attributes, kindOf('span')),
      droppedAttributesCount: span.droppedAttributesCount,
      events: span.events.map((e, i) => ({ timeUnixNano: e.timeUnixNano, name: e.name, attributes: keyValues(e.attributes, kindOf(`event.${i}`)), droppedAttributesCount: e.droppedAttributesCount })),
      droppedEventsCount: span.droppedEventsCount,
      links: span.links.map((l, i) => ({
        traceId: l.traceId,
        spanId: l.spanId,
        traceState: l.traceState,
        flags: l.flags,
        attributes: keyValues(l.attributes, kindOf(`link.${i}`)),
        droppedAttributesCount: l.droppedAttributesCount,
      })),
      droppedLinksCount: span.droppedLinksCount,
      status: { code: STATUS_CODES[span.status.code] ?? 0, message: span.status.message },
    });
  }
  return { resourceSpans: [...resources.values()].map((r) => r.out) };
}

/** A stored kind; `null` means "string" when kinds are known, `undefined` that they are not (guess from the value). */
function kindFrom(kind: string | undefined, known: boolean): ValueKind | null | undefined {
  if (kind !== undefined) return kind as ValueKind;
  return known ? null : undefined;
}

function keyValues(attributes: Record<string, unknown>, kindOf: (key: string) => ValueKind | null | undefined): OtlpKeyValue[] {
  return Object.entries(attributes).map(([key, value]) => ({ key, value: anyValue(value, kindOf(key)) }));
}

/** A top-level value of a known kind (`null`: string), or guessed from the JSON value when `undefined`. */
export function anyValue(value: unknown, kind: ValueKind | null | undefined): OtlpAnyValue {
  switch (kind) {
    case undefined:
      return nestedValue(value);
    case null:
      return { stringValue: typeof value === 'string' ? value : JSON.stringify(value) };
    case 'bool':
      return { boolValue: value === true };
    case 'int':
      return { intValue: String(value) };
    case 'double':
      return { doubleValue: typeof value === 'number' ? value : (NON_FINITE[String(value)] ?? String(value)) };
    case 'bytes':
      return { bytesValue: String(value) };
    case 'empty':
      return {};
    case 'array':
      // Text the store could not render as JSON (pdata's '' for NaN inside) stays text.
      return Array.isArray(value) ? nestedValue(value) : { stringValue: String(value) };
    case 'kvlist':
      return value !== null && typeof value === 'object' && !Array.isArray(value) ? nestedValue(value) : { stringValue: String(value) };
  }
}

/** A value inside an array or kvlist, from its JSON form. */
function nestedValue(value: unknown): OtlpAnyValue {
  if (value === null || value === undefined) return {};
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'number') return Number.isInteger(value) && !Object.is(value, -0) ? { intValue: String(value) } : { doubleValue: value };
  if (Array.isArray(value)) return { arrayValue: { values: value.map(nestedValue) } };
  return { kvlistValue: { values: Object.entries(value as Record<string, unknown>).map(([key, v]) => ({ key, value: nestedValue(v) })) } };
}

/** A file's content refused by `trace import`, with where and why. */
export class NotOtlpJsonError extends Error {
  override name = 'NotOtlpJsonError';
}

/**
 * Checks the shape `trace import` relies on (resourceSpans → scopeSpans → spans with string
 * IDs) and counts the spans; the collector's receiver validates everything else.
 */
export function checkOtlpJson(text: string): { request: OtlpTracesJson; spans: number } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new NotOtlpJsonError(`not JSON (${(err as Error).message})`);
  }
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObject(value) || !Array.isArray(value.resourceSpans)) throw new NotOtlpJsonError('not OTLP JSON: expected an object with a "resourceSpans" array (as `flowtrace trace export` writes)');
  let spans = 0;
  value.resourceSpans.forEach((rs: unknown, i: number) => {
    const where = `resourceSpans[${i}]`;
    if (!isObject(rs) || !Array.isArray(rs.scopeSpans)) throw new NotOtlpJsonError(`not OTLP JSON: ${where} has no "scopeSpans" array`);
    rs.scopeSpans.forEach((ss: unknown, j: number) => {
      if (!isObject(ss) || !Array.isArray(ss.spans)) throw new NotOtlpJsonError(`not OTLP JSON: ${where}.scopeSpans[${j}] has no "spans" array`);
      ss.spans.forEach((span: unknown, k: number) => {
        const at = `${where}.scopeSpans[${j}].spans[${k}]`;
        if (!isObject(span)) throw new NotOtlpJsonError(`not OTLP JSON: ${at} is not an object`);
        for (const field of ['traceId', 'spanId', 'name'] as const) {
          if (typeof span[field] !== 'string') throw new NotOtlpJsonError(`not OTLP JSON: ${at} has no string "${field}"`);
        }
        spans += 1;
      });
    });
  });
  if (spans === 0) throw new NotOtlpJsonError('the file holds no spans');
  return { request: value as unknown as OtlpTracesJson, spans };
}

/** The request cut into requests of at most `maxSpans` spans each, resources and scopes kept. */
export function splitRequest(request: OtlpTracesJson, maxSpans: number): OtlpTracesJson[] {
  const out: OtlpTracesJson[] = [];
  let current: OtlpTracesJson = { resourceSpans: [] };
  let count = 0;
  // The group being filled in `current`, and the input group it copies.
  let rsOut: OtlpResourceSpansJson | undefined;
  let rsIn: OtlpResourceSpansJson | undefined;
  let ssOut: OtlpScopeSpansJson | undefined;
  let ssIn: OtlpScopeSpansJson | undefined;
  for (const rs of request.resourceSpans) {
    for (const ss of rs.scopeSpans) {
      for (let i = 0; i < ss.spans.length; ) {
        if (count === maxSpans) {
          out.push(current);
          current = { resourceSpans: [] };
          count = 0;
          rsIn = ssIn = undefined;
        }
        if (rsIn !== rs) {
          rsOut = { ...rs, scopeSpans: [] };
          current.resourceSpans.push(rsOut);
          rsIn = rs;
          ssIn = undefined;
        }
        if (ssIn !== ss) {
          ssOut = { ...ss, spans: [] };
          rsOut!.scopeSpans.push(ssOut);
          ssIn = ss;
        }
        const take = ss.spans.slice(i, i + (maxSpans - count));
        ssOut!.spans.push(...take);
        count += take.length;
        i += take.length;
      }
    }
  }
  if (count > 0) out.push(current);
  return out;
}
