/**
 * Differential tests: for every request, transcodeTraceRequest must give byte for byte the
 * rows of encodeRowBinary(decodeTraceRequest(b).spans), the same rejections and truncations
 * (or throw the same OtlpDecodeError), and a summary that agrees with the decoded spans.
 */
import { context, SpanKind, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeRowBinary } from '../../../../exporters/clickhouse/rowbinary.js';
import { encodeTraceRequest } from '../../../../exporters/otlp/encoder.js';
import { LoadGenerator } from '../../loadgen/generator.js';
import type { AttributeKinds, Attributes, InstrumentationScope, Resource, Span, SpanEvent, SpanLink, ValueKind } from '../../model/span.js';
import {
  ALL_ANY_VALUE_KINDS,
  HAND_RESOURCE,
  HAND_SCOPE,
  LINKED_LOCAL,
  LINKED_REMOTE,
  NON_FINITE_DOUBLES,
  REMOTE_PARENT,
  WIRE,
  WireWriter,
  anyAttributes,
  at,
  encodeProtobuf,
  handSpan,
  hexBytes,
  minimalSpan,
  requestWith,
  sdkSpans,
  seededRandom,
  spanIdOf,
  traceIdOf,
} from './otlp-fixtures.js';
import { OtlpDecodeError, decodeTraceRequest, type DecodeOptions } from './proto-decoder.js';
import { transcodeCounters, transcodeTraceRequest } from './rowbinary-transcoder.js';

const NOW_MS = Date.UTC(2026, 0, 15);
const NOW_NS = BigInt(NOW_MS) * 1_000_000n;
const DAY_NS = 86_400_000_000_000n;

/** Compares the transcoder with decode + encode on one request; 'error' when both threw alike. */
function check(bytes: Uint8Array, options?: DecodeOptions): 'ok' | 'error' {
  let decoded;
  try {
    decoded = decodeTraceRequest(bytes, options);
  } catch (err) {
    if (!(err instanceof OtlpDecodeError)) throw err;
    let thrown: unknown;
    try {
      transcodeTraceRequest(bytes, options);
    } catch (e) {
      thrown = e;
    }
    expect(thrown, `no error for ${hex(bytes)}`).toBeInstanceOf(OtlpDecodeError);
    expect((thrown as Error).message).toBe(err.message);
    return 'error';
  }
  const expected = encodeRowBinary(decoded.spans);
  const t = transcodeTraceRequest(bytes, options);
  if (!expected.equals(t.rowBinary)) {
    let i = 0;
    while (i < expected.length && expected[i] === t.rowBinary[i]) i++;
    throw new Error(
      `rows differ at byte ${i} of ${expected.length} (got ${t.rowBinary.length}): ` +
        `want …${expected.subarray(Math.max(0, i - 16), i + 16).toString('hex')}, got …${t.rowBinary.subarray(Math.max(0, i - 16), i + 16).toString('hex')}; request ${hex(bytes)}`,
    );
  }
  expect(t.spans).toBe(decoded.spans.length);
  expect({ rejectedSpans: t.rejectedSpans, rejectionMessage: t.rejectionMessage, rejections: t.rejections, truncations: t.truncations }).toStrictEqual({
    rejectedSpans: decoded.rejectedSpans,
    rejectionMessage: decoded.rejectionMessage,
    rejections: decoded.rejections,
    truncations: decoded.truncations,
  });
  const s = t.summary;
  expect(s.count).toBe(decoded.spans.length);
  decoded.spans.forEach((span, i) => {
    const got = [s.serviceName(i), s.spanName(i), s.kind[i], s.statusCode[i], s.startNs(i), s.durationNs(i), s.traceIdHex(i)];
    const duration = span.endTimeUnixNano > span.startTimeUnixNano ? span.endTimeUnixNano - span.startTimeUnixNano : 0n;
    expect(got).toStrictEqual([span.resource.serviceName, span.name, span.kind, span.statusCode, span.startTimeUnixNano, duration, span.traceId]);
  });
  return 'ok';
}

function hex(bytes: Uint8Array): string {
  const text = Buffer.from(bytes).toString('hex');
  return text.length > 400 ? `${text.slice(0, 400)}… (${bytes.length} bytes)` : text;
}

/** Runs `fn` and returns how many spans took the fast path and the slow one meanwhile. */
function paths(fn: () => void): { fast: number; slow: number; whole: number } {
  const before = { ...transcodeCounters };
  fn();
  return {
    fast: transcodeCounters.fastSpans - before.fastSpans,
    slow: transcodeCounters.slowSpans - before.slowSpans,
    whole: transcodeCounters.requestsViaObjects - before.requestsViaObjects,
  };
}

// ---------------------------------------------------------------------------------------
// Hand-written protobuf

