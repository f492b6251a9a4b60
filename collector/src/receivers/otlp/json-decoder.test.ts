import { SpanKind } from '@opentelemetry/api';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Span } from '../../model/span.js';
import { decodeJsonBody, decodeTraceRequestJson, parseJsonBody } from './json-decoder.js';
import {
  ALL_ANY_VALUE_KINDS,
  EXPECTED_ANY_VALUE_KINDS,
  EXPECTED_ANY_VALUE_STRINGS,
  EXPECTED_HAND_RESOURCE,
  EXPECTED_HAND_SCOPE,
  HAND_RESOURCE,
  HAND_SCOPE,
  LINKED_REMOTE,
  anyAttributes,
  at,
  encodeJson,
  encodeProtobuf,
  handResource,
  handSpan,
  sdkSpans,
  seededRandom,
  spanIdOf,
  traceIdOf,
  type ScopeWithAttributes,
} from './otlp-fixtures.js';
import { OtlpDecodeError, decodeTraceRequest, type DecodedTraces } from './proto-decoder.js';

describe('decodeTraceRequestJson: the official OTLP/JSON encoding decodes exactly like the official protobuf one', () => {
  it('for spans recorded by the SDK (every API value type, events, links, status, limits)', async () => {
    const spans = await sdkSpans();
    const fromJson = decodeTraceRequestJson(encodeJson(spans));
    expect(fromJson).toStrictEqual(decodeTraceRequest(encodeProtobuf(spans)));
    expect(fromJson.spans).toHaveLength(6);
    expect(fromJson.spans[0].resource).toBe(fromJson.spans[1].resource);
    expect(fromJson.spans[0].scope).toBe(fromJson.spans[1].scope);
  });

  it('for bytes, kvlist, empty and nested values, scope attributes and odd keys', () => {
    const spans = [
      handSpan({
        traceId: traceIdOf(9),
        spanId: spanIdOf(9),
        parentSpanId: '0000000000000000',
        kind: SpanKind.CONSUMER,
        resource: HAND_RESOURCE,
        scope: HAND_SCOPE,
        attributes: anyAttributes(ALL_ANY_VALUE_KINDS),
        events: [{ name: 'e', time: at(5), attributes: anyAttributes({ kv: { b: [1, 'x'], a: new Uint8Array([7]) } }) }],
        links: [{ context: LINKED_REMOTE, attributes: anyAttributes({ b: new Uint8Array([1]) }) }],
      }),
    ];
    const fromJson = decodeTraceRequestJson(encodeJson(spans));
    expect(fromJson).toStrictEqual(decodeTraceRequest(encodeProtobuf(spans)));
    const [span] = fromJson.spans;
    expect(span.attributes).toStrictEqual(EXPECTED_ANY_VALUE_STRINGS);
    expect(span.attributeKinds).toStrictEqual(EXPECTED_ANY_VALUE_KINDS);
    expect(span.resource).toStrictEqual(EXPECTED_HAND_RESOURCE);
    expect(span.scope).toStrictEqual(EXPECTED_HAND_SCOPE);
    expect(span.parentSpanId).toBe('');
    expect(span.events[0].attributes).toStrictEqual({ kv: '{"a":"Bw==","b":[1,"x"]}' });
  });

  it('for rejected spans, with the same counts and messages', () => {
    const resource = handResource({ 'service.name': 'validation' });
    const scope: ScopeWithAttributes = { name: 'v' };
    const spans = [
      handSpan({ traceId: traceIdOf(1), spanId: spanIdOf(1), resource, scope }),
      handSpan({ traceId: '0102030405', spanId: spanIdOf(2), resource, scope }),
      handSpan({ traceId: traceIdOf(3), spanId: '', resource, scope }),
      handSpan({ traceId: traceIdOf(4), spanId: spanIdOf(4), parentSpanId: '0102', resource, scope }),
      handSpan({ traceId: '00000000000000000000000000000000', spanId: spanIdOf(5), resource, scope }),
      handSpan({
        traceId: traceIdOf(6),
        spanId: spanIdOf(6),
        resource,
        scope,
        links: [{ context: { traceId: 'ff', spanId: spanIdOf(1), traceFlags: 0 } }],
      }),
    ];
    const fromJson = decodeTraceRequestJson(encodeJson(spans));
    expect(fromJson).toStrictEqual(decodeTraceRequest(encodeProtobuf(spans)));
    expect(fromJson.rejectedSpans).toBe(5);
    expect(fromJson.rejectionMessage).toContain("span 1 of scope 'v': trace_id has 5 bytes, want 16");
  });
});

