import { describe, expect, it } from 'vitest';
import type { AttributeKinds, Attributes, InstrumentationScope, Resource, Span } from '../../collector/src/model/span.js';
import {
  ALL_ANY_VALUE_KINDS,
  HAND_RESOURCE,
  HAND_SCOPE,
  NON_FINITE_DOUBLES,
  anyAttributes,
  encodeProtobuf,
  handSpan,
  sdkSpans,
  seededRandom,
  spanIdOf,
  traceIdOf,
} from '../../collector/src/receivers/otlp/otlp-fixtures.js';
import { decodeTraceRequest } from '../../collector/src/receivers/otlp/proto-decoder.js';
import { encodeTraceRequest } from './encoder.js';
import { decodeWithProtobufjs, type PbAnyValue, type PbKeyValue } from './otlp-proto.testing.js';
import { testSpan } from '../../collector/src/model/span.testing.js';

/** decode ∘ encode ∘ decode must be decode: every field of the span model survives. */
/** Decoded with the largest value limit the collector allows: the encoder's strings of every length come back whole. */
function roundTrip(spans: Span[]): Span[] {
  return decodeTraceRequest(encodeTraceRequest(spans), { maxAttributeValueBytes: 64 * 1024 * 1024 }).spans;
}

function resource(attributes: Attributes = { 'service.name': 'svc' }, more: Partial<Resource> = {}): Resource {
  return { attributes, droppedAttributesCount: 0, schemaUrl: '', serviceName: attributes['service.name'] ?? '', ...more };
}

function scope(name = 'scope', more: Partial<InstrumentationScope> = {}): InstrumentationScope {
  return { name, version: '', attributes: {}, droppedAttributesCount: 0, schemaUrl: '', ...more };
}

function span(n: number, res: Resource, sc: InstrumentationScope, more: Partial<Span> = {}): Span {
  return testSpan({
    resource: res,
    scope: sc,
    traceId: traceIdOf(n),
    spanId: spanIdOf(n),
    name: `span-${n}`,
    kind: 1,
    startTimeUnixNano: 1_700_000_000_000_000_000n + BigInt(n),
    endTimeUnixNano: 1_700_000_000_000_001_000n + BigInt(n),
    ...more,
  });
}

function withKinds<T extends object>(target: T, kinds: AttributeKinds): T & { attributeKinds: AttributeKinds } {
  return Object.assign(target, { attributeKinds: kinds });
}

/** Shared resources and scopes map to shared ones again: compare the sharing pattern by index. */
function sharing(spans: Span[]): string {
  const resources: Resource[] = [];
  const scopes: InstrumentationScope[] = [];
  return spans
    .map((s) => {
      if (!resources.includes(s.resource)) resources.push(s.resource);
      if (!scopes.includes(s.scope)) scopes.push(s.scope);
      return `${resources.indexOf(s.resource)}/${scopes.indexOf(s.scope)}`;
    })
    .join(' ');
}