const str = (s: string | Uint8Array) => new WireWriter().field(1, s);
const kv = (key: string | Uint8Array, value?: WireWriter) => {
  const w = new WireWriter().field(1, key);
  return value === undefined ? w : w.field(2, value);
};
const intValue = (n: number | bigint) => new WireWriter().varintField(3, n);
const boolValue = (b: boolean) => new WireWriter().varintField(2, b ? 1 : 0);
const doubleValue = (d: number) => new WireWriter().tag(4, WIRE.I64).double(d);
const bytesValue = (b: Uint8Array) => new WireWriter().field(7, b);
const arrayValue = (...values: WireWriter[]) => {
  const list = new WireWriter();
  for (const v of values) list.field(1, v);
  return new WireWriter().field(5, list);
};
const kvlistValue = (...kvs: WireWriter[]) => {
  const list = new WireWriter();
  for (const k of kvs) list.field(1, k);
  return new WireWriter().field(6, list);
};

/** A valid span with a start time (10 ms after NOW − 1 day) and a name. */
function span(n: number, name = `span-${n}`): WireWriter {
  return new WireWriter()
    .field(1, hexBytes(traceIdOf(1 + (n % 3))))
    .field(2, hexBytes(spanIdOf(n + 1)))
    .field(5, name)
    .tag(7, WIRE.I64)
    .fixed64(NOW_NS - DAY_NS + BigInt(n) * 10_000_000n)
    .tag(8, WIRE.I64)
    .fixed64(NOW_NS - DAY_NS + BigInt(n) * 10_000_000n + 1_234_567n);
}

function withAttributes(w: WireWriter, field: number, kvs: WireWriter[]): WireWriter {
  for (const k of kvs) w.field(field, k);
  return w;
}

function request(resources: Array<{ resource?: WireWriter; schema?: string; scopes: Array<{ scope?: WireWriter; schema?: string; spans: WireWriter[] }> }>): Uint8Array {
  const out = new WireWriter();
  for (const r of resources) {
    const rs = new WireWriter();
    if (r.resource) rs.field(1, r.resource);
    for (const s of r.scopes) {
      const ss = new WireWriter();
      if (s.scope) ss.field(1, s.scope);
      for (const sp of s.spans) ss.field(2, sp);
      if (s.schema !== undefined) ss.field(3, s.schema);
      rs.field(2, ss);
    }
    if (r.schema !== undefined) rs.field(3, r.schema);
    out.field(1, rs);
  }
  return out.finish();
}

const service = (name: string | Uint8Array, ...more: WireWriter[]) => withAttributes(new WireWriter(), 1, [kv('service.name', str(name)), ...more]);
const INVALID = Uint8Array.from([0x61, 0xff, 0x62]); // 'a', a byte UTF-8 never has, 'b'
const SURROGATE = Uint8Array.from([0xed, 0xa0, 0x80]); // U+D800 encoded: invalid UTF-8
const OVERLONG = Uint8Array.from([0xc0, 0xaf]);
const CUT = Uint8Array.from([0x78, 0xe2, 0x82]); // a three-byte character cut short
const FFFD = '\ufffd is a valid character';

/** Every string field of a span, one request per field holding `bytes`. */
function stringFieldCases(bytes: Uint8Array): Uint8Array[] {
  const one = (s: WireWriter, resource = service('svc'), scope = new WireWriter().field(1, 'scope')) =>
    request([{ resource, scopes: [{ scope, spans: [span(1), s, span(3)] }] }]);
  return [
    one(span(2, '').field(5, bytes)),
    one(span(2).field(3, bytes)),
    one(withAttributes(span(2), 9, [kv('ok', str('x')), kv(bytes, str('v'))])),
    one(withAttributes(span(2), 9, [kv('k', str(bytes))])),
    one(withAttributes(span(2), 9, [kv('arr', arrayValue(str('x'), str(bytes)))])),
    one(withAttributes(span(2), 9, [kv('kvl', kvlistValue(kv(bytes, intValue(1))))])),
    one(span(2).field(11, new WireWriter().field(2, bytes))),
    one(span(2).field(11, withAttributes(new WireWriter().field(2, 'e'), 3, [kv('k', str(bytes))]))),
    one(span(2).field(13, new WireWriter().field(3, bytes))),
    one(span(2).field(13, withAttributes(new WireWriter(), 4, [kv(bytes, str('v'))]))),
    one(span(2).field(15, new WireWriter().field(2, bytes).varintField(3, 2))),
    one(span(2), service('svc', kv('k', str(bytes)))),
    one(span(2), service(bytes)),
    one(span(2), undefined, new WireWriter().field(1, bytes)),
    one(span(2), undefined, new WireWriter().field(2, bytes)),
    one(span(2), undefined, withAttributes(new WireWriter().field(1, 's'), 3, [kv('k', str(bytes))])),
    request([{ resource: service('svc'), schema: new TextDecoder().decode(bytes), scopes: [{ spans: [span(1)] }] }]),
    new WireWriter()
      .field(1, new WireWriter().field(2, new WireWriter().field(2, span(1)).field(3, bytes)).field(1, service('svc')))
      .field(1, new WireWriter().field(1, service('other')).field(2, new WireWriter().field(2, span(4))).field(3, bytes))
      .finish(),
  ];
}