describe('decodeTraceRequestJson: what other OTLP/JSON producers send', () => {
  it('accepts snake_case names, enum names, int64 as strings, upper-case hex, special doubles and URL-safe base64', () => {
    const body = {
      resource_spans: [
        {
          resource: {
            attributes: [{ key: 'service.name', value: { string_value: 'snake' } }],
            dropped_attributes_count: '4',
          },
          schema_url: 'rs',
          scope_spans: [
            {
              scope: { name: 'scope', version: '2', dropped_attributes_count: 1 },
              schema_url: 'ss',
              spans: [
                {
                  trace_id: 'ABCDEF0123456789ABCDEF0123456789',
                  span_id: 'ABCDEF0123456789',
                  parent_span_id: 'FEDCBA9876543210',
                  trace_state: 'a=b',
                  flags: '769',
                  name: 'snake span',
                  kind: 'SPAN_KIND_CLIENT',
                  start_time_unix_nano: '1700000000123456789',
                  end_time_unix_nano: 1700000000123,
                  attributes: [
                    { key: 'int.min', value: { int_value: '-9223372036854775808' } },
                    { key: 'int.padded', value: { intValue: '007' } },
                    { key: 'int.number', value: { intValue: -5 } },
                    { key: 'double.string', value: { double_value: '2.5' } },
                    { key: 'nan', value: { doubleValue: 'NaN' } },
                    { key: 'inf', value: { doubleValue: 'Infinity' } },
                    { key: 'ninf', value: { doubleValue: '-Infinity' } },
                    { key: 'bool', value: { bool_value: false } },
                    { key: 'url.safe', value: { bytes_value: '-_8' } },
                    { key: 'arr', value: { array_value: { values: [{ double_value: 'NaN' }] } } },
                    { key: 'kv', value: { kvlist_value: { values: [{ key: 'z', value: { int_value: '1' } }, { key: 'a' }] } } },
                  ],
                  dropped_attributes_count: 1,
                  events: [{ time_unix_nano: '5', name: 'ev', dropped_attributes_count: '2' }],
                  dropped_events_count: '3',
                  links: [
                    {
                      trace_id: '0AF7651916CD43DD8448EB211C80319C',
                      span_id: 'B7AD6B7169203331',
                      trace_state: 'k=v',
                      flags: 256,
                      dropped_attributes_count: 6,
                    },
                  ],
                  dropped_links_count: 7,
                  status: { code: 'STATUS_CODE_ERROR', message: 'failed' },
                },
              ],
            },
          ],
        },
      ],
    };
    const decoded = decodeTraceRequestJson(body);
    expect(decoded.rejectedSpans).toBe(0);
    expect(decoded.spans).toStrictEqual([
      {
        resource: {
          attributes: { 'service.name': 'snake' },
          droppedAttributesCount: 4,
          schemaUrl: 'rs',
          serviceName: 'snake',
        },
        scope: { name: 'scope', version: '2', attributes: {}, droppedAttributesCount: 1, schemaUrl: 'ss' },
        traceId: 'abcdef0123456789abcdef0123456789',
        spanId: 'abcdef0123456789',
        parentSpanId: 'fedcba9876543210',
        traceState: 'a=b',
        flags: 769,
        name: 'snake span',
        kind: 3,
        startTimeUnixNano: 1700000000123456789n,
        endTimeUnixNano: 1700000000123n,
        attributes: {
          'int.min': '-9223372036854775808',
          'int.padded': '7',
          'int.number': '-5',
          'double.string': '2.5',
          nan: 'json: unsupported value: NaN',
          inf: 'json: unsupported value: +Inf',
          ninf: 'json: unsupported value: -Inf',
          bool: 'false',
          'url.safe': '+/8=',
          arr: '',
          kv: '{"a":null,"z":1}',
        },
        attributeKinds: {
          'int.min': 'int',
          'int.padded': 'int',
          'int.number': 'int',
          'double.string': 'double',
          nan: 'double',
          inf: 'double',
          ninf: 'double',
          bool: 'bool',
          'url.safe': 'bytes',
          arr: 'array',
          kv: 'kvlist',
        },
        droppedAttributesCount: 1,
        events: [{ timeUnixNano: 5n, name: 'ev', attributes: {}, droppedAttributesCount: 2 }],
        droppedEventsCount: 3,
        links: [
          {
            traceId: '0af7651916cd43dd8448eb211c80319c',
            spanId: 'b7ad6b7169203331',
            traceState: 'k=v',
            flags: 256,
            attributes: {},
            droppedAttributesCount: 6,
          },
        ],
        droppedLinksCount: 7,
        statusCode: 2,
        statusMessage: 'failed',
      } satisfies Span,
    ]);
  });

  it('treats null as absent and ignores unknown fields', () => {
    const decoded = decodeTraceRequestJson({
      futureField: { anything: [1, 2] },
      resourceSpans: [
        {
          resource: null,
          schemaUrl: null,
          somethingNew: true,
          scopeSpans: [
            {
              scope: null,
              spans: [
                {
                  traceId: traceIdOf(1),
                  spanId: spanIdOf(1),
                  parentSpanId: null,
                  name: null,
                  kind: null,
                  attributes: [{ key: 'k', value: { stringValue: null, intValue: '3', newValueKind: 'x' } }, { key: 'e', value: null }],
                  events: null,
                  links: null,
                  status: null,
                  newSpanField: 42,
                },
              ],
            },
          ],
        },
      ],
    });
    const [span] = decoded.spans;
    expect(span.parentSpanId).toBe('');
    expect(span.name).toBe('');
    expect(span.attributes).toStrictEqual({ k: '3', e: '' });
    expect(span.attributeKinds).toStrictEqual({ k: 'int', e: 'empty' });
    expect(span.resource).toStrictEqual({ attributes: {}, droppedAttributesCount: 0, schemaUrl: '', serviceName: '' });
  });

  it('returns nothing for an empty request', () => {
    expect(decodeTraceRequestJson({})).toStrictEqual({ spans: [], rejectedSpans: 0, rejectionMessage: '' });
    expect(decodeTraceRequestJson({ resourceSpans: [] }).spans).toEqual([]);
  });

  it('rejects spans with IDs that are not hex or have the wrong length', () => {
    const spans = [
      { traceId: 'zz'.repeat(16), spanId: spanIdOf(1) },
      { traceId: traceIdOf(1) + 'a', spanId: spanIdOf(1) },
      { traceId: traceIdOf(1) + 'aa', spanId: spanIdOf(1) },
      { traceId: traceIdOf(1), spanId: spanIdOf(1), parentSpanId: 'xyz' },
      { traceId: traceIdOf(1), spanId: spanIdOf(1) },
    ];
    const decoded = decodeTraceRequestJson({ resourceSpans: [{ scopeSpans: [{ scope: { name: 's' }, spans }] }] });
    expect(decoded.spans).toHaveLength(1);
    expect(decoded.rejectedSpans).toBe(4);
    expect(decoded.rejectionMessage).toBe(
      `span 0 of scope 's': trace_id is not hex: "${'zz'.repeat(16)}"; ` +
        `span 1 of scope 's': trace_id is not hex: "${traceIdOf(1)}a"; ` +
        "span 2 of scope 's': trace_id has 17 bytes, want 16; " +
        `span 3 of scope 's': parent_span_id is not hex: "xyz"`,
    );
  });
});

