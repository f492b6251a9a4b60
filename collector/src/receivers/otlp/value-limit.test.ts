import { describe, expect, it } from 'vitest';
import type { Span } from '../../model/span.js';
import { decodeTraceRequestJson } from './json-decoder.js';
import { anyAttributes, encodeJson, encodeProtobuf, handResource, handSpan, LINKED_REMOTE, spanIdOf, T0, traceIdOf } from './otlp-fixtures.js';
import { decodeTraceRequest } from './proto-decoder.js';
import { decodeTraceRequestInSlices } from './sliced-decoder.js';
import { cutToUtf8Bytes, DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES, TRUNCATED_LENGTH_PREFIX, TRUNCATION_MARK, truncateValue } from './value-limit.js';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

describe('truncateValue', () => {
  it('leaves values at or under the limit alone', () => {
    expect(truncateValue('x'.repeat(1000), 1000)).toBeUndefined();
    expect(truncateValue('é'.repeat(500), 1000)).toBeUndefined(); // 1000 bytes exactly
  });

  it('cuts a value one byte over to the limit, ending in the marker, and reports the original length', () => {
    const cut = truncateValue('x'.repeat(1001), 1000)!;
    expect(bytes(cut.value)).toBe(1000);
    expect(cut.value.endsWith(TRUNCATION_MARK)).toBe(true);
    expect(cut.value).toBe('x'.repeat(1000 - bytes(TRUNCATION_MARK)) + TRUNCATION_MARK);
    expect(cut.originalBytes).toBe(1001);
  });

  it('never splits a multi-byte character (2, 3 and 4 bytes)', () => {
    for (const ch of ['é', '日', '😀']) {
      for (const limit of [256, 257, 258, 259, 260]) {
        const value = 'a' + ch.repeat(400);
        const cut = truncateValue(value, limit)!;
        expect(bytes(cut.value)).toBeLessThanOrEqual(limit);
        expect(bytes(cut.value)).toBeGreaterThan(limit - bytes(TRUNCATION_MARK) - 4);
        const body = cut.value.slice(0, -TRUNCATION_MARK.length);
        expect(value.startsWith(body)).toBe(true);
        expect(Buffer.from(body, 'utf8').toString('utf8')).toBe(body); // no lone surrogate / replacement
        expect(body).not.toContain('\ufffd');
        expect(cut.originalBytes).toBe(bytes(value));
      }
    }
  });

  it('cutToUtf8Bytes keeps whole characters only', () => {
    expect(cutToUtf8Bytes('日本', 5)).toBe('日');
    expect(cutToUtf8Bytes('日本', 6)).toBe('日本');
    expect(cutToUtf8Bytes('😀', 3)).toBe('');
  });
});

const BIG = 100 * 1024;

/** One span with an over-limit value at every level, plus normal values that must stay as sent. */
function bigSpans() {
  const resource = handResource({ 'service.name': 'big-svc', 'resource.blob': 'r'.repeat(BIG), 'resource.small': 'ok' });
  const scope = { name: 'scope', attributes: anyAttributes({ 'scope.blob': 's'.repeat(BIG) }) };
  return [
    handSpan({
      traceId: traceIdOf(1),
      spanId: spanIdOf(1),
      resource,
      scope,
      attributes: anyAttributes({
        'db.statement': '日'.repeat(BIG),
        'list.big': ['x'.repeat(BIG)],
        'http.route': '/small',
        count: 7,
      }),
      events: [{ name: 'ev', time: T0, attributes: anyAttributes({ 'event.blob': 'e'.repeat(BIG) }) }],
      links: [{ context: LINKED_REMOTE, attributes: anyAttributes({ 'link.blob': 'l'.repeat(BIG) }) }],
    }),
  ];
}

function expectTruncated(attributes: Record<string, string>, key: string, originalBytes: number, limit = DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES) {
  expect(bytes(attributes[key]!)).toBeLessThanOrEqual(limit);
  expect(bytes(attributes[key]!)).toBeGreaterThan(limit - 8);
  expect(attributes[key]!.endsWith(TRUNCATION_MARK)).toBe(true);
  expect(attributes[TRUNCATED_LENGTH_PREFIX + key]).toBe(String(originalBytes));
}

function checkDecoded(spans: Span[]) {
  expect(spans).toHaveLength(1);
  const span = spans[0]!;
  expectTruncated(span.resource.attributes, 'resource.blob', BIG);
  expect(span.resource.attributeKinds?.[TRUNCATED_LENGTH_PREFIX + 'resource.blob']).toBe('int');
  expect(span.resource.attributes['resource.small']).toBe('ok');
  expectTruncated(span.scope.attributes, 'scope.blob', BIG);
  expectTruncated(span.attributes, 'db.statement', BIG * 3);
  // An array cut is no valid JSON any more: it becomes a string, its original JSON length recorded.
  expectTruncated(span.attributes, 'list.big', BIG + 4);
  expect(span.attributeKinds?.['list.big']).toBeUndefined();
  expect(span.attributeKinds?.[TRUNCATED_LENGTH_PREFIX + 'list.big']).toBe('int');
  expect(span.attributeKinds?.count).toBe('int');
  expect(span.attributes['http.route']).toBe('/small');
  expectTruncated(span.events[0]!.attributes, 'event.blob', BIG);
  expectTruncated(span.links[0]!.attributes, 'link.blob', BIG);
}

describe('both decoders truncate over-limit values at every level', () => {
  it('protobuf', () => {
    const decoded = decodeTraceRequest(encodeProtobuf(bigSpans()));
    checkDecoded(decoded.spans);
    expect(decoded.truncations).toEqual([{ service: 'big-svc', values: 6 }]);
    expect(decoded.rejectedSpans).toBe(0);
  });

  it('JSON', () => {
    const decoded = decodeTraceRequestJson(encodeJson(bigSpans()));
    checkDecoded(decoded.spans);
    expect(decoded.truncations).toEqual([{ service: 'big-svc', values: 6 }]);
  });

  it('protobuf in slices', async () => {
    const decoded = await decodeTraceRequestInSlices(encodeProtobuf(bigSpans()), 1024);
    checkDecoded(decoded.spans);
    expect(decoded.truncations).toEqual([{ service: 'big-svc', values: 6 }]);
  });

  it('honours a configured limit and reports nothing when every value fits', () => {
    const small = decodeTraceRequest(encodeProtobuf(bigSpans()), { maxAttributeValueBytes: 1024 });
    expectTruncated(small.spans[0]!.attributes, 'db.statement', BIG * 3, 1024);
    const roomy = decodeTraceRequest(encodeProtobuf(bigSpans()), { maxAttributeValueBytes: 1024 * 1024 });
    expect(roomy.truncations).toBeUndefined();
    expect(roomy.spans[0]!.attributes['db.statement']).toBe('日'.repeat(BIG));
    expect(roomy.spans[0]!.attributeKinds?.['list.big']).toBe('array');
  });
});