function handCases(): Array<[string, Uint8Array, DecodeOptions?]> {
  const big = Array.from({ length: 200 }, (_, i) => kv(`attr.${i}`, i % 2 === 0 ? str(`v${i}`) : intValue(i)));
  const long = 'x'.repeat(300);
  const longUtf8 = 'é'.repeat(200);
  const cases: Array<[string, Uint8Array, DecodeOptions?]> = [
    ['empty request', new Uint8Array(0)],
    ['empty containers', request([{ scopes: [] }, { resource: service('a'), scopes: [{ spans: [] }] }])],
    ['a span without a start (no age check)', requestWith(minimalSpan())],
    ['a span without a start (age check)', requestWith(minimalSpan(), span(1)), { retentionDays: 7, now: () => NOW_MS }],
    [
      'every fixed field',
      request([
        {
          resource: service('svc', kv('host', str('h'))),
          schema: 'rs',
          scopes: [
            {
              scope: withAttributes(new WireWriter().field(1, 'lib').field(2, '1.2').varintField(4, 3), 3, [kv('s', str('v')), kv('n', intValue(4))]),
              schema: 'ss',
              spans: [
                span(1).field(4, hexBytes(spanIdOf(9))).field(3, 'k=v').varintField(6, 2).varintField(10, 5).varintField(12, 6).varintField(14, 7)
                  .field(15, new WireWriter().varintField(3, 2).field(2, 'boom')).tag(16, WIRE.I32).fixed32(0x301),
                span(2).varintField(6, 9).field(15, new WireWriter().varintField(3, 7)),
                span(3).varintField(6, -1).field(15, new WireWriter().varintField(3, -2)),
              ],
            },
          ],
        },
      ]),
    ],
    ['end before start, no end, end = start', requestWith(span(1).tag(8, WIRE.I64).fixed64(5n), minimalSpan().tag(7, WIRE.I64).fixed64(NOW_NS), span(3).tag(8, WIRE.I64).fixed64(NOW_NS - DAY_NS + 30_000_000n))],
    [
      'every value kind',
      requestWith(
        withAttributes(span(1), 9, [
          kv('s', str('text')), kv('empty.string', str('')), kv('', str('empty key')), kv('no.value'), kv('empty.value', new WireWriter()),
          kv('i', intValue(-42)), kv('i.max', intValue(9223372036854775807n)), kv('b', boolValue(true)), kv('d', doubleValue(1.5)),
          kv('d.neg0', doubleValue(-0)), kv('d.nan', doubleValue(NaN)), kv('bytes', bytesValue(Uint8Array.from([0, 1, 255]))),
          kv('arr', arrayValue(str('a'), intValue(1), doubleValue(Infinity))), kv('arr.ok', arrayValue(str('<&>'), boolValue(false))),
          kv('kvl', kvlistValue(kv('b', intValue(2)), kv('a', str('x')), kv('a', str('y')))), kv('unicode', str('日本語 ✓ 🎉')),
        ]),
      ),
    ],
    ['a repeated key: string, then int', requestWith(withAttributes(span(1), 9, [kv('a', str('x')), kv('k', str('1')), kv('k', intValue(2))]))],
    ['a repeated key: int, then string', requestWith(withAttributes(span(1), 9, [kv('k', intValue(2)), kv('a', str('x')), kv('k', str('s'))]))],
    ['a repeated key: string twice', requestWith(withAttributes(span(1), 9, [kv('k', str('1')), kv('a', str('x')), kv('k', str('2'))]))],
    ['a repeated key in an event and a link', requestWith(span(1).field(11, withAttributes(new WireWriter(), 3, [kv('k', intValue(1)), kv('k', intValue(2))])).field(13, withAttributes(new WireWriter(), 4, [kv('k', boolValue(true)), kv('k', str('x'))])))],
    ['integer-like keys', requestWith(withAttributes(span(1), 9, [kv('z', str('1')), kv('10', str('2')), kv('2', intValue(3)), kv('01', str('4')), kv('4294967295', str('5')), kv('4294967294', str('6')), kv('-1', str('7'))]))],
    ['__proto__ and other prototype names as keys', requestWith(withAttributes(span(1), 9, [kv('__proto__', str('p')), kv('constructor', intValue(1)), kv('toString', str('t'))]))],
    ['200 attributes and 100 kinds (counts over 127)', requestWith(withAttributes(span(1), 9, big))],
    ['strings of 64, 65, 127, 128, 16384 bytes', requestWith(span(1, 'n'.repeat(64)).field(3, 't'.repeat(65)), withAttributes(span(2, 'é'.repeat(64)), 9, [kv('k'.repeat(127), str('v'.repeat(128))), kv('big', str('w'.repeat(16384)))]))],
    [
      'events and links of every shape',
      requestWith(
        span(1)
          .field(11, withAttributes(new WireWriter().tag(1, WIRE.I64).fixed64(NOW_NS).field(2, 'e1').varintField(4, 2), 3, [kv('a', str('x')), kv('n', intValue(3))]))
          .field(11, new WireWriter())
          .field(11, withAttributes(new WireWriter().field(2, 'e3'), 3, [kv('d', doubleValue(2.5))]))
          .varintField(12, 4)
          .field(13, withAttributes(new WireWriter().field(1, hexBytes(traceIdOf(7))).field(2, hexBytes(spanIdOf(7))).field(3, 'ts').tag(6, WIRE.I32).fixed32(0x101).varintField(5, 3), 4, [kv('l', str('y')), kv('b', boolValue(false))]))
          .field(13, new WireWriter().field(1, new Uint8Array(16)).field(2, new Uint8Array(8)))
          .field(13, new WireWriter())
          .varintField(14, 5),
      ),
    ],
    [
      'many empty events, links and KeyValues (rows far larger than the request)',
      requestWith(
        withAttributes(span(1), 9, Array.from({ length: 100 }, (_, i) => kv(`k${i}`))),
        ...Array.from({ length: 3 }, (_, n) => {
          const s = span(2 + n);
          for (let i = 0; i < 200; i++) s.field(11, new WireWriter());
          for (let i = 0; i < 60; i++) s.field(13, i % 2 === 0 ? new WireWriter() : withAttributes(new WireWriter(), 4, [kv('e')]));
          return s;
        }),
      ),
    ],
    ['an event time of 2^63', requestWith(span(1), span(2).field(11, new WireWriter().tag(1, WIRE.I64).fixed64(1n << 63n)))],
    ['an event time just under 2^63', requestWith(span(1).field(11, new WireWriter().tag(1, WIRE.I64).fixed64((1n << 63n) - 1n)))],
    ['a start after 2106', requestWith(span(1), minimalSpan().tag(7, WIRE.I64).fixed64(4_294_967_296n * 1_000_000_000n), minimalSpan().tag(7, WIRE.I64).fixed64(4_294_967_296n * 1_000_000_000n - 1n))],
    [
      'bad IDs',
      requestWith(
        span(1),
        new WireWriter().field(1, hexBytes(traceIdOf(1)).subarray(0, 8)).field(2, hexBytes(spanIdOf(1))),
        new WireWriter().field(1, new Uint8Array(16)).field(2, hexBytes(spanIdOf(1))),
        new WireWriter().field(1, hexBytes(traceIdOf(1))).field(2, new Uint8Array(8)),
        new WireWriter().field(1, hexBytes(traceIdOf(1))),
        span(2).field(4, hexBytes(spanIdOf(1)).subarray(0, 4)),
        span(3).field(4, new Uint8Array(8)),
        span(4).field(13, new WireWriter().field(1, hexBytes(traceIdOf(1)).subarray(0, 4))),
        span(5).field(13, new WireWriter().field(2, hexBytes(spanIdOf(1)).subarray(0, 3))),
        span(6),
      ),
    ],
    [
      'fields out of order, the resource and scope after their spans',
      new WireWriter()
        .field(1, new WireWriter().field(3, 'rs').field(2, new WireWriter().field(3, 'ss').field(2, withAttributes(span(1), 9, [kv('b', intValue(1))]).field(1, hexBytes(traceIdOf(2)))).field(1, new WireWriter().field(2, 'v').field(1, 'late'))).field(1, service('late-svc', kv('r', doubleValue(3)))))
        .finish(),
    ],
    [
      'repeated resources and scopes merge',
      new WireWriter()
        .field(1, new WireWriter().field(1, service('first')).field(2, new WireWriter().field(1, new WireWriter().field(1, 'a')).field(2, span(1)).field(1, new WireWriter().field(2, 'v2'))).field(1, service('second', kv('x', intValue(1)))))
        .finish(),
    ],
    ['repeated singular fields (last wins)', requestWith(span(1).field(5, 'again').field(3, 'a').field(3, 'b').field(15, new WireWriter().varintField(3, 2)).field(15, new WireWriter().field(2, 'merged')).field(1, hexBytes(traceIdOf(5))).varintField(6, 1).varintField(6, 3))],
    [
      'KeyValues and AnyValues of unusual shape',
      requestWith(
        withAttributes(span(1), 9, [
          new WireWriter().field(2, str('value first')).field(1, 'vf'),
          new WireWriter().field(1, 'unknown.field').varintField(7, 1).field(2, str('x')),
          new WireWriter().field(1, 'two.keys').field(1, 'second.key').field(2, str('y')),
          new WireWriter().field(1, 'two.values').field(2, intValue(1)).field(2, str('z')),
          kv('string.then.int', str('s').varintField(3, 5)),
          kv('int.then.string', intValue(5).field(1, 's')),
          kv('unknown.in.value', str('s').varintField(9, 1)),
        ]),
      ),
    ],
    [
      'unknown fields of every wire type at every level',
      (() => {
        const unknown = (w: WireWriter) => w.varintField(100, 1).tag(101, WIRE.I64).fixed64(1n).field(102, 'u').tag(103, WIRE.I32).fixed32(7).tag(104, WIRE.SGROUP).varintField(1, 1).tag(104, WIRE.EGROUP);
        const sp = unknown(withAttributes(span(1), 9, [kv('a', str('x'))]).field(11, unknown(new WireWriter().field(2, 'e'))).field(13, unknown(new WireWriter())));
        return unknown(new WireWriter().field(1, unknown(new WireWriter().field(1, unknown(service('svc'))).field(2, unknown(new WireWriter().field(1, unknown(new WireWriter().field(1, 's'))).field(2, sp)))))).finish();
      })(),
    ],
    ['a valid U+FFFD and non-ASCII strings', requestWith(withAttributes(span(1, FFFD), 9, [kv(FFFD, str(FFFD)), kv('ü', str('ü'.repeat(40)))]))],
    [
      'several resources and scopes, some rejected whole',
      request([
        { resource: service('a'), scopes: [{ scope: new WireWriter().field(1, 's1'), spans: [span(1), span(2)] }, { scope: new WireWriter().field(1, INVALID), spans: [span(3), new WireWriter(), span(4)] }] },
        { resource: service('b', kv('bad', str(INVALID))), scopes: [{ spans: [span(5), new WireWriter().field(1, new Uint8Array(3))] }, { spans: [span(6)] }] },
        { resource: service('c'), scopes: [{ spans: [span(7)] }] },
      ]),
    ],
    ['more rejections than the message spells out', requestWith(...Array.from({ length: 9 }, (_, i) => new WireWriter().field(1, new Uint8Array(i + 1))), span(1))],
  ];
  // Age limits: the default and retention rules.
  const ages = requestWith(
    span(1),
    minimalSpan(traceIdOf(2), spanIdOf(2)).field(5, 'old').tag(7, WIRE.I64).fixed64(NOW_NS - 10n * DAY_NS),
    minimalSpan(traceIdOf(3), spanIdOf(3)).field(5, 'old error').tag(7, WIRE.I64).fixed64(NOW_NS - 10n * DAY_NS).field(15, new WireWriter().varintField(3, 2)),
    withAttributes(minimalSpan(traceIdOf(4), spanIdOf(4)).field(5, 'method').varintField(6, 1).tag(7, WIRE.I64).fixed64(NOW_NS - 3n * DAY_NS), 9, [kv('code.function.name', str('f'))]),
    minimalSpan(traceIdOf(5), spanIdOf(5)).tag(7, WIRE.I64).fixed64(NOW_NS - 3n * DAY_NS),
  );
  cases.push(['too old (retention_days)', ages, { retentionDays: 7, now: () => NOW_MS }]);
  cases.push([
    'too old (retention rules)',
    ages,
    {
      retention: {
        defaultDays: 7,
        rules: [
          { name: 'errors', match: { status: 'error' }, days: 30 },
          { name: 'methods', match: { methodSpans: true }, days: 2 },
        ],
      },
      now: () => NOW_MS,
    },
  ]);
  // A resource after its spans, with rules by service (the decoder then reads it ahead).
  const late = (schemaFirst: boolean) => {
    const rs = new WireWriter();
    if (schemaFirst) rs.field(3, INVALID);
    rs.field(2, new WireWriter().field(2, minimalSpan(traceIdOf(2), spanIdOf(2)).tag(7, WIRE.I64).fixed64(NOW_NS - 10n * DAY_NS)).field(2, span(3)));
    rs.field(1, service('payments', kv('bad', str(INVALID))));
    if (!schemaFirst) rs.field(3, INVALID);
    return new WireWriter().field(1, rs).field(1, new WireWriter().field(2, new WireWriter().field(2, minimalSpan(traceIdOf(4), spanIdOf(4)).tag(7, WIRE.I64).fixed64(NOW_NS - 10n * DAY_NS))).field(1, service('payments'))).finish();
  };
  const byService = { retention: { defaultDays: 7, rules: [{ name: 'payments', match: { services: ['payments'] }, days: 30 }] }, now: () => NOW_MS };
  cases.push(['a resource after its spans, rules by service', late(false), byService]);
  cases.push(['a resource after its spans, rules by service, an invalid schema URL first', late(true), byService]);
  cases.push(['a resource after its spans, no rules by service', late(true), { retentionDays: 7, now: () => NOW_MS }]);
  // Attribute values over the size limit, everywhere they can be.
  const truncated = request([
    {
      resource: service(long, kv('r', str(long)), kv('r.arr', arrayValue(...Array.from({ length: 80 }, () => str('abcd'))))),
      scopes: [
        {
          scope: withAttributes(new WireWriter().field(1, 's'), 3, [kv('sc', str(longUtf8))]),
          spans: [
            withAttributes(span(1), 9, [kv('a', str(long)), kv('b', str(longUtf8)), kv('c', bytesValue(new Uint8Array(300))), kv('flowtrace.truncated.a', str('x')), kv('short', str('s'))])
              .field(11, withAttributes(new WireWriter().field(2, 'e'), 3, [kv('e', str(long))]))
              .field(13, withAttributes(new WireWriter(), 4, [kv('l', str(long))])),
            span(2),
            withAttributes(span(3), 9, [kv('exactly', str('y'.repeat(256))), kv('one.more', str('y'.repeat(257)))]),
          ],
        },
        { spans: [span(4)] },
      ],
    },
    { resource: service('other'), scopes: [{ spans: [withAttributes(span(5), 9, [kv('z', str(long))])] }] },
  ]);
  cases.push(['values over the size limit', truncated, { maxAttributeValueBytes: 256 }]);
  cases.push(['values over the size limit, the resource\'s first kept span in a rejected scope', request([
    { resource: service('t', kv('r', str(long))), scopes: [{ scope: new WireWriter().field(1, INVALID), spans: [span(1)] }, { spans: [span(2)] }] },
  ]), { maxAttributeValueBytes: 256 }]);
  for (const [name, bytes] of [['invalid byte', INVALID], ['encoded surrogate', SURROGATE], ['overlong', OVERLONG], ['cut character', CUT]] as const) {
    stringFieldCases(bytes).forEach((b, i) => cases.push([`${name} in string field case ${i}`, b]));
  }
  return cases;
}