describe('encodeTraceRequest: round trip through our decoder', () => {
  it('keeps every field of spans recorded by the official SDK, and their shared resources and scopes', async () => {
    const original = decodeTraceRequest(encodeProtobuf(await sdkSpans())).spans;
    const again = roundTrip(original);
    expect(again).toStrictEqual(original);
    expect(sharing(again)).toBe(sharing(original));
    expect(sharing(again)).toBe('0/0 0/0 0/0 0/0 0/0 1/1');
  });

  it('rebuilds every AnyValue kind, NaN and infinities, resource and scope attributes of any kind', () => {
    const spans = [ALL_ANY_VALUE_KINDS, NON_FINITE_DOUBLES].map((attributes, i) =>
      handSpan({ traceId: traceIdOf(i + 1), spanId: spanIdOf(i + 1), resource: HAND_RESOURCE, scope: HAND_SCOPE, attributes: anyAttributes(attributes) }),
    );
    const original = decodeTraceRequest(encodeProtobuf(spans)).spans;
    expect(original[0].attributeKinds).toMatchObject({ bytes: 'bytes', kvlist: 'kvlist', empty: 'empty', 'array.mixed': 'array' });
    // The one loss: an array or kvlist pdata could not render (NaN inside, kept as '') goes out empty.
    expect(original[1].attributes).toMatchObject({ 'array.nan': '', 'kvlist.inf': '' });
    const expected = structuredClone(original);
    expected[1].attributes['array.nan'] = '[]';
    expected[1].attributes['kvlist.inf'] = '{}';
    const again = roundTrip(original);
    expect(again).toStrictEqual(expected);
    expect(sharing(again)).toBe('0/0 0/0');
  });

  it('sends a value marked bytes whose text is not base64 (a processor replaced it) as a string, in a request that decodes', () => {
    const sent = span(1, resource(), scope(), { attributes: { masked: 'a b', odd: 'QUJD=', fine: 'QUJD' }, attributeKinds: { masked: 'bytes', odd: 'bytes', fine: 'bytes' } });
    const [back] = decodeTraceRequest(encodeTraceRequest([sent])).spans;
    expect(back!.attributes).toMatchObject({ masked: 'a b', odd: 'QUJD=', fine: 'QUJD' });
    expect(back!.attributeKinds).toEqual({ fine: 'bytes' });
  });

  it('keeps every non-default field: flags, trace state, parent, status, dropped counts, events, links, schema URLs', () => {
    const res = withKinds(resource({ 'service.name': 'svc', 'host.cpu': '8', weird: '{"a":[1,2.5,"x",null,true]}' }, { droppedAttributesCount: 4, schemaUrl: 'https://r' }), {
      'host.cpu': 'int',
      weird: 'kvlist',
    });
    const sc = withKinds(scope('lib', { version: '9.9', attributes: { on: 'true' }, droppedAttributesCount: 2, schemaUrl: 'https://s' }), { on: 'bool' });
    const s = span(1, res, sc, {
      parentSpanId: spanIdOf(99),
      traceState: 'a=1,b=2',
      flags: 0x301,
      kind: 5,
      attributes: { big: '-9223372036854775808', max: '9223372036854775807', d: '-0', s: '', e: '' },
      attributeKinds: { big: 'int', max: 'int', d: 'double', e: 'empty' },
      droppedAttributesCount: 7,
      events: [
        withKinds({ timeUnixNano: 5n, name: 'exception', attributes: { 'exception.stacktrace': 'x'.repeat(300), n: '1.5' }, droppedAttributesCount: 1 }, { n: 'double' }),
        { timeUnixNano: 0n, name: '', attributes: {}, droppedAttributesCount: 0 },
      ],
      droppedEventsCount: 3,
      links: [
        withKinds({ traceId: traceIdOf(5), spanId: spanIdOf(5), traceState: 'k=v', flags: 0x100, attributes: { z: 'AAEC' }, droppedAttributesCount: 2 }, { z: 'bytes' }),
        { traceId: '', spanId: '', traceState: '', flags: 0, attributes: { reason: 'sampled out' }, droppedAttributesCount: 0 },
      ],
      droppedLinksCount: 1,
      statusCode: 2,
      statusMessage: 'payment declined',
    });
    const again = roundTrip([s]);
    expect(again).toStrictEqual([s]);
  });

  it('keeps strings of every length and script (one-byte, two-byte and moved lengths, native UTF-8)', () => {
    const texts = ['', 'a', 'é'.repeat(42), 'é'.repeat(43), '🐴'.repeat(21), '🐴'.repeat(22), 'x'.repeat(127), 'x'.repeat(128), 'x'.repeat(256), 'x'.repeat(257),
      'žluť'.repeat(100), 'lone \ud800 surrogate', 'y'.repeat(20_000), 'ü'.repeat(70_000)];
    const attributes = Object.fromEntries(texts.map((t, i) => [`k${i}-${'q'.repeat(i * 10)}`, t]));
    const s = span(1, resource(), scope(), { name: 'n'.repeat(200), attributes });
    const [again] = roundTrip([s]);
    expect(again.name).toBe(s.name);
    expect(again.attributes).toStrictEqual({ ...attributes, [`k11-${'q'.repeat(110)}`]: 'lone \ufffd surrogate' });
  });

  it('handles requests beyond the reserved length bytes of every level (a 5 MB request)', () => {
    const res = resource();
    const sc = scope();
    const spans = Array.from({ length: 250 }, (_, i) => span(i + 1, res, sc, { attributes: { blob: String(i).padEnd(20_000, '.') } }));
    const bytes = encodeTraceRequest(spans);
    expect(bytes.length).toBeGreaterThan(5_000_000);
    expect(decodeTraceRequest(bytes).spans).toStrictEqual(spans);
  });

  it('encodes nothing for no spans (a valid, empty request)', () => {
    expect(encodeTraceRequest([])).toHaveLength(0);
  });

  it('survives random span models (fuzz)', () => {
    const random = seededRandom(42);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
    const values: Array<[string, AttributeKinds[string] | undefined]> = [
      ['plain', undefined], ['', undefined], ['žluť 🐴', undefined], ['true', 'bool'], ['false', 'bool'], ['0', 'int'], ['-1', 'int'],
      ['123456789012345678', 'int'], ['-4294967296', 'int'], ['0.5', 'double'], ['1e-7', 'double'], ['-0', 'double'], ['1e+300', 'double'],
      ['AAEC+v8=', 'bytes'], ['', 'bytes'], ['[]', 'array'], ['[1,"a",[true,null],{"k":-2.5},-0,1e-7]', 'array'], ['{}', 'kvlist'],
      ['{"a":{"b":[9223372036854775807]},"c":"\\u003c\\u0026🐴\\u2028"}', 'kvlist'], ['', 'empty'],
    ];
    const resources = [resource(), resource({ 'service.name': 'other' }), resource({})];
    const scopes = [scope('a'), scope('b', { version: '1' }), scope('')];
    for (let round = 0; round < 200; round++) {
      const spans = Array.from({ length: 1 + Math.floor(random() * 8) }, (_, i) => {
        const attributes: Attributes = {};
        const kinds: AttributeKinds = {};
        for (let a = Math.floor(random() * 6); a > 0; a--) {
          const [text, kind] = pick(values);
          const key = `key.${Math.floor(random() * 20)}`;
          attributes[key] = text;
          if (kind !== undefined) kinds[key] = kind;
          else delete kinds[key];
        }
        const s = span(round * 10 + i + 1, pick(resources), pick(scopes), { attributes, kind: Math.floor(random() * 6), flags: Math.floor(random() * 0x400) });
        if (Object.keys(kinds).length > 0) s.attributeKinds = kinds;
        return s;
      });
      const again = roundTrip(spans);
      // Grouping reorders spans by resource and scope; compare as sets of span IDs and contents.
      const byId = (xs: Span[]) => [...xs].sort((x, y) => (x.spanId < y.spanId ? -1 : 1));
      expect(byId(again)).toStrictEqual(byId(spans));
    }
  });
});