describe('decodeTraceRequestJson: a body of the wrong shape throws OtlpDecodeError naming the JSON path', () => {
  const id = { traceId: traceIdOf(1), spanId: spanIdOf(1) };
  /** A request whose third span of the second scope is `span`, as in the path of most cases below. */
  const withSpan = (span: unknown) => ({ resourceSpans: [{ scopeSpans: [{}, { spans: [id, id, span] }] }] });
  const withAttribute = (value: unknown) => withSpan({ ...id, attributes: [{ key: 'ok', value: { intValue: 1 } }, { key: 'k', value }] });
  const SPAN = 'resourceSpans[0].scopeSpans[1].spans[2]';
  const ATTRIBUTE = `${SPAN}.attributes[1].value`;

  const cases: Array<[string, unknown, string]> = [
    ['an array body', [], '(root): expected an object, got an array'],
    ['a null body', null, '(root): expected an object, got null'],
    ['a string body', 'x', '(root): expected an object, got "x"'],
    ['resourceSpans not an array', { resourceSpans: {} }, 'resourceSpans: expected an array, got an object'],
    ['a ResourceSpans that is a number', { resourceSpans: [5] }, 'resourceSpans[0]: expected an object, got 5'],
    ['a resource that is an array', { resourceSpans: [{ resource: [] }] }, 'resourceSpans[0].resource: expected an object, got an array'],
    [
      'a scope name that is a number',
      { resourceSpans: [{ scopeSpans: [{ scope: { name: 1 } }] }] },
      'resourceSpans[0].scopeSpans[0].scope.name: expected a string, got 1',
    ],
    ['a span that is not an object', withSpan('x'), `${SPAN}: expected an object, got "x"`],
    ['a start time that is not an integer', withSpan({ ...id, startTimeUnixNano: 'abc' }), `${SPAN}.startTimeUnixNano: expected an unsigned 64-bit integer, got "abc"`],
    ['a negative time', withSpan({ ...id, endTimeUnixNano: -1 }), `${SPAN}.endTimeUnixNano: expected an unsigned 64-bit integer, got -1`],
    ['a time past 64 bits', withSpan({ ...id, endTimeUnixNano: '18446744073709551616' }), `${SPAN}.endTimeUnixNano: expected an unsigned 64-bit integer`],
    ['a name that is a number', withSpan({ ...id, name: 5 }), `${SPAN}.name: expected a string, got 5`],
    ['an ID that is a number', withSpan({ ...id, traceId: 5 }), `${SPAN}.traceId: expected a hex string, got 5`],
    ['an unknown kind name', withSpan({ ...id, kind: 'SPAN_KIND_BOGUS' }), `${SPAN}.kind: expected an enum number or name, got "SPAN_KIND_BOGUS"`],
    ['a status that is a string', withSpan({ ...id, status: 'x' }), `${SPAN}.status: expected an object, got "x"`],
    ['a fractional status code', withSpan({ ...id, status: { code: 1.5 } }), `${SPAN}.status.code: expected an enum number or name, got 1.5`],
    ['a negative count', withSpan({ ...id, droppedAttributesCount: -1 }), `${SPAN}.droppedAttributesCount: expected an unsigned 32-bit integer, got -1`],
    ['flags past 32 bits', withSpan({ ...id, flags: 2 ** 32 }), `${SPAN}.flags: expected an unsigned 32-bit integer, got 4294967296`],
    ['links that are an object', withSpan({ ...id, links: {} }), `${SPAN}.links: expected an array, got an object`],
    ['an event time that is negative', withSpan({ ...id, events: [{ timeUnixNano: '-1' }] }), `${SPAN}.events[0].timeUnixNano: expected an unsigned 64-bit integer, got "-1"`],
    ['an attribute key that is a number', withSpan({ ...id, attributes: [{ key: 1 }] }), `${SPAN}.attributes[0].key: expected a string, got 1`],
    [
      'two AnyValue fields',
      withAttribute({ stringValue: 'a', intValue: 1 }),
      `${ATTRIBUTE}.intValue: more than one AnyValue field is set (stringValue and intValue)`,
    ],
    ['a fractional int', withAttribute({ intValue: 1.5 }), `${ATTRIBUTE}.intValue: expected a 64-bit integer, got 1.5`],
    ['an int past 64 bits', withAttribute({ intValue: '9223372036854775808' }), `${ATTRIBUTE}.intValue: expected a 64-bit integer`],
    ['a stringValue that is a number', withAttribute({ stringValue: 1 }), `${ATTRIBUTE}.stringValue: expected a string, got 1`],
    ['a boolValue that is a string', withAttribute({ boolValue: 'true' }), `${ATTRIBUTE}.boolValue: expected true or false, got "true"`],
    ['a doubleValue that is not a number', withAttribute({ doubleValue: '1.5x' }), `${ATTRIBUTE}.doubleValue: expected a number, got "1.5x"`],
    ['bytes that are not base64', withAttribute({ bytesValue: '!!!!' }), `${ATTRIBUTE}.bytesValue: expected base64 bytes, got "!!!!"`],
    ['base64 of impossible length', withAttribute({ bytesValue: 'AAAAA' }), `${ATTRIBUTE}.bytesValue: expected base64 bytes`],
    [
      'an array element that is a number',
      withAttribute({ arrayValue: { values: [{ intValue: 1 }, 3] } }),
      `${ATTRIBUTE}.arrayValue.values[1]: expected an object, got 3`,
    ],
    [
      'a bad double inside a kvlist',
      withAttribute({ kvlistValue: { values: [{ key: 'a', value: { doubleValue: 'x' } }] } }),
      `${ATTRIBUTE}.kvlistValue.values[0].value.doubleValue: expected a number, got "x"`,
    ],
    ['a value that is a string', withAttribute('x'), `${ATTRIBUTE}: expected an object, got "x"`],
  ];

  it.each(cases)('%s', (_name, body, message) => {
    expect(() => decodeTraceRequestJson(body)).toThrow(OtlpDecodeError);
    expect(() => decodeTraceRequestJson(body)).toThrow(message);
  });

  it('bounds AnyValue nesting', () => {
    let value: unknown = { stringValue: 'leaf' };
    for (let i = 0; i < 150; i++) value = { arrayValue: { values: [value] } };
    expect(() => decodeTraceRequestJson(withAttribute(value))).toThrow(/AnyValue nested deeper than 100 levels/);
  });
});