describe('transcodeTraceRequest: hand-written requests', () => {
  for (const [name, bytes, options] of handCases()) {
    it(name, () => {
      expect(check(bytes, options)).toBe('ok');
    });
  }

  it('takes the usual span the fast way and only the unusual ones through the decoder', () => {
    const usual = requestWith(...Array.from({ length: 20 }, (_, i) => withAttributes(span(i), 9, [kv('a', str('x')), kv('n', intValue(i)), kv('d', doubleValue(i / 3))])));
    expect(paths(() => check(usual))).toStrictEqual({ fast: 20, slow: 0, whole: 0 });
    const unusual = requestWith(span(1), withAttributes(span(2), 9, [kv('k', str('1')), kv('k', str('2'))]), withAttributes(span(3), 9, [kv('7', str('x'))]), new WireWriter());
    expect(paths(() => check(unusual))).toStrictEqual({ fast: 1, slow: 3, whole: 0 });
  });
});

describe('transcodeTraceRequest: requests from the official SDK serializer', () => {
  it('the fixtures: SDK spans and a hand span with every value kind', async () => {
    const hand = handSpan({
      traceId: traceIdOf(9),
      spanId: spanIdOf(9),
      parentSpanId: spanIdOf(8),
      kind: SpanKind.SERVER,
      resource: HAND_RESOURCE,
      scope: HAND_SCOPE,
      attributes: anyAttributes({ ...ALL_ANY_VALUE_KINDS, ...NON_FINITE_DOUBLES }),
      events: [{ name: 'e', time: at(5), attributes: anyAttributes({ kv: { a: [1, 'x'] } }) }],
      links: [{ context: LINKED_REMOTE, attributes: anyAttributes({ b: new Uint8Array([1]) }) }, { context: LINKED_LOCAL }],
    });
    const remote = handSpan({ traceId: REMOTE_PARENT.traceId, spanId: spanIdOf(3), parentSpanId: REMOTE_PARENT.spanId, kind: SpanKind.CLIENT, resource: HAND_RESOURCE, scope: HAND_SCOPE });
    expect(check(encodeProtobuf(await sdkSpans()))).toBe('ok');
    expect(check(encodeProtobuf([hand, remote]))).toBe('ok');
  });

  it('the hot-path benchmark\'s kind of request (15 attributes, events, several traces)', () => {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'orders', 'service.version': '2.3.1', 'process.pid': 1234 }),
      spanProcessors: [new SimpleSpanProcessor(memory)],
    });
    const tracer = provider.getTracer('bench', '1.0.0');
    for (let t = 0; t < 6; t++) {
      const root = tracer.startSpan('GET /api/orders/:id', { kind: SpanKind.SERVER });
      const ctx = trace.setSpan(context.active(), root);
      for (let i = 1; i < 8; i++) {
        const child = tracer.startSpan(`OrderService.step${i}`, {
          attributes: {
            'http.request.method': 'GET', 'http.route': '/api/orders/:id', 'url.path': `/api/orders/${t}`, 'http.response.status_code': 200,
            'server.port': 8080, 'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64) bench', 'code.line.number': 100 + i,
            'flowtrace.args.0': JSON.stringify({ id: t, expand: ['items'] }), 'cache.hit': i % 2 === 0, ratio: i / 7, tags: ['a', 'b'],
          },
        }, ctx);
        if (i === 3) child.addEvent('retry', { attempt: 2 });
        if (i === 5) child.recordException(new Error('boom'));
        child.end();
      }
      root.end();
    }
    const bytes = encodeProtobuf(memory.getFinishedSpans());
    const counted = paths(() => expect(check(bytes)).toBe('ok'));
    expect(counted).toStrictEqual({ fast: 48, slow: 0, whole: 0 });
  });
});