describe('encodeTraceRequest: grouping and concatenation', () => {
  it('groups spans by resource object, then scope object, in first-seen order', () => {
    const r1 = resource({ 'service.name': 'one' });
    const r2 = resource({ 'service.name': 'one' }); // equal content, another object: another ResourceSpans
    const a = scope('a');
    const b = scope('b');
    const spans = [span(1, r1, a), span(2, r2, a), span(3, r1, b), span(4, r1, a), span(5, r2, a)];
    const request = decodeWithProtobufjs(encodeTraceRequest(spans));
    const layout = request.resourceSpans!.map((rs) => rs.scopeSpans!.map((ss) => `${ss.scope?.name}:${ss.spans!.map((s) => s.name).join(',')}`));
    expect(layout).toEqual([['a:span-1,span-4', 'b:span-3'], ['a:span-2,span-5']]);
    expect(sharing(roundTrip(spans))).toBe('0/0 0/0 0/1 1/2 1/2');
  });

  it('makes records that concatenate: two records laid end to end decode to both', () => {
    const first = [span(1, resource(), scope()), span(2, resource({ 'service.name': 'b' }), scope())];
    const second = [span(3, resource(), scope('other'), { attributes: { n: '5' }, attributeKinds: { n: 'int' } })];
    const joined = Buffer.concat([encodeTraceRequest(first), encodeTraceRequest(second)]);
    const decoded = decodeTraceRequest(joined);
    expect(decoded.rejectedSpans).toBe(0);
    expect(decoded.spans).toStrictEqual([...first, ...second]);
    expect(decodeWithProtobufjs(joined).resourceSpans).toHaveLength(3);
  });
});

// ---------------------------------------------------------------------------------------------
// Independent decoding (protobufjs) of our bytes