describe('decodeTraceRequestJson: a lone surrogate (not encodable as UTF-8) rejects what holds it', () => {
  const LONE = 'ok\ud800';
  type Json = Record<string, unknown>;
  const span = (n: number, extra: Json = {}): Json => ({ traceId: traceIdOf(1), spanId: spanIdOf(n), name: `s${n}`, ...extra });
  const str = (v: string) => ({ stringValue: v });
  const request = (spans: Json[], resource: Json = {}, scope: Json = { name: 'json.scope' }, extra: Json = {}) => ({
    resourceSpans: [{ resource, ...extra, scopeSpans: [{ scope, spans }] }],
  });

  const cases: Array<[string, Json, string]> = [
    ['the name', { name: LONE }, 'name'],
    ['the trace state', { traceState: LONE }, 'traceState'],
    ['the status message', { status: { message: LONE } }, 'status.message'],
    ['an attribute key', { attributes: [{ key: LONE, value: str('v') }] }, 'attributes key'],
    ['an attribute value', { attributes: [{ key: 'k', value: str(LONE) }] }, 'attributes["k"]'],
    ['a nested value', { attributes: [{ key: 'k', value: { kvlistValue: { values: [{ key: LONE, value: str('x') }] } } }] }, 'attributes["k"]'],
    ['an event name', { events: [{ name: 'fine' }, { name: LONE }] }, 'events[1].name'],
    ['a link attribute', { links: [{ attributes: [{ key: 'l', value: { arrayValue: { values: [str(LONE)] } } }] }] }, 'links[0].attributes["l"]'],
  ];

  it.each(cases)('in %s: the span is rejected naming the field, its neighbours kept', (_what, extra, field) => {
    const decoded = decodeTraceRequestJson(request([span(1), span(2, extra), span(3)]));
    expect(decoded.spans.map((s) => s.spanId)).toEqual([spanIdOf(1), spanIdOf(3)]);
    expect(decoded.rejectionMessage).toBe(`span 1 of scope 'json.scope': invalid UTF-8 (a lone surrogate) in ${field}`);
  });

  it('keeps surrogate pairs (emoji) and rejects a whole resource or scope holding a lone one', () => {
    expect(decodeTraceRequestJson(request([span(1, { name: '🐴' })])).spans[0]?.name).toBe('🐴');
    const badResource = decodeTraceRequestJson(request([span(1), span(2)], { attributes: [{ key: 'service.name', value: str(LONE) }] }));
    expect([badResource.spans.length, badResource.rejectedSpans, badResource.rejectionMessage]).toEqual([
      0,
      2,
      '2 spans: invalid UTF-8 (a lone surrogate) in resource.attributes["service.name"]',
    ]);
    const badScope = decodeTraceRequestJson(request([span(1)], {}, { name: 'x', version: LONE }));
    expect(badScope.rejectionMessage).toBe("1 span of scope 'x': invalid UTF-8 (a lone surrogate) in scope.version");
  });

  it('parseJsonBody refuses a body that is not UTF-8 instead of rewriting it', () => {
    expect(parseJsonBody(Buffer.from('{"a":"é"}'))).toEqual({ a: 'é' });
    expect(() => parseJsonBody(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]))).toThrow(/not valid UTF-8/);
    expect(() => parseJsonBody(Buffer.from('{'))).toThrow(/invalid JSON body/);
  });
});