describe('transcodeTraceRequest: the load generator', () => {
  it('many requests, several seeds and service counts', () => {
    let spans = 0;
    for (const [seed, services] of [[1, 3], [2, 40], [3, 1000]] as const) {
      const generator = new LoadGenerator({ services, spansPerRequest: 120, spreadNs: 3_600_000_000_000n, runId: `run-${seed}`, templates: 4, random: seededRandom(seed), nowNs: () => NOW_NS });
      for (let i = 0; i < 12; i++) {
        const request = generator.next();
        expect(check(request.bytes, { retentionDays: 7, now: () => NOW_MS })).toBe('ok');
        spans += request.spans;
      }
    }
    expect(spans).toBeGreaterThan(4000);
  });
});

describe('transcodeTraceRequest: malformed and mutated requests', () => {
  let corpus: Uint8Array[];

  beforeAll(async () => {
    const hand = handSpan({
      traceId: traceIdOf(9),
      spanId: spanIdOf(9),
      kind: SpanKind.SERVER,
      resource: HAND_RESOURCE,
      scope: HAND_SCOPE,
      attributes: anyAttributes({ ...ALL_ANY_VALUE_KINDS, 's.1': 'x', 's.2': 'yy' }),
      events: [{ name: 'e', time: at(5), attributes: anyAttributes({ kv: { a: [1, 'x'] }, t: 'text' }) }],
      links: [{ context: LINKED_REMOTE, attributes: anyAttributes({ b: new Uint8Array([1]), c: 'str' }) }],
    });
    corpus = [encodeProtobuf(await sdkSpans()), encodeProtobuf([hand]), randomRequest(seededRandom(5), 3)];
  });

  it('every truncation of a valid request', () => {
    const outcomes = { ok: 0, error: 0 };
    for (const bytes of corpus.slice(1)) for (let length = 0; length < bytes.length; length++) outcomes[check(bytes.subarray(0, length))]++;
    expect(outcomes.ok).toBeGreaterThan(0);
    expect(outcomes.error).toBeGreaterThan(1000);
  });

  it('3,000 random mutations: the same rows, rejections or error', () => {
    const random = seededRandom(20261206);
    const pick = (n: number) => Math.floor(random() * n);
    const outcomes = { ok: 0, error: 0 };
    for (let iteration = 0; iteration < 3_000; iteration++) {
      let bytes = Array.from(corpus[pick(corpus.length)]!);
      const mutations = 1 + pick(3);
      for (let m = 0; m < mutations && bytes.length > 0; m++) {
        const at = pick(bytes.length);
        switch (pick(6)) {
          case 0:
            bytes[at] ^= 1 << pick(8);
            break;
          case 1:
            bytes[at] = pick(256);
            break;
          case 2:
            bytes[at] = 0x80 + pick(128); // a high byte: invalid UTF-8 in a string, often
            break;
          case 3:
            bytes.splice(at, 1 + pick(4));
            break;
          case 4:
            bytes.splice(at, 0, ...Array.from({ length: 1 + pick(4) }, () => pick(256)));
            break;
          default:
            bytes.splice(pick(bytes.length), 0, ...bytes.slice(at, at + 1 + pick(32)));
        }
      }
      outcomes[check(Uint8Array.from(bytes), iteration % 3 === 0 ? { retentionDays: 7, now: () => NOW_MS } : undefined)]++;
    }
    expect(outcomes.ok).toBeGreaterThan(500);
    expect(outcomes.error).toBeGreaterThan(500);
  });
});

