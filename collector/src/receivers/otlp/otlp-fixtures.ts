/**
 * Test fixtures for the OTLP decoders (used by the *.test.ts files beside it only).
 *
 * Request bytes come from the official OpenTelemetry JS encoders (@opentelemetry/otlp-
 * transformer's ProtobufTraceSerializer and JsonTraceSerializer) fed with spans from the
 * official SDK. What the SDK refuses to record (bytes, kvlist and empty values, scope
 * attributes, a zero parent, bad IDs) is given to the same serializers as hand-built
 * ReadableSpans: the serializers encode every AnyValue kind, only the API's types are
 * narrower. WireWriter is for what no encoder produces on purpose: unknown fields,
 * reordered fields, malformed bytes.
 */
import {
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  context,
  trace,
  type Attributes,
  type AttributeValue,
  type HrTime,
  type Link,
  type SpanContext,
} from '@opentelemetry/api';
import { TraceState, type InstrumentationScope } from '@opentelemetry/core';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes, type DetectedResourceAttributes, type Resource } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type IdGenerator,
  type ReadableSpan,
  type TimedEvent,
} from '@opentelemetry/sdk-trace-base';

// ---------------------------------------------------------------------------------------
// Official encoders

export function encodeProtobuf(spans: ReadableSpan[]): Uint8Array {
  const bytes = ProtobufTraceSerializer.serializeRequest(spans);
  if (bytes === undefined) throw new Error('ProtobufTraceSerializer produced nothing');
  return bytes;
}

/** The OTLP/JSON body as the official exporter sends it, parsed back into a value. */
export function encodeJson(spans: ReadableSpan[]): unknown {
  const bytes = JsonTraceSerializer.serializeRequest(spans);
  if (bytes === undefined) throw new Error('JsonTraceSerializer produced nothing');
  return JSON.parse(new TextDecoder().decode(bytes));
}

// ---------------------------------------------------------------------------------------
// IDs and times used throughout

export const REMOTE_PARENT: SpanContext = {
  traceId: '5b8efff798038103d269b633813fc60c',
  spanId: 'eee19b7ec3c1b174',
  traceFlags: TraceFlags.SAMPLED,
  isRemote: true,
  traceState: new TraceState('vendor1=abc,vendor2=xyz'),
};

export const LINKED_REMOTE: SpanContext = {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.SAMPLED,
  isRemote: true,
  traceState: new TraceState('k=v'),
};

export const LINKED_LOCAL: SpanContext = {
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
  traceFlags: TraceFlags.NONE,
};

export function traceIdOf(n: number): string {
  return 'cafe' + n.toString(16).padStart(28, '0');
}

export function spanIdOf(n: number): string {
  return 'fa' + n.toString(16).padStart(14, '0');
}

/** Hands out predictable IDs so that tests can name them. */
class SequentialIds implements IdGenerator {
  private traces = 0;
  private spans = 0;
  generateTraceId(): string {
    return traceIdOf(++this.traces);
  }
  generateSpanId(): string {
    return spanIdOf(++this.spans);
  }
}

export const T0: HrTime = [1_700_000_000, 123_456_789];
export const T0_NANOS = 1_700_000_000_123_456_789n;

export function at(offsetNanos: number): HrTime {
  const nanos = T0[1] + offsetNanos;
  return [T0[0] + Math.floor(nanos / 1e9), nanos % 1e9];
}

// ---------------------------------------------------------------------------------------
// Spans from the SDK

export const SDK_RESOURCE_SCHEMA = 'https://opentelemetry.io/schemas/1.26.0';
export const SDK_SCOPE_SCHEMA = 'https://opentelemetry.io/schemas/1.25.0';

/**
 * Spans recorded by the official SDK: one of every kind, every attribute value type the API
 * allows, events, links (remote and local), status, trace state, remote and local parents;
 * plus a second provider whose limits make the SDK count dropped attributes, events and links.
 */
