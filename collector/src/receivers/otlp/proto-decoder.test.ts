import { SpanKind, TraceFlags } from '@opentelemetry/api';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Span } from '../../model/span.js';
import {
  ALL_ANY_VALUE_KINDS,
  EXPECTED_ANY_VALUE_KINDS,
  EXPECTED_ANY_VALUE_STRINGS,
  EXPECTED_HAND_RESOURCE,
  EXPECTED_HAND_SCOPE,
  HAND_RESOURCE,
  HAND_SCOPE,
  LINKED_LOCAL,
  LINKED_REMOTE,
  NON_FINITE_DOUBLES,
  REMOTE_PARENT,
  SDK_RESOURCE_SCHEMA,
  SDK_SCOPE_SCHEMA,
  T0_NANOS,
  WIRE,
  WireWriter,
  anyAttributes,
  at,
  encodeProtobuf,
  handResource,
  handSpan,
  hexBytes,
  minimalSpan,
  requestWith,
  sdkSpans,
  seededRandom,
  spanIdOf,
  traceIdOf,
  type ScopeWithAttributes,
} from './otlp-fixtures.js';
import { OtlpDecodeError, decodeTraceRequest, type DecodedTraces } from './proto-decoder.js';

function spanNamed(decoded: DecodedTraces, name: string): Span {
  const span = decoded.spans.find((s) => s.name === name);
  if (span === undefined) throw new Error(`no span named ${name}`);
  return span;
}

