import { describe, expect, it } from 'vitest';
import { span, TRACE_A } from '../../analysis/trace-fixture.testing.js';
import { anyValue, checkOtlpJson, NotOtlpJsonError, splitRequest, toOtlpJson } from './otlp-json.js';

describe('toOtlpJson', () => {
  const a = span('a1', '', 0, 10, { kind: 'Server', service: 'api', attributes: { 'http.status_code': 200, ratio: 2, big: '9007199254740993', ok: true, tags: ['x', 1, 1.5] } });
  const b = span('b1', 'a1', 1, 2, { service: 'api', error: 'boom' });
  const c = span('c1', 'a1', 3, 4, { service: 'db', kind: 'Client' });
  b.links = [{ traceId: 'f'.repeat(32), spanId: 'e'.repeat(16), traceState: 'k=v', flags: 1, attributes: { n: 3 }, droppedAttributesCount: 1 }];
  const kinds = new Map<string, Record<string, string>>([
    ['a1', { 'span:http.status_code': 'int', 'span:ratio': 'double', 'span:big': 'int', 'span:ok': 'bool', 'span:tags': 'array' }],
    ['b1', { 'link.0:n': 'double' }],
    ['c1', {}],
  ]);

  it('groups by resource and scope, keeps IDs, times as strings, kinds and status as numbers', () => {
    const out = toOtlpJson([a, b, c], kinds);
    expect(out.resourceSpans.map((r) => r.resource.attributes)).toEqual([
      [{ key: 'service.name', value: { stringValue: 'api' } }],
      [{ key: 'service.name', value: { stringValue: 'db' } }],
    ]);
    const [root, child] = out.resourceSpans[0]!.scopeSpans[0]!.spans;
    expect(root).toMatchObject({ traceId: TRACE_A, spanId: 'a1', parentSpanId: '', kind: 2, startTimeUnixNano: a.startTimeUnixNano, endTimeUnixNano: a.endTimeUnixNano, status: { code: 0, message: '' } });
    expect(root!.attributes).toEqual([
      { key: 'http.status_code', value: { intValue: '200' } },
      { key: 'ratio', value: { doubleValue: 2 } },
      { key: 'big', value: { intValue: '9007199254740993' } },
      { key: 'ok', value: { boolValue: true } },
      { key: 'tags', value: { arrayValue: { values: [{ stringValue: 'x' }, { intValue: '1' }, { doubleValue: 1.5 }] } } },
    ]);
    expect(child).toMatchObject({ kind: 1, status: { code: 2, message: 'boom' } });
    expect(child!.links).toEqual([{ traceId: 'f'.repeat(32), spanId: 'e'.repeat(16), traceState: 'k=v', flags: 1, attributes: [{ key: 'n', value: { doubleValue: 3 } }], droppedAttributesCount: 1 }]);
    expect(out.resourceSpans[1]!.scopeSpans[0]!.spans[0]!.kind).toBe(3);
  });

  it('guesses from the value when kinds are unknown', () => {
    const out = toOtlpJson([a]);
    expect(out.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.attributes[1]).toEqual({ key: 'ratio', value: { intValue: '2' } });
  });

  it('spells stored non-finite doubles as protobuf JSON does, and empty values as {}', () => {
    expect(anyValue('json: unsupported value: NaN', 'double')).toEqual({ doubleValue: 'NaN' });
    expect(anyValue('json: unsupported value: -Inf', 'double')).toEqual({ doubleValue: '-Infinity' });
    expect(anyValue(null, 'empty')).toEqual({});
    expect(anyValue({ k: [true] }, 'kvlist')).toEqual({ kvlistValue: { values: [{ key: 'k', value: { arrayValue: { values: [{ boolValue: true }] } } }] } });
    expect(anyValue('', 'array')).toEqual({ stringValue: '' });
    expect(anyValue('12', null)).toEqual({ stringValue: '12' });
  });
});

describe('checkOtlpJson', () => {
  it('accepts an export and counts its spans', () => {
    const text = JSON.stringify(toOtlpJson([span('a1', '', 0, 1), span('b1', 'a1', 0, 1)]));
    expect(checkOtlpJson(text).spans).toBe(2);
  });

  it('refuses what is not OTLP JSON, saying where', () => {
    const refused = (text: string) => {
      try {
        checkOtlpJson(text);
      } catch (err) {
        expect(err).toBeInstanceOf(NotOtlpJsonError);
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refused('{"resourceSpans": [')).toMatch(/^not JSON/);
    expect(refused('[1,2]')).toMatch(/expected an object with a "resourceSpans" array/);
    expect(refused('{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"ab","spanId":7,"name":"x"}]}]}]}')).toBe(
      'not OTLP JSON: resourceSpans[0].scopeSpans[0].spans[0] has no string "spanId"',
    );
    expect(refused('{"resourceSpans":[]}')).toBe('the file holds no spans');
  });
});

describe('splitRequest', () => {
  it('cuts into parts of at most n spans, keeping each span with its resource and scope', () => {
    const spans = [span('a1', '', 0, 1, { service: 'x' }), span('a2', '', 0, 1, { service: 'x' }), span('a3', '', 0, 1, { service: 'x' }), span('b1', '', 0, 1, { service: 'y' })];
    const parts = splitRequest(toOtlpJson(spans), 2);
    expect(parts.map((p) => p.resourceSpans.map((r) => [r.resource.attributes[0]!.value.stringValue, r.scopeSpans.flatMap((s) => s.spans.map((x) => x.spanId))]))).toEqual([
      [['x', ['a1', 'a2']]],
      [
        ['x', ['a3']],
        ['y', ['b1']],
      ],
    ]);
  });
});