// ---------------------------------------------------------------------------------------
// Random span objects, encoded by the OTLP exporter's encoder

const KEYS = ['http.method', 'http.route', 'db.statement', 'a', 'ü.key', '', '7', '12', '__proto__', 'service.name', 'k.with.a.rather.long.name.that.goes.on.and.on.and.on', 'flowtrace.truncated.a'];
const TEXTS = ['', 'x', 'GET', '/api/orders/:id', 'naïve café', '日本語', '🎉 emoji', 'quote " and \\ back', '<&>', 'a'.repeat(70), 'é'.repeat(100), 'z'.repeat(300)];

function randomValue(random: () => number): [string, ValueKind | undefined] {
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  switch (Math.floor(random() * 10)) {
    case 0:
      return [String(Math.floor(random() * 2e6) - 1e6), 'int'];
    case 1:
      return [random() < 0.5 ? 'true' : 'false', 'bool'];
    case 2:
      return [String(random() * 1000), 'double'];
    case 3:
      return [Buffer.from(pick(TEXTS)).toString('base64'), 'bytes'];
    case 4:
      return [JSON.stringify([pick(TEXTS).slice(0, 20), 1]), 'array'];
    case 5:
      return [JSON.stringify({ a: pick(TEXTS).slice(0, 20), b: 2 }), 'kvlist'];
    case 6:
      return ['', 'empty'];
    default:
      return [pick(TEXTS), undefined];
  }
}