describe('OTLP/JSON 64-bit integers written as JSON numbers are decoded exactly', () => {
  /** The body as the HTTP receiver decodes it. */
  const decodeText = (text: string) => decodeJsonBody(Buffer.from(text));
  const ids = `"traceId":"${traceIdOf(1)}","spanId":"${spanIdOf(1)}"`;
  const attribute = (key: string, value: string) => `{"key":"${key}","value":${value}}`;
  const oneSpan = (span: string, resource = '{}', scope = '{}') =>
    `{"resourceSpans":[{"resource":${resource},"scopeSpans":[{"scope":${scope},"spans":[{${ids},${span}}]}]}]}`;
  const SPAN = 'resourceSpans[0].scopeSpans[0].spans[0]';

  it('in every 64-bit field: start, end and event times, and int values in span, resource, scope, event and link attributes, arrays and kvlists', () => {
    const big = '{"intValue":9007199254740993}';
    const decoded = decodeText(
      oneSpan(
        `"startTimeUnixNano":1700000000123456789,"end_time_unix_nano":1700000000123456791,
         "attributes":[${attribute('a', big)},${attribute('list', `{"arrayValue":{"values":[${big},{"intValue":-9007199254740993}]}}`)},
           ${attribute('map', `{"kvlistValue":{"values":[${attribute('deep', `{"kvlistValue":{"values":[${attribute('x', big)}]}}`)}]}}`)}],
         "events":[{"timeUnixNano":1700000000123456790,"attributes":[${attribute('e', big)}]}],
         "links":[{"attributes":[${attribute('l', big)}]}]`,
        `{"attributes":[${attribute('r', big)}]}`,
        `{"attributes":[${attribute('s', big)}]}`,
      ),
    );
    expect(decoded.rejectedSpans).toBe(0);
    const span = decoded.spans[0]!;
    expect(span.startTimeUnixNano).toBe(1700000000123456789n);
    expect(span.endTimeUnixNano).toBe(1700000000123456791n);
    expect(span.events[0]!.timeUnixNano).toBe(1700000000123456790n);
    expect(span.attributes).toEqual({ a: '9007199254740993', list: '[9007199254740993,-9007199254740993]', map: '{"deep":{"x":9007199254740993}}' });
    expect(span.events[0]!.attributes).toEqual({ e: '9007199254740993' });
    expect(span.links[0]!.attributes).toEqual({ l: '9007199254740993' });
    expect(span.resource.attributes).toEqual({ r: '9007199254740993' });
    expect(span.scope.attributes).toEqual({ s: '9007199254740993' });
  });

  it.each([
    ['the int64 extremes', '-9223372036854775808', '-9223372036854775808'],
    ['int64 max', '9223372036854775807', '9223372036854775807'],
    ['an exponent', '1.2345678901234567e18', '1234567890123456700'],
    ['a negative exponent', '-12345678901234567800e-2', '-123456789012345678'],
    ['the int64 minimum as JavaScript writes it (the double -2^63)', '-9223372036854776000', '-9223372036854775808'],
    ['a zero fraction', '9007199254740993.000', '9007199254740993'],
    ['a small exponent (formerly exact already)', '1e2', '100'],
    ['a quoted exponent (protobuf JSON takes strings in any number form)', '"1.5e3"', '1500'],
    ['a quoted big exponent', '"9.223372036854775807e18"', '9223372036854775807'],
    ['a negative zero', '-0', '0'],
  ])('an intValue in %s', (_what, json, expected) => {
    const decoded = decodeText(oneSpan(`"attributes":[${attribute('i', `{"intValue":${json}}`)}]`));
    expect(decoded.spans[0]!.attributes.i).toBe(expected);
    expect(decoded.spans[0]!.attributeKinds).toEqual({ i: 'int' });
  });

  it.each([
    ['an exponent', '1.700000000123456789e18', 1700000000123456789n],
    ['a zero fraction', '1700000000123456789.0', 1700000000123456789n],
    ['a quoted exponent', '"1.700000000123456789e18"', 1700000000123456789n],
    ['a far future', '4102444800123456789', 4102444800123456789n],
  ])('a time in %s', (_what, json, expected) => {
    expect(decodeText(oneSpan(`"startTimeUnixNano":${json}`)).spans[0]!.startTimeUnixNano).toBe(expected);
  });

  it.each([
    ['a fraction of a nanosecond', `"startTimeUnixNano":1700000000123456789.5`, `${SPAN}.startTimeUnixNano: expected an unsigned 64-bit integer, got 1700000000123456789.5`],
    ['a tiny fraction', `"endTimeUnixNano":1700000000123456789.0000001`, `${SPAN}.endTimeUnixNano: expected an unsigned 64-bit integer, got 1700000000123456789.0000001`],
    ['a fraction in exponent form', `"events":[{"timeUnixNano":1.7000000001234567891e18}]`, `${SPAN}.events[0].timeUnixNano: expected an unsigned 64-bit integer, got 1.7000000001234567891e18`],
    ['a quoted fraction', `"startTimeUnixNano":"1.5"`, `${SPAN}.startTimeUnixNano: expected an unsigned 64-bit integer, got "1.5"`],
    ['a negative time', `"startTimeUnixNano":-1700000000123456789`, `${SPAN}.startTimeUnixNano: expected an unsigned 64-bit integer, got -1700000000123456789`],
    ['a time of 2^64', `"startTimeUnixNano":18446744073709551616`, `${SPAN}.startTimeUnixNano: expected an unsigned 64-bit integer, got 18446744073709551616`],
    ['a huge exponent', `"startTimeUnixNano":1e999999999`, `${SPAN}.startTimeUnixNano: expected an unsigned 64-bit integer, got Infinity`],
    ['an int of 2^63', `"attributes":[${attribute('i', '{"intValue":9223372036854775808}')}]`, `${SPAN}.attributes[0].value.intValue: expected a 64-bit integer, got 9223372036854775808`],
    ['an int with a fraction', `"attributes":[${attribute('i', '{"intValue":9007199254740993.5}')}]`, `${SPAN}.attributes[0].value.intValue: expected a 64-bit integer, got 9007199254740993.5`],
    ['a count past 32 bits', `"droppedAttributesCount":9007199254740993`, `${SPAN}.droppedAttributesCount: expected an unsigned 32-bit integer, got 9007199254740993`],
    // Fields that take no integer see the number as JSON.parse gives it (no exact parse for them).
    ['a kind past 32 bits', `"kind":12345678901234567890`, `${SPAN}.kind: expected an enum number or name, got 12345678901234567000`],
    ['a big number for an ID', `"parentSpanId":12345678901234567890`, `${SPAN}.parentSpanId: expected a hex string, got 12345678901234567000`],
  ])('refuses %s (400, naming the field), never rounding it', (_what, span, message) => {
    expect(() => decodeText(oneSpan(span))).toThrow(OtlpDecodeError);
    expect(() => decodeText(oneSpan(span))).toThrow(message);
  });

  it('refuses, after an exact parse, what the exact parser gives where no number belongs', () => {
    // An int past 2^53, read first, sends the body to the exact parser; the fields read after it see its values.
    const exactly = (span: string, value = '{"intValue":1}') => () =>
      decodeText(oneSpan(`"attributes":[${attribute('first', '{"intValue":9007199254740993}')},${attribute('then', value)}]${span === '' ? '' : ','}${span}`));
    expect(exactly(`"name":"fine"`)).not.toThrow();
    expect(exactly(`"name":12345678901234567890`)).toThrow(`${SPAN}.name: expected a string, got 12345678901234567890`);
    expect(exactly(`"kind":12345678901234567890`)).toThrow(`${SPAN}.kind: expected an enum number or name, got 12345678901234567890`);
    expect(exactly(`"status":1e-400`)).toThrow(`${SPAN}.status: expected an object, got 1e-400`);
    expect(exactly('', '{"stringValue":1e-400}')).toThrow(`${SPAN}.attributes[1].value.stringValue: expected a string, got 1e-400`);
    expect(exactly('', '{"boolValue":9007199254740993}')).toThrow(`${SPAN}.attributes[1].value.boolValue: expected true or false, got 9007199254740993`);
  });

  it('takes a fraction below 2^53 that JSON.parse makes whole as that whole number (a known limit: no scan of the text)', () => {
    // 17 significant digits a double cannot hold; no encoder writes such a value in an integer field.
    const decoded = decodeText(oneSpan(`"attributes":[${attribute('i', '{"intValue":1.0000000000000001}')}]`));
    expect(decoded.spans[0]!.attributes.i).toBe('1');
  });

  it('gives double fields exactly what JSON.parse gives, on either path', () => {
    const doubles = ['0.30000000000000004', '9007199254740993', '1e-400', '1.0000000000000001', '1e400', '-1e400', '12345678901234567890.5', '-0', '2.5e-7'];
    const text = oneSpan(`"attributes":[${doubles.map((d, i) => attribute(`d${i}`, `{"doubleValue":${d}}`)).join(',')}]`);
    const exact = decodeText(text).spans[0]!;
    const native = decodeTraceRequestJson(JSON.parse(text)).spans[0]!;
    expect(exact.attributes).toEqual(native.attributes);
    expect(exact.attributes.d1).toBe('9007199254740992');
    expect(exact.attributes.d3).toBe('1');
  });

  it('decodes the official encodings identically through the exact parser', async () => {
    // Forcing the exact path onto bodies JSON.parse reads correctly must change nothing.
    const text = JSON.stringify(encodeJson(await sdkSpans()));
    const forced = text.replace('{"resourceSpans":[', '{"x":9007199254740993,"resourceSpans":[');
    expect(forced).not.toBe(text);
    const exact = decodeText(forced);
    const native = decodeTraceRequestJson(JSON.parse(text));
    // Except the one number JSON.parse rounds: the SDK's double 2^60, which JavaScript writes as 1152921504606847000.
    const large = exact.spans.find((s) => s.attributes['int.large'] !== undefined)!;
    expect(large.attributes['int.large']).toBe('1152921504606847000');
    large.attributes['int.large'] = String(2n ** 60n);
    expect(exact).toStrictEqual(native);
  });
});

