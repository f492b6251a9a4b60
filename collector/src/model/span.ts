/**
 * The collector's internal span model: one flat object per span, shaped after what
 * storage needs (the OpenTelemetry Collector ClickHouse exporter's `otel_traces` row),
 * so that the hot path decodes straight into it without an intermediate OTLP tree.
 *
 * Attribute values are kept as the strings that exporter stores (pdata's `AsString()`):
 * strings as they are, ints in decimal, doubles in JavaScript's shortest form (as pdata's
 * `float64AsString`: `1.5`, `1e-7`, `NaN`), booleans as
 * `true`/`false`, bytes in base64, arrays and kvlists as JSON. The original OTLP value
 * kind of every non-string value is kept beside them in `attributeKinds`, so that
 * typed values can be rebuilt on the way out.
 */

/** OTLP AnyValue kinds other than string; a key absent from `attributeKinds` is a string. */
export type ValueKind = 'bool' | 'int' | 'double' | 'bytes' | 'array' | 'kvlist' | 'empty';

export type Attributes = Record<string, string>;
export type AttributeKinds = Record<string, ValueKind>;

export interface Resource {
  attributes: Attributes;
  attributeKinds?: AttributeKinds;
  droppedAttributesCount: number;
  schemaUrl: string;
  /** `service.name` from the attributes, '' when absent. */
  serviceName: string;
}

export interface InstrumentationScope {
  name: string;
  version: string;
  attributes: Attributes;
  attributeKinds?: AttributeKinds;
  droppedAttributesCount: number;
  schemaUrl: string;
}

export interface SpanEvent {
  timeUnixNano: bigint;
  name: string;
  attributes: Attributes;
  attributeKinds?: AttributeKinds;
  droppedAttributesCount: number;
}

export interface SpanLink {
  traceId: string;
  spanId: string;
  traceState: string;
  flags: number;
  attributes: Attributes;
  attributeKinds?: AttributeKinds;
  droppedAttributesCount: number;
}

/** OTLP SpanKind numbers. */
export const SpanKind = {
  UNSPECIFIED: 0,
  INTERNAL: 1,
  SERVER: 2,
  CLIENT: 3,
  PRODUCER: 4,
  CONSUMER: 5,
} as const;

/** OTLP StatusCode numbers. */
export const StatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;

export interface Span {
  /** Shared by every span of the same ResourceSpans; never mutate it for one span alone. */
  resource: Resource;
  /** Shared by every span of the same ScopeSpans. */
  scope: InstrumentationScope;
  /** 32 lower-case hex digits. */
  traceId: string;
  /** 16 lower-case hex digits. */
  spanId: string;
  /** 16 lower-case hex digits, or '' for a root span. */
  parentSpanId: string;
  traceState: string;
  flags: number;
  name: string;
  /** One of {@link SpanKind}. */
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Attributes;
  attributeKinds?: AttributeKinds;
  droppedAttributesCount: number;
  events: SpanEvent[];
  droppedEventsCount: number;
  links: SpanLink[];
  droppedLinksCount: number;
  /** One of {@link StatusCode}. */
  statusCode: number;
  statusMessage: string;
  /**
   * Where the span is in the write-ahead journal (pipeline/journal/), set when it was journaled:
   * record seq × 2^21 + index. Never stored or exported.
   */
  position?: number;
}