function randomAttributes(random: () => number, max: number): { attributes: Attributes; attributeKinds?: AttributeKinds } {
  const attributes: Attributes = {};
  let kinds: AttributeKinds | undefined;
  const n = Math.floor(random() * max);
  for (let i = 0; i < n; i++) {
    const key = random() < 0.7 ? `attr.${Math.floor(random() * 30)}` : KEYS[Math.floor(random() * KEYS.length)]!;
    const [value, kind] = randomValue(random);
    Object.defineProperty(attributes, key, { value, enumerable: true, writable: true, configurable: true });
    if (kinds !== undefined && Object.hasOwn(kinds, key)) delete kinds[key];
    if (kind !== undefined) Object.defineProperty((kinds ??= {}), key, { value: kind, enumerable: true, writable: true, configurable: true });
  }
  return kinds === undefined ? { attributes } : { attributes, attributeKinds: kinds };
}

function randomHex(random: () => number, bytes: number): string {
  let out = '';
  for (let i = 0; i < bytes; i++) out += Math.floor(random() * 256).toString(16).padStart(2, '0');
  return out;
}

function randomSpans(random: () => number, count: number): Span[] {
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const resources: Resource[] = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, i) => {
    const { attributes, attributeKinds } = randomAttributes(random, 6);
    attributes['service.name'] = random() < 0.9 ? `svc-${i}` : pick(TEXTS);
    // A string now (the OTLP encoder sends a `bytes` kind over a value that is not base64 malformed).
    if (attributeKinds !== undefined) delete attributeKinds['service.name'];
    const resource: Resource = { attributes, droppedAttributesCount: Math.floor(random() * 3), schemaUrl: random() < 0.5 ? '' : 'https://schema/1', serviceName: attributes['service.name'] };
    if (attributeKinds !== undefined) resource.attributeKinds = attributeKinds;
    return resource;
  });
  const scopes: InstrumentationScope[] = Array.from({ length: 1 + Math.floor(random() * 3) }, () => {
    const { attributes, attributeKinds } = randomAttributes(random, 3);
    const scope: InstrumentationScope = { name: pick(TEXTS), version: pick(['', '1.0.0']), attributes, droppedAttributesCount: Math.floor(random() * 2), schemaUrl: pick(['', 's']) };
    if (attributeKinds !== undefined) scope.attributeKinds = attributeKinds;
    return scope;
  });
  const traceIds = Array.from({ length: 3 }, () => randomHex(random, 16));
  return Array.from({ length: count }, () => {
    const start = random() < 0.05 ? 0n : NOW_NS - BigInt(Math.floor(random() * 12)) * DAY_NS + BigInt(Math.floor(random() * 1e9));
    const end = random() < 0.1 ? start - BigInt(Math.floor(random() * 1e6)) : random() < 0.05 ? 0n : start + BigInt(Math.floor(random() * 1e9));
    const events: SpanEvent[] = Array.from({ length: random() < 0.7 ? 0 : 1 + Math.floor(random() * 3) }, () => ({
      timeUnixNano: random() < 0.03 ? (1n << 63n) + 5n : start + 100n,
      name: pick(TEXTS),
      droppedAttributesCount: Math.floor(random() * 2),
      ...randomAttributes(random, 4),
    }));
    const links: SpanLink[] = Array.from({ length: random() < 0.8 ? 0 : 1 + Math.floor(random() * 2) }, () => ({
      traceId: random() < 0.2 ? '' : randomHex(random, 16),
      spanId: random() < 0.2 ? '' : randomHex(random, 8),
      traceState: pick(['', 'k=v']),
      flags: random() < 0.5 ? 0 : 0x301,
      droppedAttributesCount: Math.floor(random() * 2),
      ...randomAttributes(random, 3),
    }));
    const span: Span = {
      resource: pick(resources),
      scope: pick(scopes),
      traceId: pick(traceIds),
      spanId: randomHex(random, 8),
      parentSpanId: random() < 0.3 ? '' : randomHex(random, 8),
      traceState: pick(['', 'rojo=00f067aa0ba902b7', pick(TEXTS)]),
      flags: random() < 0.5 ? 1 : 0x301,
      name: pick(TEXTS),
      kind: Math.floor(random() * 7),
      startTimeUnixNano: start,
      endTimeUnixNano: end,
      ...randomAttributes(random, 20),
      droppedAttributesCount: Math.floor(random() * 3),
      events,
      droppedEventsCount: Math.floor(random() * 2),
      links,
      droppedLinksCount: Math.floor(random() * 2),
      statusCode: Math.floor(random() * 4),
      statusMessage: random() < 0.8 ? '' : pick(TEXTS),
    };
    return span;
  });
}

function randomRequest(random: () => number, count: number): Uint8Array {
  return Uint8Array.from(encodeTraceRequest(randomSpans(random, count)));
}

const OPTIONS: Array<DecodeOptions | undefined> = [
  undefined,
  { retentionDays: 7, now: () => NOW_MS },
  { maxAttributeValueBytes: 256 },
  { retention: { defaultDays: 5, rules: [{ name: 'errors', match: { status: 'error' }, days: 30 }] }, now: () => NOW_MS },
];

describe('transcodeTraceRequest: 2,000 random requests from random span objects (seeded)', () => {
  it('gives the same rows, rejections and truncations as decode + encode', () => {
    const random = seededRandom(15);
    const counted = paths(() => {
      for (let i = 0; i < 2_000; i++) {
        const spans = randomSpans(random, 1 + Math.floor(random() * 12));
        const bytes = Uint8Array.from(encodeTraceRequest(spans));
        const options = OPTIONS[i % OPTIONS.length];
        expect(check(bytes, options)).toBe('ok');
      }
    });
    // Both paths carried real traffic, so both were compared.
    expect(counted.fast).toBeGreaterThan(2_000);
    expect(counted.slow).toBeGreaterThan(1_000);
  });
});