describe('decodeTraceRequestJson: fuzzing official encodings', () => {
  let corpus: unknown[];

  beforeAll(async () => {
    const hand = handSpan({
      traceId: traceIdOf(9),
      spanId: spanIdOf(9),
      resource: HAND_RESOURCE,
      scope: HAND_SCOPE,
      attributes: anyAttributes(ALL_ANY_VALUE_KINDS),
      links: [{ context: LINKED_REMOTE }],
    });
    corpus = [encodeJson(await sdkSpans()), encodeJson([hand])];
  });

  const REPLACEMENTS: unknown[] = [
    null, true, false, 0, -1, 1.5, 2 ** 64, 1e300, '', 'abc', 'NaN', '-7', '0102', 'AAAA', 'SPAN_KIND_SERVER',
    [], [{}], [null], {}, { values: 3 }, { values: [{ key: 1 }] }, { stringValue: 1 }, { arrayValue: {} },
    { kvlistValue: { values: [{}] } }, { intValue: '12345678901234567890' }, traceIdOf(3), spanIdOf(3).toUpperCase(),
    2n ** 64n, -(2n ** 53n) - 1n, // as the exact parser gives numbers past 2^53
  ];

  /** Every container node of a JSON value with its parent and key. */
  function nodes(value: unknown, out: Array<[Record<string, unknown> | unknown[], string | number]> = []) {
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        out.push([value, i]);
        nodes(item, out);
      });
    } else if (typeof value === 'object' && value !== null) {
      const obj = value as Record<string, unknown>;
      for (const key of Object.keys(obj)) {
        out.push([obj, key]);
        nodes(obj[key], out);
      }
    }
    return out;
  }

  it('survives 10,000 structural mutations with only results or OtlpDecodeError', () => {
    const random = seededRandom(4242);
    const pick = (n: number) => Math.floor(random() * n);
    const outcomes = { ok: 0, error: 0 };
    for (let iteration = 0; iteration < 10_000; iteration++) {
      const body = structuredClone(corpus[pick(corpus.length)]);
      const all = nodes(body);
      for (let m = 1 + pick(3); m > 0; m--) {
        const [parent, key] = all[pick(all.length)];
        const replacement = structuredClone(REPLACEMENTS[pick(REPLACEMENTS.length)]);
        if (Array.isArray(parent)) parent[key as number] = replacement;
        else if (random() < 0.2) delete parent[key as string];
        else parent[key as string] = replacement;
      }
      let decoded: DecodedTraces;
      try {
        decoded = decodeTraceRequestJson(body);
      } catch (err) {
        if (!(err instanceof OtlpDecodeError)) throw new Error(`non-OtlpDecodeError for ${JSON.stringify(body)}: ${String(err)}`);
        expect(err.message).toMatch(/^(\(root\)|resourceSpans)[^:]*: /);
        outcomes.error++;
        continue;
      }
      for (const span of decoded.spans) {
        expect(span.traceId).toMatch(/^[0-9a-f]{32}$/);
        expect(span.spanId).toMatch(/^[0-9a-f]{16}$/);
        expect(span.parentSpanId).toMatch(/^([0-9a-f]{16})?$/);
      }
      outcomes.ok++;
    }
    expect(outcomes.ok).toBeGreaterThan(1000);
    expect(outcomes.error).toBeGreaterThan(1000);
  });
});