export async function sdkSpans(): Promise<ReadableSpan[]> {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    idGenerator: new SequentialIds(),
    resource: resourceFromAttributes(
      {
        'service.name': 'checkout',
        'host.cpu.count': 8,
        'process.uptime': 12.5,
        'feature.enabled': true,
        'deployment.zones': ['eu-1', 'eu-2'],
        'service.ports': [80, 443],
      },
      { schemaUrl: SDK_RESOURCE_SCHEMA },
    ),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('flowtrace.test', '1.2.3', { schemaUrl: SDK_SCOPE_SCHEMA });

  const remoteParent = trace.setSpanContext(context.active(), REMOTE_PARENT);
  const server = tracer.startSpan(
    'POST /orders/:id',
    {
      kind: SpanKind.SERVER,
      startTime: at(0),
      attributes: ALL_API_ATTRIBUTE_TYPES,
      links: [
        { context: LINKED_REMOTE, attributes: { 'link.kind': 'follows', 'link.n': 3 } },
        { context: LINKED_LOCAL },
      ],
    },
    remoteParent,
  );
  server.addEvent('retry', { attempt: 2, reason: 'timeout' }, at(100_000_000));
  server.addEvent('no-attributes', at(200_000_001));
  server.setStatus({ code: SpanStatusCode.ERROR, message: 'payment declined' });

  const client = tracer.startSpan(
    'PaymentClient.charge',
    { kind: SpanKind.CLIENT, startTime: at(1_000), attributes: { 'peer.service': 'payments' } },
    trace.setSpan(context.active(), server),
  );
  client.setStatus({ code: SpanStatusCode.OK });
  client.end(at(2_000));
  server.end(at(864_197_532));

  for (const [kind, name] of [
    [SpanKind.INTERNAL, 'OrderService.create'],
    [SpanKind.PRODUCER, 'orders publish'],
    [SpanKind.CONSUMER, 'orders process'],
  ] as const) {
    tracer.startSpan(name, { kind, startTime: at(5_000) }).end(at(6_000));
  }

  const limitedExporter = new InMemorySpanExporter();
  const limited = new BasicTracerProvider({
    idGenerator: new SequentialIds(),
    resource: resourceFromAttributes({ 'service.name': 'limited' }),
    spanLimits: {
      attributeCountLimit: 2,
      eventCountLimit: 1,
      linkCountLimit: 1,
      attributePerEventCountLimit: 1,
      attributePerLinkCountLimit: 1,
    },
    spanProcessors: [new SimpleSpanProcessor(limitedExporter)],
  });
  const crowded = limited.getTracer('limits').startSpan('crowded', {
    startTime: at(0),
    attributes: { a: 1, b: 2, c: 3, d: 4 },
    links: [
      { context: LINKED_LOCAL, attributes: { x: 1 } },
      { context: LINKED_REMOTE, attributes: { y: 1, z: 2 } },
    ],
  });
  crowded.addEvent('first', at(1));
  crowded.addEvent('second', at(2));
  crowded.addEvent('third', { p: 1, q: 2, r: 3 }, at(3));
  crowded.end(at(10));

  await provider.forceFlush();
  await limited.forceFlush();
  return [...exporter.getFinishedSpans(), ...limitedExporter.getFinishedSpans()];
}

/**
 * Every attribute value type the OpenTelemetry API accepts, with edge values. No double is
 * an integer (|v| >= 2^53 always is): the official JSON encoder would send it as intValue.
 */
export const ALL_API_ATTRIBUTE_TYPES: Attributes = {
  'http.route': '/orders/:id',
  'http.response.status_code': 201,
  'int.negative': -42,
  'int.min': -(2 ** 63),
  'int.large': 2 ** 60,
  'double.plain': 0.25,
  'double.tiny': 1e-7,
  'double.large': 1500000000000000.5,
  'double.negative': -1234.5678,
  'bool.true': true,
  'bool.false': false,
  'string.empty': '',
  'string.unicode': 'žluťoučký kůň 🐴',
  'array.strings': ['a', null, 'He said "hi" <b>&</b>\n', 'žluť 🐴'],
  'array.ints': [1, -2, 3],
  'array.doubles': [1.5, 1e-7, -0.5],
  'array.bools': [true, false],
  'array.empty': [],
};

// ---------------------------------------------------------------------------------------
// Hand-built ReadableSpans for what the SDK will not record

/** An OTLP AnyValue as the official serializers accept it (Uint8Array = bytes, object = kvlist, null = empty). */
export type AnyValueInput = AttributeValue | Uint8Array | null | AnyValueInput[] | { [key: string]: AnyValueInput };

/** The serializers encode these kinds; only the API's attribute type is narrower. */
export function anyAttributes(values: Record<string, AnyValueInput>): Attributes {
  return values as unknown as Attributes;
}

export function handResource(values: Record<string, AnyValueInput>, schemaUrl?: string): Resource {
  return resourceFromAttributes(values as unknown as DetectedResourceAttributes, { schemaUrl });
}