/** Proto3 treats absent and default scalars alike; the official serializer writes some defaults, we do not. */
function normalize(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) {
    const items = value.map((v) => normalize(v));
    return key === 'values' && items.every((v) => typeof (v as PbKeyValue).key === 'string')
      ? [...(items as PbKeyValue[])].sort((x, y) => (x.key! < y.key! ? -1 : x.key! > y.key! ? 1 : 0)) // kvlist keys come back sorted
      : items;
  }
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const n = normalize(v, k);
    const anyValueField = ['value', 'stringValue', 'boolValue', 'intValue', 'doubleValue', 'bytesValue', 'arrayValue', 'kvlistValue'].includes(k);
    const isDefault = n === 0 || n === '' || n === '0' || (Array.isArray(n) && n.length === 0) || (typeof n === 'object' && n !== null && Object.keys(n).length === 0);
    if (anyValueField || !isDefault) out[k] = n;
  }
  return out;
}

function anyValueOf(attributes: PbKeyValue[] | undefined, key: string): PbAnyValue | undefined {
  return attributes?.find((kv) => kv.key === key)?.value;
}

describe('encodeTraceRequest: decoded by protobufjs (an independent protobuf runtime)', () => {
  it('equals the official serializer’s request for SDK spans, field by field', async () => {
    const sdkBytes = encodeProtobuf(await sdkSpans());
    const ours = encodeTraceRequest(decodeTraceRequest(sdkBytes).spans);
    expect(normalize(decodeWithProtobufjs(ours))).toStrictEqual(normalize(decodeWithProtobufjs(sdkBytes)));
  });

  it('equals the official serializer’s request for bytes, kvlist and empty values (kvlist keys sorted)', () => {
    const values = { bytes: new Uint8Array([0, 1, 2, 250, 255]), kv: { zone: 'eu-1', weight: 3, deep: { list: ['a', true, -7] } }, none: null, s: '' };
    const official = encodeProtobuf([handSpan({ traceId: traceIdOf(1), spanId: spanIdOf(1), resource: HAND_RESOURCE, scope: HAND_SCOPE, attributes: anyAttributes(values) })]);
    const ours = encodeTraceRequest(decodeTraceRequest(official).spans);
    expect(normalize(decodeWithProtobufjs(ours))).toStrictEqual(normalize(decodeWithProtobufjs(official)));
  });

  it('writes typed values exactly: int64 extremes, -0, NaN, infinities, nested values', () => {
    const attributes: Attributes = {
      max: '9223372036854775807',
      min: '-9223372036854775808',
      neg: '-1',
      wide: '4294967296',
      negzero: '-0',
      nan: 'json: unsupported value: NaN',
      inf: 'json: unsupported value: -Inf',
      arr: '[9223372036854775807,-9223372036854775808,1.5,100000000000000000000,"\\u003cb\\u003e",null,{"k":false},-0]',
      nanArray: '',
      notAnInt: 'abc',
      badJson: '[1,',
    };
    const kinds: AttributeKinds = { max: 'int', min: 'int', neg: 'int', wide: 'int', negzero: 'double', nan: 'double', inf: 'double', arr: 'array', nanArray: 'array', notAnInt: 'int', badJson: 'array' };
    const [pb] = decodeWithProtobufjs(encodeTraceRequest([span(1, resource(), scope(), { attributes, attributeKinds: kinds })])).resourceSpans![0].scopeSpans![0].spans!;
    const v = (key: string) => anyValueOf(pb.attributes, key);
    expect(v('max')).toEqual({ intValue: '9223372036854775807' });
    expect(v('min')).toEqual({ intValue: '-9223372036854775808' });
    expect(v('neg')).toEqual({ intValue: '-1' });
    expect(v('wide')).toEqual({ intValue: '4294967296' });
    expect(Object.is(v('negzero')!.doubleValue, -0)).toBe(true);
    expect(v('nan')!.doubleValue).toBeNaN();
    expect(v('inf')).toEqual({ doubleValue: -Infinity });
    expect(v('arr')).toEqual({
      arrayValue: {
        values: [
          { intValue: '9223372036854775807' },
          { intValue: '-9223372036854775808' },
          { doubleValue: 1.5 },
          { doubleValue: 1e20 }, // an integral double beyond int64
          { stringValue: '<b>' },
          {},
          { kvlistValue: { values: [{ key: 'k', value: { boolValue: false } }] } },
          { doubleValue: -0 },
        ],
      },
    });
    expect(v('nanArray')).toEqual({ arrayValue: {} });
    // A value that no longer parses as its kind goes as a string rather than being lost.
    expect(v('notAnInt')).toEqual({ stringValue: 'abc' });
    expect(v('badJson')).toEqual({ stringValue: '[1,' });
    expect(pb.traceId).toBe(traceIdOf(1));
    expect(pb.startTimeUnixNano).toBe('1700000000000000001');
  });
});