describe('decodeJsonBody: fuzzing the number forms of 64-bit fields in official encodings', () => {
  it('2,000 bodies with start times rewritten as JSON numbers of every form: exact values, or OtlpDecodeError', async () => {
    const text = JSON.stringify(encodeJson(await sdkSpans()));
    const random = seededRandom(2024);
    const forms = (digits: string): Array<[string, bigint | 'refused']> => {
      const n = BigInt(digits);
      return [
        [digits, n],
        [`${digits}.000`, n],
        [`${digits}.5`, 'refused'],
        [`${digits[0]}.${digits.slice(1)}e${digits.length - 1}`, n],
        [`${digits}0e-1`, n],
        [`-${digits}`, n === 0n ? 0n : 'refused'],
      ];
    };
    const outcomes = { exact: 0, refused: 0 };
    for (let i = 0; i < 2_000; i++) {
      const expected: bigint[] = [];
      let refused = false;
      const body = text.replace(/"startTimeUnixNano":"(\d+)"/g, (whole, digits: string) => {
        if (random() < 0.5) {
          expected.push(BigInt(digits));
          return whole;
        }
        const all = forms(digits);
        const [form, value] = all[Math.floor(random() * all.length)]!;
        if (value === 'refused') refused = true;
        else expected.push(value);
        return `"startTimeUnixNano":${form}`;
      });
      let decoded: DecodedTraces;
      try {
        decoded = decodeJsonBody(Buffer.from(body));
      } catch (err) {
        expect(err, body.slice(0, 200)).toBeInstanceOf(OtlpDecodeError);
        expect(refused, (err as Error).message).toBe(true);
        outcomes.refused++;
        continue;
      }
      expect(refused).toBe(false);
      expect(decoded.spans.map((s) => s.startTimeUnixNano)).toEqual(expected);
      outcomes.exact++;
    }
    expect(Math.min(outcomes.exact, outcomes.refused)).toBeGreaterThan(100);
  });
});