/** InstrumentationScope as the serializers read it (the SDK type has no attributes yet). */
export interface ScopeWithAttributes extends InstrumentationScope {
  attributes?: Attributes;
  droppedAttributesCount?: number;
}

export interface HandSpanInput {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name?: string;
  /** undefined encodes SPAN_KIND_UNSPECIFIED. */
  kind?: SpanKind;
  traceFlags?: number;
  traceState?: string;
  attributes?: Attributes;
  events?: TimedEvent[];
  links?: Link[];
  resource: Resource;
  scope: ScopeWithAttributes;
}

export function handSpan(input: HandSpanInput): ReadableSpan {
  const spanContext: SpanContext = {
    traceId: input.traceId,
    spanId: input.spanId,
    traceFlags: input.traceFlags ?? TraceFlags.SAMPLED,
    traceState: input.traceState === undefined ? undefined : new TraceState(input.traceState),
  };
  const parentSpanContext: SpanContext | undefined =
    input.parentSpanId === undefined
      ? undefined
      : { traceId: input.traceId, spanId: input.parentSpanId, traceFlags: TraceFlags.SAMPLED };
  return {
    name: input.name ?? 'hand-made',
    kind: input.kind as SpanKind, // undefined on purpose for UNSPECIFIED: the serializers write kind 0
    spanContext: () => spanContext,
    parentSpanContext,
    startTime: at(0),
    endTime: at(1_000),
    status: { code: SpanStatusCode.UNSET },
    attributes: input.attributes ?? {},
    links: input.links ?? [],
    events: input.events ?? [],
    duration: [0, 1_000],
    ended: true,
    resource: input.resource,
    instrumentationScope: input.scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

export const HAND_RESOURCE = handResource(
  {
    'service.name': 'hand-made',
    'resource.bytes': new Uint8Array([0, 1, 2, 250, 255]),
    'resource.kvlist': { zone: 'eu-1', weight: 3 },
  },
  'https://example.com/resource-schema',
);

export const HAND_SCOPE: ScopeWithAttributes = {
  name: 'hand.scope',
  version: '0.0.1',
  schemaUrl: 'https://example.com/scope-schema',
  attributes: anyAttributes({ 'scope.attr': 'x', 'scope.n': 7, 'scope.kv': { b: true, a: null } }),
  droppedAttributesCount: 3,
};

/** AnyValue kinds and shapes beyond the API, all of which JSON can carry too. */
export const ALL_ANY_VALUE_KINDS: Record<string, AnyValueInput> = {
  bytes: new Uint8Array([0, 1, 2, 250, 255]),
  'bytes.empty': new Uint8Array(0),
  kvlist: { b: 1, a: 'x', c: [true, null], d: { z: new Uint8Array([1, 2]), y: 1.5, x: new Uint8Array(0) }, e: null },
  'kvlist.empty': {},
  'kvlist.html': { '<k>': 'a&b', 'line\u2028sep': '\u0001\b\f\t\r' },
  'kvlist.order': { é: 1, z: 2, '😀': 3, '\ue000': 4, Z: 5, '': 6 },
  empty: null,
  'array.mixed': ['s', 1, 2.5, false, null, new Uint8Array([255]), [1, [2]], { k: 'v' }],
  'array.nested': [[[1]], []],
  ['__proto__']: 'proto-key-value', // computed, so that it is an own key and not the prototype
  constructor: 'constructor-key-value',
};

/** What the decoders make of ALL_ANY_VALUE_KINDS: pdata AsString() strings. */
export const EXPECTED_ANY_VALUE_STRINGS: Record<string, string> = {
  bytes: 'AAEC+v8=',
  'bytes.empty': '',
  // Go's json.Marshal of the kvlist's raw map: sorted keys, bytes in base64, nil bytes as null.
  kvlist: '{"a":"x","b":1,"c":[true,null],"d":{"x":null,"y":1.5,"z":"AQI="},"e":null}',
  'kvlist.empty': '{}',
  'kvlist.html': '{"\\u003ck\\u003e":"a\\u0026b","line\\u2028sep":"\\u0001\\b\\f\\t\\r"}',
  // Sorted by UTF-8 bytes (code points), not by UTF-16 units.
  'kvlist.order': '{"":6,"Z":5,"z":2,"é":1,"\ue000":4,"😀":3}',
  empty: '',
  'array.mixed': '["s",1,2.5,false,null,"/w==",[1,[2]],{"k":"v"}]',
  'array.nested': '[[[1]],[]]',
  ['__proto__']: 'proto-key-value',
  constructor: 'constructor-key-value',
};

/** ... and the kinds beside them. */
export const EXPECTED_ANY_VALUE_KINDS = {
  bytes: 'bytes',
  'bytes.empty': 'bytes',
  kvlist: 'kvlist',
  'kvlist.empty': 'kvlist',
  'kvlist.html': 'kvlist',
  'kvlist.order': 'kvlist',
  empty: 'empty',
  'array.mixed': 'array',
  'array.nested': 'array',
} as const;

/** HAND_RESOURCE decoded. */
export const EXPECTED_HAND_RESOURCE = {
  attributes: {
    'service.name': 'hand-made',
    'resource.bytes': 'AAEC+v8=',
    'resource.kvlist': '{"weight":3,"zone":"eu-1"}',
  },
  attributeKinds: { 'resource.bytes': 'bytes', 'resource.kvlist': 'kvlist' },
  droppedAttributesCount: 0,
  schemaUrl: 'https://example.com/resource-schema',
  serviceName: 'hand-made',
};

/** HAND_SCOPE decoded. */
export const EXPECTED_HAND_SCOPE = {
  name: 'hand.scope',
  version: '0.0.1',
  attributes: { 'scope.attr': 'x', 'scope.n': '7', 'scope.kv': '{"a":null,"b":true}' },
  attributeKinds: { 'scope.n': 'int', 'scope.kv': 'kvlist' },
  droppedAttributesCount: 3,
  schemaUrl: 'https://example.com/scope-schema',
};

/** Doubles json.Marshal refuses; the official JSON encoder turns them into null, so protobuf only. */
export const NON_FINITE_DOUBLES: Record<string, AnyValueInput> = {
  nan: NaN,
  'inf.positive': Infinity,
  'inf.negative': -Infinity,
  'array.nan': [1, NaN],
  'kvlist.inf': { a: 1, b: Infinity },
};

// ---------------------------------------------------------------------------------------
// Hand-written protobuf, for what no encoder produces on purpose

export const WIRE = { VARINT: 0, I64: 1, LEN: 2, SGROUP: 3, EGROUP: 4, I32: 5 } as const;

export class WireWriter {
  private readonly out: number[] = [];

  tag(field: number, wireType: number): this {
    return this.varint(field * 8 + wireType);
  }

  /** Any 64-bit value; negative numbers are written in two's complement (10 bytes). */
  varint(value: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.out.push(Number(v));
    return this;
  }

  fixed32(value: number): this {
    for (let i = 0; i < 4; i++) this.out.push((value >>> (8 * i)) & 0xff);
    return this;
  }

  fixed64(value: bigint): this {
    for (let i = 0n; i < 8n; i++) this.out.push(Number((value >> (8n * i)) & 0xffn));
    return this;
  }

  double(value: number): this {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value, true);
    return this.raw(bytes);
  }

  raw(bytes: ArrayLike<number>): this {
    for (let i = 0; i < bytes.length; i++) this.out.push(bytes[i]);
    return this;
  }

  /** A length-delimited field holding bytes, a string (UTF-8) or a nested message. */
  field(field: number, content: WireWriter | Uint8Array | string): this {
    const bytes =
      content instanceof WireWriter
        ? content.finish()
        : typeof content === 'string'
          ? new TextEncoder().encode(content)
          : content;
    return this.tag(field, WIRE.LEN).varint(bytes.length).raw(bytes);
  }

  varintField(field: number, value: number | bigint): this {
    return this.tag(field, WIRE.VARINT).varint(value);
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

export function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

/** A minimal valid span message, to which tests add fields. */
export function minimalSpan(traceId = traceIdOf(1), spanId = spanIdOf(1)): WireWriter {
  return new WireWriter().field(1, hexBytes(traceId)).field(2, hexBytes(spanId)).field(5, 'minimal');
}

/** ExportTraceServiceRequest { resource_spans { scope_spans { spans... } } } around span messages. */
export function requestWith(...spans: WireWriter[]): Uint8Array {
  const scopeSpans = new WireWriter().field(1, new WireWriter().field(1, 'wire.scope'));
  for (const span of spans) scopeSpans.field(2, span);
  return new WireWriter().field(1, new WireWriter().field(2, scopeSpans)).finish();
}

// ---------------------------------------------------------------------------------------
// Fuzzing

/** A small seeded PRNG (mulberry32) so that a failing fuzz case can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