describe('decodeTraceRequest: spans recorded by the official SDK, encoded by the official serializer', () => {
  let decoded: DecodedTraces;

  beforeAll(async () => {
    decoded = decodeTraceRequest(encodeProtobuf(await sdkSpans()));
  });

  it('keeps every span in request order and rejects none', () => {
    expect(decoded.spans.map((s) => s.name)).toEqual([
      'PaymentClient.charge',
      'POST /orders/:id',
      'OrderService.create',
      'orders publish',
      'orders process',
      'crowded',
    ]);
    expect(decoded.rejectedSpans).toBe(0);
    expect(decoded.rejectionMessage).toBe('');
  });

  it('decodes the resource and the scope once and shares them among their spans', () => {
    const [client, server, internal] = decoded.spans;
    expect(client.resource).toBe(server.resource);
    expect(client.resource).toBe(internal.resource);
    expect(client.scope).toBe(server.scope);
    expect(server.resource).toStrictEqual({
      attributes: {
        'service.name': 'checkout',
        'host.cpu.count': '8',
        'process.uptime': '12.5',
        'feature.enabled': 'true',
        'deployment.zones': '["eu-1","eu-2"]',
        'service.ports': '[80,443]',
      },
      attributeKinds: {
        'host.cpu.count': 'int',
        'process.uptime': 'double',
        'feature.enabled': 'bool',
        'deployment.zones': 'array',
        'service.ports': 'array',
      },
      droppedAttributesCount: 0,
      schemaUrl: SDK_RESOURCE_SCHEMA,
      serviceName: 'checkout',
    });
    expect(server.scope).toStrictEqual({
      name: 'flowtrace.test',
      version: '1.2.3',
      attributes: {},
      droppedAttributesCount: 0,
      schemaUrl: SDK_SCOPE_SCHEMA,
    });
    const crowded = spanNamed(decoded, 'crowded');
    expect(crowded.resource).not.toBe(server.resource);
    expect(crowded.resource).toStrictEqual({
      attributes: { 'service.name': 'limited' },
      droppedAttributesCount: 0,
      schemaUrl: '',
      serviceName: 'limited',
    });
    expect(crowded.scope).toStrictEqual({ name: 'limits', version: '', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' });
  });

  it('decodes a server span with a remote parent: IDs, trace state, flags, kind, times, status', () => {
    const server = spanNamed(decoded, 'POST /orders/:id');
    expect(server.traceId).toBe(REMOTE_PARENT.traceId);
    expect(server.spanId).toBe(spanIdOf(1));
    expect(server.parentSpanId).toBe(REMOTE_PARENT.spanId);
    expect(server.traceState).toBe('vendor1=abc,vendor2=xyz');
    // W3C sampled flag, plus OTLP's "has is_remote" (0x100) and "is_remote" (0x200) bits.
    expect(server.flags).toBe(0x301);
    expect(server.kind).toBe(2);
    expect(server.startTimeUnixNano).toBe(T0_NANOS);
    expect(server.endTimeUnixNano).toBe(T0_NANOS + 864_197_532n);
    expect(server.statusCode).toBe(2);
    expect(server.statusMessage).toBe('payment declined');
    expect(server.droppedAttributesCount).toBe(0);
    expect(server.droppedEventsCount).toBe(0);
    expect(server.droppedLinksCount).toBe(0);
  });

  it('renders every attribute value type the API allows as pdata AsString() does, with its kind', () => {
    const server = spanNamed(decoded, 'POST /orders/:id');
    expect(server.attributes).toStrictEqual({
      'http.route': '/orders/:id',
      'http.response.status_code': '201',
      'int.negative': '-42',
      'int.min': '-9223372036854775808',
      'int.large': '1152921504606846976',
      'double.plain': '0.25',
      'double.tiny': '1e-7',
      'double.large': '1500000000000000.5',
      'double.negative': '-1234.5678',
      'bool.true': 'true',
      'bool.false': 'false',
      'string.empty': '',
      'string.unicode': 'žluťoučký kůň 🐴',
      'array.strings': '["a",null,"He said \\"hi\\" \\u003cb\\u003e\\u0026\\u003c/b\\u003e\\n","žluť 🐴"]',
      'array.ints': '[1,-2,3]',
      'array.doubles': '[1.5,1e-7,-0.5]',
      'array.bools': '[true,false]',
      'array.empty': '[]',
    });
    expect(server.attributeKinds).toStrictEqual({
      'http.response.status_code': 'int',
      'int.negative': 'int',
      'int.min': 'int',
      'int.large': 'int',
      'double.plain': 'double',
      'double.tiny': 'double',
      'double.large': 'double',
      'double.negative': 'double',
      'bool.true': 'bool',
      'bool.false': 'bool',
      'array.strings': 'array',
      'array.ints': 'array',
      'array.doubles': 'array',
      'array.bools': 'array',
      'array.empty': 'array',
    });
  });

  it('decodes events with nanosecond times, attributes and kinds', () => {
    expect(spanNamed(decoded, 'POST /orders/:id').events).toStrictEqual([
      {
        timeUnixNano: T0_NANOS + 100_000_000n,
        name: 'retry',
        attributes: { attempt: '2', reason: 'timeout' },
        attributeKinds: { attempt: 'int' },
        droppedAttributesCount: 0,
      },
      { timeUnixNano: T0_NANOS + 200_000_001n, name: 'no-attributes', attributes: {}, droppedAttributesCount: 0 },
    ]);
  });

  it('decodes links with trace state, flags and attributes', () => {
    expect(spanNamed(decoded, 'POST /orders/:id').links).toStrictEqual([
      {
        traceId: LINKED_REMOTE.traceId,
        spanId: LINKED_REMOTE.spanId,
        traceState: 'k=v',
        flags: 0x301,
        attributes: { 'link.kind': 'follows', 'link.n': '3' },
        attributeKinds: { 'link.n': 'int' },
        droppedAttributesCount: 0,
      },
      {
        traceId: LINKED_LOCAL.traceId,
        spanId: LINKED_LOCAL.spanId,
        traceState: '',
        flags: 0x100,
        attributes: {},
        droppedAttributesCount: 0,
      },
    ]);
  });

  it('decodes a local child span completely', () => {
    const client = spanNamed(decoded, 'PaymentClient.charge');
    const { resource, scope, ...rest } = client;
    expect(resource).toBe(spanNamed(decoded, 'POST /orders/:id').resource);
    expect(scope).toBe(spanNamed(decoded, 'POST /orders/:id').scope);
    expect(rest).toStrictEqual({
      traceId: REMOTE_PARENT.traceId,
      spanId: spanIdOf(2),
      parentSpanId: spanIdOf(1),
      traceState: 'vendor1=abc,vendor2=xyz',
      flags: 0x101,
      name: 'PaymentClient.charge',
      kind: 3,
      startTimeUnixNano: T0_NANOS + 1_000n,
      endTimeUnixNano: T0_NANOS + 2_000n,
      attributes: { 'peer.service': 'payments' },
      droppedAttributesCount: 0,
      events: [],
      droppedEventsCount: 0,
      links: [],
      droppedLinksCount: 0,
      statusCode: 1,
      statusMessage: '',
    });
  });

  it('decodes root spans of every remaining kind', () => {
    const roots = ['OrderService.create', 'orders publish', 'orders process'].map((name) => spanNamed(decoded, name));
    expect(roots.map((s) => s.kind)).toEqual([1, 4, 5]);
    expect(roots.map((s) => s.traceId)).toEqual([traceIdOf(1), traceIdOf(2), traceIdOf(3)]);
    for (const root of roots) {
      expect(root.parentSpanId).toBe('');
      expect(root.statusCode).toBe(0);
      expect(root.flags).toBe(0x100 | TraceFlags.SAMPLED);
      expect(root.attributeKinds).toBeUndefined();
      expect('attributeKinds' in root).toBe(false);
    }
  });

  it('decodes the dropped attribute, event and link counts the SDK reports', () => {
    const crowded = spanNamed(decoded, 'crowded');
    expect(crowded.attributes).toStrictEqual({ a: '1', b: '2' });
    expect(crowded.droppedAttributesCount).toBe(2);
    expect(crowded.droppedEventsCount).toBe(2);
    expect(crowded.events).toStrictEqual([
      { timeUnixNano: T0_NANOS + 3n, name: 'third', attributes: { p: '1' }, attributeKinds: { p: 'int' }, droppedAttributesCount: 2 },
    ]);
    expect(crowded.droppedLinksCount).toBe(1);
    expect(crowded.links).toStrictEqual([
      {
        traceId: LINKED_REMOTE.traceId,
        spanId: LINKED_REMOTE.spanId,
        traceState: 'k=v',
        flags: 0x301,
        attributes: { y: '1' },
        attributeKinds: { y: 'int' },
        droppedAttributesCount: 1,
      },
    ]);
  });
});

describe('decodeTraceRequest: values beyond the API, encoded by the official serializer', () => {
  function decodeHandSpan(attributes: Parameters<typeof anyAttributes>[0]): Span {
    const span = handSpan({
      traceId: traceIdOf(9),
      spanId: spanIdOf(9),
      resource: HAND_RESOURCE,
      scope: HAND_SCOPE,
      attributes: anyAttributes(attributes),
    });
    const decoded = decodeTraceRequest(encodeProtobuf([span]));
    expect(decoded.spans).toHaveLength(1);
    return decoded.spans[0];
  }

  it('renders bytes, kvlist, empty and nested values as pdata AsString() does', () => {
    const span = decodeHandSpan(ALL_ANY_VALUE_KINDS);
    expect(span.attributes).toStrictEqual(EXPECTED_ANY_VALUE_STRINGS);
    expect(span.attributeKinds).toStrictEqual(EXPECTED_ANY_VALUE_KINDS);
    expect(Object.getPrototypeOf(span.attributes)).toBe(Object.prototype);
    expect(Object.keys(span.attributes)).toContain('__proto__');
  });

  it('renders NaN and infinities as pdata does, and gives up on arrays and kvlists holding them', () => {
    const span = decodeHandSpan(NON_FINITE_DOUBLES);
    expect(span.attributes).toStrictEqual({
      nan: 'json: unsupported value: NaN',
      'inf.positive': 'json: unsupported value: +Inf',
      'inf.negative': 'json: unsupported value: -Inf',
      'array.nan': '',
      'kvlist.inf': '',
    });
    expect(span.attributeKinds).toStrictEqual({
      nan: 'double',
      'inf.positive': 'double',
      'inf.negative': 'double',
      'array.nan': 'array',
      'kvlist.inf': 'kvlist',
    });
  });

  it('decodes resource and scope attributes of any kind, the scope dropped count and schema URLs', () => {
    const span = decodeHandSpan({});
    expect(span.resource).toStrictEqual(EXPECTED_HAND_RESOURCE);
    expect(span.scope).toStrictEqual(EXPECTED_HAND_SCOPE);
    expect(span.kind).toBe(0); // SPAN_KIND_UNSPECIFIED: the hand-built span has no kind
  });

  it('treats an all-zero parent as none and keeps links to invalid contexts with empty IDs', () => {
    const span = handSpan({
      traceId: traceIdOf(1),
      spanId: spanIdOf(1),
      parentSpanId: '0000000000000000',
      resource: HAND_RESOURCE,
      scope: HAND_SCOPE,
      links: [
        {
          context: { traceId: '00000000000000000000000000000000', spanId: '0000000000000000', traceFlags: TraceFlags.NONE },
          attributes: { reason: 'sampled out' },
        },
      ],
    });
    const [decoded] = decodeTraceRequest(encodeProtobuf([span])).spans;
    expect(decoded.parentSpanId).toBe('');
    expect(decoded.links).toStrictEqual([
      { traceId: '', spanId: '', traceState: '', flags: 0x100, attributes: { reason: 'sampled out' }, droppedAttributesCount: 0 },
    ]);
  });

  it('lower-cases IDs whatever case the sender used', () => {
    const span = handSpan({
      traceId: 'ABCDEF0123456789ABCDEF0123456789',
      spanId: 'ABCDEF0123456789',
      parentSpanId: 'FEDCBA9876543210',
      resource: HAND_RESOURCE,
      scope: HAND_SCOPE,
    });
    const [decoded] = decodeTraceRequest(encodeProtobuf([span])).spans;
    expect([decoded.traceId, decoded.spanId, decoded.parentSpanId]).toEqual([
      'abcdef0123456789abcdef0123456789',
      'abcdef0123456789',
      'fedcba9876543210',
    ]);
  });
});

describe('decodeTraceRequest: span validation (OTLP rules on IDs)', () => {
  const otherScope: ScopeWithAttributes = { name: 'other.scope' };
  const resource = handResource({ 'service.name': 'validation' });

  function spansWith(ids: Array<{ traceId: string; spanId: string; parentSpanId?: string; linkTraceId?: string }>) {
    return ids.map((id, i) =>
      handSpan({
        ...id,
        name: `span-${i}`,
        resource,
        scope: i < 4 ? HAND_SCOPE : otherScope,
        links: id.linkTraceId === undefined ? [] : [{ context: { traceId: id.linkTraceId, spanId: spanIdOf(7), traceFlags: 1 } }],
      }),
    );
  }

  it('rejects spans with bad IDs, counts and explains them, and keeps the valid ones', () => {
    const spans = spansWith([
      { traceId: traceIdOf(1), spanId: spanIdOf(1) }, // valid
      { traceId: '0102030405', spanId: spanIdOf(2) }, // 5-byte trace ID
      { traceId: traceIdOf(3), spanId: '' }, // no span ID
      { traceId: traceIdOf(4), spanId: spanIdOf(4), parentSpanId: '0102' }, // 2-byte parent
      { traceId: '00000000000000000000000000000000', spanId: spanIdOf(5) }, // all-zero trace ID
      { traceId: traceIdOf(6), spanId: '0000000000000000' }, // all-zero span ID
      { traceId: traceIdOf(7), spanId: spanIdOf(7), linkTraceId: 'ff' }, // link with a 1-byte trace ID
      { traceId: traceIdOf(8), spanId: spanIdOf(8), parentSpanId: spanIdOf(1) }, // valid
    ]);
    const decoded = decodeTraceRequest(encodeProtobuf(spans));
    expect(decoded.spans.map((s) => s.name)).toEqual(['span-0', 'span-7']);
    expect(decoded.rejectedSpans).toBe(6);
    expect(decoded.rejectionMessage).toBe(
      "span 1 of scope 'hand.scope': trace_id has 5 bytes, want 16; " +
        "span 2 of scope 'hand.scope': span_id is missing; " +
        "span 3 of scope 'hand.scope': parent_span_id has 2 bytes, want 8 or none; " +
        "span 0 of scope 'other.scope': trace_id is all zeros; " +
        "span 1 of scope 'other.scope': span_id is all zeros; " +
        'and 1 more rejected span',
    );
  });

  it('names the link whose ID is wrong', () => {
    const decoded = decodeTraceRequest(
      encodeProtobuf(spansWith([{ traceId: traceIdOf(7), spanId: spanIdOf(7), linkTraceId: 'ff' }])),
    );
    expect(decoded.rejectionMessage).toBe("span 0 of scope 'hand.scope': link 0: trace_id has 1 byte, want 16 or none");
  });

  it('names a scope that arrives after its spans on the wire', () => {
    const scopeSpans = new WireWriter()
      .field(2, minimalSpan('0102', spanIdOf(1)))
      .field(1, new WireWriter().field(1, 'late.scope'));
    const bytes = new WireWriter().field(1, new WireWriter().field(2, scopeSpans)).finish();
    expect(decodeTraceRequest(bytes).rejectionMessage).toBe("span 0 of scope 'late.scope': trace_id has 2 bytes, want 16");
  });
});

describe('decodeTraceRequest: protobuf wire rules (hand-written bytes)', () => {
  it('accepts fields in any order, including the scope and schema URLs after the spans', () => {
    const span = new WireWriter()
      .tag(16, WIRE.I32)
      .fixed32(0x301)
      .field(15, new WireWriter().varintField(3, 2).field(2, 'late status'))
      .tag(8, WIRE.I64)
      .fixed64(20n)
      .tag(7, WIRE.I64)
      .fixed64(10n)
      .varintField(6, 3)
      .field(5, 'reordered')
      .field(4, hexBytes(spanIdOf(2)))
      .field(3, 'a=b')
      .field(2, hexBytes(spanIdOf(1)))
      .field(1, hexBytes(traceIdOf(1)));
    const scopeSpans = new WireWriter()
      .field(3, 'scope-schema')
      .field(2, span)
      .field(1, new WireWriter().varintField(4, 2).field(2, 'v9').field(1, 'late.scope'));
    const resourceSpans = new WireWriter()
      .field(3, 'resource-schema')
      .field(2, scopeSpans)
      .field(1, new WireWriter().varintField(2, 5).field(1, new WireWriter().field(1, 'service.name').field(2, new WireWriter().field(1, 'svc'))));
    const [decoded] = decodeTraceRequest(new WireWriter().field(1, resourceSpans).finish()).spans;
    expect(decoded).toStrictEqual({
      resource: { attributes: { 'service.name': 'svc' }, droppedAttributesCount: 5, schemaUrl: 'resource-schema', serviceName: 'svc' },
      scope: { name: 'late.scope', version: 'v9', attributes: {}, droppedAttributesCount: 2, schemaUrl: 'scope-schema' },
      traceId: traceIdOf(1),
      spanId: spanIdOf(1),
      parentSpanId: spanIdOf(2),
      traceState: 'a=b',
      flags: 0x301,
      name: 'reordered',
      kind: 3,
      startTimeUnixNano: 10n,
      endTimeUnixNano: 20n,
      attributes: {},
      droppedAttributesCount: 0,
      events: [],
      droppedEventsCount: 0,
      links: [],
      droppedLinksCount: 0,
      statusCode: 2,
      statusMessage: 'late status',
    } satisfies Span);
  });

  it('skips unknown fields of every wire type, groups included, at every level', () => {
    const unknown = (w: WireWriter) =>
      w
        .varintField(100, 12345)
        .tag(101, WIRE.I64)
        .fixed64(1n)
        .field(102, 'unknown bytes')
        .tag(103, WIRE.I32)
        .fixed32(7)
        .tag(104, WIRE.SGROUP)
        .varintField(1, 1)
        .tag(105, WIRE.SGROUP)
        .field(2, 'nested group')
        .tag(105, WIRE.EGROUP)
        .tag(104, WIRE.EGROUP);
    const value = unknown(new WireWriter()).field(1, 'kept');
    const keyValue = unknown(new WireWriter()).field(1, 'k').field(2, value);
    const span = unknown(minimalSpan()).field(9, keyValue);
    span.field(11, unknown(new WireWriter()).field(2, 'event'));
    span.field(13, unknown(new WireWriter()).field(1, hexBytes(traceIdOf(2))).field(2, hexBytes(spanIdOf(2))));
    span.field(15, unknown(new WireWriter()).varintField(1, 2).field(2, 'status')); // deprecated_code (1) is ignored
    const scopeSpans = unknown(new WireWriter()).field(1, unknown(new WireWriter()).field(1, 'scope')).field(2, span);
    const resourceSpans = unknown(new WireWriter())
      .field(1, unknown(new WireWriter()).field(1, keyValue))
      .field(2, scopeSpans)
      .field(1000, 'removed instrumentation_library_spans');
    const decoded = decodeTraceRequest(unknown(new WireWriter()).field(1, resourceSpans).finish());
    expect(decoded.spans).toHaveLength(1);
    const [s] = decoded.spans;
    expect(s.attributes).toStrictEqual({ k: 'kept' });
    expect(s.resource.attributes).toStrictEqual({ k: 'kept' });
    expect(s.scope.name).toBe('scope');
    expect(s.events.map((e) => e.name)).toEqual(['event']);
    expect(s.links.map((l) => l.traceId)).toEqual([traceIdOf(2)]);
    expect([s.statusCode, s.statusMessage]).toEqual([0, 'status']);
  });

  it('skips known fields that arrive with an unexpected wire type', () => {
    const span = minimalSpan()
      .varintField(5, 7) // name as a varint
      .field(6, 'kind as bytes')
      .tag(7, WIRE.I32)
      .fixed32(1); // start time as fixed32
    const [decoded] = decodeTraceRequest(requestWith(span)).spans;
    expect([decoded.name, decoded.kind, decoded.startTimeUnixNano]).toEqual(['minimal', 0, 0n]);
  });

  it('keeps the last of repeated scalars and merges repeated status messages', () => {
    const span = minimalSpan()
      .field(5, 'second name')
      .field(15, new WireWriter().varintField(3, 2).field(2, 'first'))
      .field(15, new WireWriter().varintField(3, 1));
    const [decoded] = decodeTraceRequest(requestWith(span)).spans;
    expect([decoded.name, decoded.statusCode, decoded.statusMessage]).toEqual(['second name', 1, 'first']);
  });

  it('keeps the last value and kind of a repeated attribute key, and drops kinds that no longer apply', () => {
    const attr = (key: string, value: WireWriter) => new WireWriter().field(1, key).field(2, value);
    const span = minimalSpan()
      .field(9, attr('k', new WireWriter().varintField(3, 1)))
      .field(9, attr('k', new WireWriter().field(1, 'now a string')))
      .field(9, attr('n', new WireWriter().field(1, 'a string')))
      .field(9, attr('n', new WireWriter().varintField(2, 1)));
    const [decoded] = decodeTraceRequest(requestWith(span)).spans;
    expect(decoded.attributes).toStrictEqual({ k: 'now a string', n: 'true' });
    expect(decoded.attributeKinds).toStrictEqual({ n: 'bool' });

    const onlyString = minimalSpan()
      .field(9, attr('k', new WireWriter().varintField(3, 1)))
      .field(9, attr('k', new WireWriter().field(1, 'string')));
    const [second] = decodeTraceRequest(requestWith(onlyString)).spans;
    expect(second.attributes).toStrictEqual({ k: 'string' });
    expect('attributeKinds' in second).toBe(false);

    // The same text under a different kind: only the order of the values tells the kind.
    const eventAttrs = new WireWriter()
      .field(2, 'event')
      .field(3, attr('n', new WireWriter().varintField(3, 5)))
      .field(3, attr('n', new WireWriter().field(1, '5')))
      .field(3, attr('b', new WireWriter().varintField(2, 1)));
    const linkAttrs = new WireWriter()
      .field(1, hexBytes(traceIdOf(2)))
      .field(2, hexBytes(spanIdOf(2)))
      .field(4, attr('s', new WireWriter().field(1, '5')))
      .field(4, attr('s', new WireWriter().varintField(3, 5)))
      .field(4, attr('t', new WireWriter().varintField(3, 5)))
      .field(4, attr('t', new WireWriter().field(1, '5')));
    const withDuplicates = minimalSpan()
      .field(9, attr('n', new WireWriter().varintField(3, 5)))
      .field(127, 'an unknown field between the attributes')
      .field(9, attr('n', new WireWriter().field(1, '5')))
      .field(11, eventAttrs)
      .field(13, linkAttrs);
    const [third] = decodeTraceRequest(requestWith(withDuplicates)).spans;
    expect(third.attributes).toStrictEqual({ n: '5' });
    expect('attributeKinds' in third).toBe(false);
    expect(third.events[0].attributes).toStrictEqual({ n: '5', b: 'true' });
    expect(third.events[0].attributeKinds).toStrictEqual({ b: 'bool' });
    expect(third.links[0].attributes).toStrictEqual({ s: '5', t: '5' });
    expect(third.links[0].attributeKinds).toStrictEqual({ s: 'int' });
  });

  it('renders int64 values exactly over the whole range, and a KeyValue without value as empty', () => {
    const cases: Array<[bigint, string]> = [
      [0n, '0'],
      [1n, '1'],
      [-1n, '-1'],
      [4294967295n, '4294967295'],
      [4294967296n, '4294967296'],
      [9007199254740993n, '9007199254740993'],
      [-9007199254740993n, '-9007199254740993'],
      [9223372036854775807n, '9223372036854775807'],
      [-9223372036854775808n, '-9223372036854775808'],
    ];
    const span = minimalSpan();
    cases.forEach(([value], i) => span.field(9, new WireWriter().field(1, `i${i}`).field(2, new WireWriter().varintField(3, value))));
    span.field(9, new WireWriter().field(1, 'no-value'));
    span.field(9, new WireWriter().field(1, 'bool-any-bit').field(2, new WireWriter().varintField(2, 1n << 40n)));
    const [decoded] = decodeTraceRequest(requestWith(span)).spans;
    cases.forEach(([, text], i) => expect(decoded.attributes[`i${i}`]).toBe(text));
    expect(decoded.attributes['no-value']).toBe('');
    expect(decoded.attributeKinds?.['no-value']).toBe('empty');
    expect(decoded.attributes['bool-any-bit']).toBe('true');
  });

  it('renders doubles as pdata does, including -0 and exponents', () => {
    const values: Array<[number, string]> = [
      [-0, '-0'],
      [1e21, '1e+21'],
      [123456789012345680000, '123456789012345680000'],
      [1e-7, '1e-7'],
      [0.000001, '0.000001'],
      [5e-324, '5e-324'],
      [1.7976931348623157e308, '1.7976931348623157e+308'],
    ];
    const span = minimalSpan();
    values.forEach(([v], i) => span.field(9, new WireWriter().field(1, `d${i}`).field(2, new WireWriter().tag(4, WIRE.I64).double(v))));
    const [decoded] = decodeTraceRequest(requestWith(span)).spans;
    values.forEach(([, text], i) => expect(decoded.attributes[`d${i}`]).toBe(text));
  });


  it('returns exactly what TextDecoder returns for every string, whatever the string cache holds', () => {
    const random = seededRandom(7);
    const alphabet = ['a', 'b', 'é', '🐴', '\u0000', '.', 'Z', '0', '中'];
    const strings: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const length = Math.floor(random() * 60);
      let s = '';
      for (let j = 0; j < length; j++) s += alphabet[Math.floor(random() * (j % 3 === 0 ? alphabet.length : 3))];
      strings.push(s);
    }
    const span = minimalSpan();
    strings.forEach((s, i) => span.field(9, new WireWriter().field(1, s).field(2, new WireWriter().field(1, `${i}:${s}`))));
    const bytes = requestWith(span);
    for (let round = 0; round < 2; round++) {
      const [decoded] = decodeTraceRequest(bytes).spans;
      const expected: Record<string, string> = {};
      strings.forEach((s, i) => (expected[s] = `${i}:${s}`));
      expect(decoded.attributes).toEqual(expected);
    }
  });

  it('returns no spans for an empty request or empty containers', () => {
    expect(decodeTraceRequest(new Uint8Array(0))).toStrictEqual({ spans: [], rejectedSpans: 0, rejectionMessage: '' });
    const emptyContainers = new WireWriter().field(1, new WireWriter().field(2, new WireWriter())).field(1, new WireWriter()).finish();
    expect(decodeTraceRequest(emptyContainers).spans).toEqual([]);
  });

  it('accepts a Buffer that is a view into a larger pool', () => {
    const bytes = requestWith(minimalSpan());
    const pool = Buffer.alloc(bytes.length + 20, 0xff);
    pool.set(bytes, 10);
    const view = pool.subarray(10, 10 + bytes.length);
    expect(decodeTraceRequest(view).spans.map((s) => s.name)).toEqual(['minimal']);
  });
});

describe('decodeTraceRequest: invalid UTF-8 (proto3 strings) rejects what holds it, never rewritten', () => {
  const BAD = Uint8Array.from([0x6f, 0x6b, 0xff, 0xc3]);
  const LONG_BAD = Uint8Array.from([...new TextEncoder().encode('x'.repeat(100)), 0xed, 0xa0, 0x80]); // an encoded surrogate
  const kv = (key: string | Uint8Array, value: WireWriter) => new WireWriter().field(1, key).field(2, value);
  const str = (value: string | Uint8Array) => new WireWriter().field(1, value);
  const bareSpan = (n: number) => new WireWriter().field(1, hexBytes(traceIdOf(1))).field(2, hexBytes(spanIdOf(n)));

  const cases: Array<[string, WireWriter, string]> = [
    ['the name', bareSpan(2).field(5, BAD), 'name'],
    ['a long name', bareSpan(2).field(5, LONG_BAD), 'name'],
    ['the trace state', minimalSpan(traceIdOf(1), spanIdOf(2)).field(3, BAD), 'trace_state'],
    ['the status message', minimalSpan(traceIdOf(1), spanIdOf(2)).field(15, new WireWriter().field(2, BAD)), 'status.message'],
    ['an attribute key', minimalSpan(traceIdOf(1), spanIdOf(2)).field(9, kv(BAD, str('v'))), 'attributes key'],
    ['an attribute value', minimalSpan(traceIdOf(1), spanIdOf(2)).field(9, kv('good', str('x'))).field(9, kv('http.route', str(BAD))), 'attributes["http.route"]'],
    [
      'a string inside an array in a kvlist',
      minimalSpan(traceIdOf(1), spanIdOf(2)).field(9, kv('deep', new WireWriter().field(6, new WireWriter().field(1, kv('inner', new WireWriter().field(5, new WireWriter().field(1, str(BAD)))))))),
      'attributes["deep"]',
    ],
    ['an event name', minimalSpan(traceIdOf(1), spanIdOf(2)).field(11, new WireWriter().field(2, 'ok')).field(11, new WireWriter().field(2, BAD)), 'events[1].name'],
    ['an event attribute', minimalSpan(traceIdOf(1), spanIdOf(2)).field(11, new WireWriter().field(3, kv('e', str(BAD)))), 'events[0].attributes["e"]'],
    ['a link attribute', minimalSpan(traceIdOf(1), spanIdOf(2)).field(13, new WireWriter().field(4, kv('l', str(BAD)))), 'links[0].attributes["l"]'],
  ];

  it.each(cases)('in %s: the span is rejected naming the field, its neighbours kept', (_what, bad, field) => {
    const decoded = decodeTraceRequest(requestWith(minimalSpan(traceIdOf(1), spanIdOf(1)), bad, minimalSpan(traceIdOf(1), spanIdOf(3))));
    expect(decoded.spans.map((s) => s.spanId)).toEqual([spanIdOf(1), spanIdOf(3)]);
    expect(decoded.rejectedSpans).toBe(1);
    expect(decoded.rejectionMessage).toBe(`span 1 of scope 'wire.scope': invalid UTF-8 in ${field}`);
  });

  it('accepts a U+FFFD that was sent as such, and the same bytes again from the string cache', () => {
    const span = minimalSpan().field(9, kv('r', str('a\ufffdb')));
    for (let round = 0; round < 2; round++) {
      const decoded = decodeTraceRequest(requestWith(span));
      expect([decoded.rejectedSpans, decoded.spans[0]?.attributes.r]).toEqual([0, 'a\ufffdb']);
    }
  });

  it('never serves an invalid string from the cache: the same bytes are rejected every time', () => {
    for (let round = 0; round < 3; round++) {
      expect(decodeTraceRequest(requestWith(bareSpan(1).field(5, BAD))).rejectedSpans).toBe(1);
    }
  });

  it('in a scope: rejects that scope\'s spans, even when the scope comes after them on the wire', () => {
    const badScope = new WireWriter().field(2, minimalSpan(traceIdOf(1), spanIdOf(1))).field(2, minimalSpan(traceIdOf(1), spanIdOf(2))).field(1, new WireWriter().field(2, BAD));
    const goodScope = new WireWriter().field(1, new WireWriter().field(1, 'good')).field(2, minimalSpan(traceIdOf(1), spanIdOf(3)));
    const bytes = new WireWriter().field(1, new WireWriter().field(2, badScope).field(2, goodScope)).finish();
    const decoded = decodeTraceRequest(bytes);
    expect(decoded.spans.map((s) => s.spanId)).toEqual([spanIdOf(3)]);
    expect([decoded.rejectedSpans, decoded.rejectionMessage]).toEqual([2, "2 spans of scope '': invalid UTF-8 in scope.version"]);
  });

  it('in a resource: rejects that resource\'s spans (already rejected ones counted once), keeps other resources', () => {
    const scopeSpans = new WireWriter().field(2, minimalSpan(traceIdOf(1), spanIdOf(1))).field(2, minimalSpan('0102', spanIdOf(2)));
    const badResource = new WireWriter().field(2, scopeSpans).field(1, new WireWriter().field(1, kv('service.name', str(BAD))));
    const goodResource = new WireWriter().field(2, new WireWriter().field(2, minimalSpan(traceIdOf(1), spanIdOf(3))));
    const schemaResource = new WireWriter().field(2, new WireWriter().field(2, minimalSpan(traceIdOf(1), spanIdOf(4)))).field(3, BAD);
    const decoded = decodeTraceRequest(new WireWriter().field(1, badResource).field(1, goodResource).field(1, schemaResource).finish());
    expect(decoded.spans.map((s) => s.spanId)).toEqual([spanIdOf(3)]);
    expect(decoded.rejectedSpans).toBe(3);
    expect(decoded.rejectionMessage).toBe(
      "span 1 of scope '': trace_id has 2 bytes, want 16; 1 span: invalid UTF-8 in resource.attributes[\"service.name\"]; 1 span: invalid UTF-8 in resource schema_url",
    );
  });
});

describe('decodeTraceRequest: malformed input throws OtlpDecodeError naming the problem and offset', () => {
  const cases: Array<[string, number[] | Uint8Array, string]> = [
    ['a truncated varint', [0x0a, 0x80], 'truncated varint at offset 1'],
    ['a length past the end', [0x0a, 0x05, 0x00], 'length 5 at offset 1 runs past the end of its enclosing message (offset 3)'],
    [
      'a length past the end of the enclosing message but inside the buffer',
      [0x0a, 0x02, 0x12, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00],
      'length 5 at offset 3 runs past the end of its enclosing message (offset 4)',
    ],
    ['wire type 7', [0x0f], 'invalid wire type 7 for field 1 at offset 0'],
    ['wire type 6', [0x08, 0x01, 0x0e], 'invalid wire type 6 for field 1 at offset 2'],
    ['field number 0', [0x02, 0x00], 'invalid field number 0 at offset 0'],
    ['a varint longer than 10 bytes', [0x08, ...Array<number>(10).fill(0xff), 0x01], 'varint longer than 10 bytes at offset 1'],
    ['a varint over 64 bits', [0x08, ...Array<number>(9).fill(0xff), 0x02], 'varint overflows 64 bits at offset 1'],
    ['a tag over 32 bits', [0x80, 0x80, 0x80, 0x80, 0x80, 0x01], 'field tag too large at offset 0'],
    ['an unclosed group', [0x0b, 0x08, 0x01], 'group for field 1 at offset 0 is not closed'],
    ['a mismatched end-group', [0x0b, 0x14], 'end-group tag for field 2 at offset 1 closes group 1'],
    ['a stray end-group', [0x0c], 'unexpected end-group tag for field 1 at offset 0'],
    ['a truncated fixed64', requestWith(minimalSpan().tag(7, WIRE.I64).raw([1, 2, 3])), 'truncated 64-bit value at offset'],
    ['a truncated fixed32', requestWith(minimalSpan().tag(16, WIRE.I32).raw([1])), 'truncated 32-bit value at offset'],
  ];

  it.each(cases)('%s', (_name, bytes, message) => {
    const input = bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes);
    expect(() => decodeTraceRequest(input)).toThrow(OtlpDecodeError);
    expect(() => decodeTraceRequest(input)).toThrow(message);
  });

  it('bounds AnyValue nesting', () => {
    let value = new WireWriter().field(1, 'leaf');
    for (let i = 0; i < 150; i++) value = new WireWriter().field(5, new WireWriter().field(1, value));
    const bytes = requestWith(minimalSpan().field(9, new WireWriter().field(1, 'deep').field(2, value)));
    expect(() => decodeTraceRequest(bytes)).toThrow(/AnyValue nested deeper than 100 levels at offset \d+/);

    let ok = new WireWriter().field(1, 'leaf');
    for (let i = 0; i < 99; i++) ok = new WireWriter().field(5, new WireWriter().field(1, ok));
    const [span] = decodeTraceRequest(requestWith(minimalSpan().field(9, new WireWriter().field(1, 'deep').field(2, ok)))).spans;
    expect(span.attributes.deep).toBe('['.repeat(99) + '"leaf"' + ']'.repeat(99));
  });

  it('bounds group nesting', () => {
    const w = new WireWriter();
    for (let i = 0; i < 150; i++) w.tag(5, WIRE.SGROUP);
    for (let i = 0; i < 150; i++) w.tag(5, WIRE.EGROUP);
    expect(() => decodeTraceRequest(w.finish())).toThrow(/groups nested too deeply/);
  });

  it('rejects what is not a byte array', () => {
    expect(() => decodeTraceRequest('not bytes' as unknown as Uint8Array)).toThrow(OtlpDecodeError);
  });
});

describe('decodeTraceRequest: fuzzing official encodings', () => {
  let corpus: Uint8Array[];

  beforeAll(async () => {
    const hand = handSpan({
      traceId: traceIdOf(9),
      spanId: spanIdOf(9),
      parentSpanId: spanIdOf(8),
      kind: SpanKind.SERVER,
      resource: HAND_RESOURCE,
      scope: HAND_SCOPE,
      attributes: anyAttributes({ ...ALL_ANY_VALUE_KINDS, ...NON_FINITE_DOUBLES }),
      events: [{ name: 'e', time: at(5), attributes: anyAttributes({ kv: { a: [1, 'x'] } }) }],
      links: [{ context: LINKED_REMOTE, attributes: anyAttributes({ b: new Uint8Array([1]) }) }],
    });
    corpus = [encodeProtobuf(await sdkSpans()), encodeProtobuf([hand])];
  });

  /** Decoding either succeeds with well-formed output or throws OtlpDecodeError; nothing else. */
  function checkDecode(bytes: Uint8Array): 'ok' | 'error' {
    let decoded: DecodedTraces;
    try {
      decoded = decodeTraceRequest(bytes);
    } catch (err) {
      if (!(err instanceof OtlpDecodeError)) throw new Error(`non-OtlpDecodeError for ${Buffer.from(bytes).toString('hex')}: ${String(err)}`);
      expect(err.message).toMatch(/offset \d+|nested|not closed/);
      return 'error';
    }
    expect(Number.isInteger(decoded.rejectedSpans) && decoded.rejectedSpans >= 0).toBe(true);
    expect(decoded.rejectionMessage === '').toBe(decoded.rejectedSpans === 0);
    for (const span of decoded.spans) {
      if (!/^[0-9a-f]{32}$/.test(span.traceId) || !/^[0-9a-f]{16}$/.test(span.spanId) || !/^([0-9a-f]{16})?$/.test(span.parentSpanId)) {
        throw new Error(`bad IDs in output: ${span.traceId} ${span.spanId} ${span.parentSpanId}`);
      }
      if (typeof span.startTimeUnixNano !== 'bigint' || typeof span.name !== 'string') throw new Error('bad span field types');
    }
    return 'ok';
  }

  it('survives every truncation of a valid request', () => {
    const bytes = corpus[1];
    for (let length = 0; length < bytes.length; length++) checkDecode(bytes.subarray(0, length));
  });

  it('survives 20,000 random mutations with only results or OtlpDecodeError', () => {
    const random = seededRandom(20240601);
    const pick = (n: number) => Math.floor(random() * n);
    const outcomes = { ok: 0, error: 0 };
    for (let iteration = 0; iteration < 20_000; iteration++) {
      const source = corpus[pick(corpus.length)];
      let bytes = Array.from(source);
      const mutations = 1 + pick(3);
      for (let m = 0; m < mutations && bytes.length > 0; m++) {
        const at = pick(bytes.length);
        switch (pick(7)) {
          case 0: // flip a bit
            bytes[at] ^= 1 << pick(8);
            break;
          case 1: // random byte
            bytes[at] = pick(256);
            break;
          case 2: // truncate
            bytes = bytes.slice(0, at);
            break;
          case 3: // delete a slice
            bytes.splice(at, 1 + pick(8));
            break;
          case 4: // insert random bytes
            bytes.splice(at, 0, ...Array.from({ length: 1 + pick(8) }, () => pick(256)));
            break;
          case 5: // a run of continuation bytes (overlong varints, huge lengths)
            bytes.splice(at, 0, ...Array<number>(1 + pick(12)).fill(0xff));
            break;
          default: // duplicate a slice elsewhere
            bytes.splice(pick(bytes.length), 0, ...bytes.slice(at, at + 1 + pick(32)));
        }
      }
      outcomes[checkDecode(Uint8Array.from(bytes))]++;
    }
    // Both paths must have been exercised for the test to mean anything.
    expect(outcomes.ok).toBeGreaterThan(1000);
    expect(outcomes.error).toBeGreaterThan(1000);
  });

  it('survives random bytes', () => {
    const random = seededRandom(99);
    for (let iteration = 0; iteration < 5_000; iteration++) {
      const bytes = Uint8Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256));
      checkDecode(bytes);
    }
  });
});
