import { describe, expect, it } from 'vitest';
import { KvlistJsonBuilder, compareCodePoints, doubleAsJson, doubleAsString, quoteJsonString } from './value-format.js';

describe('doubleAsString (pdata float64AsString)', () => {
  // Expected strings are what Go's strconv.AppendFloat gives with pdata's 'f'/'e' switch.
  it.each([
    [0, '0'],
    [-0, '-0'],
    [1, '1'],
    [-1.5, '-1.5'],
    [0.1 + 0.2, '0.30000000000000004'],
    [123456789.123, '123456789.123'],
    [0.000001, '0.000001'],
    [9.99999999999999e-7, '9.99999999999999e-7'],
    [1e-7, '1e-7'],
    [1.5e-300, '1.5e-300'],
    [5e-324, '5e-324'],
    [1e20, '100000000000000000000'],
    [999999999999999900000, '999999999999999900000'],
    [1e21, '1e+21'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [NaN, 'json: unsupported value: NaN'],
    [Infinity, 'json: unsupported value: +Inf'],
    [-Infinity, 'json: unsupported value: -Inf'],
  ])('%s → %s', (value, text) => {
    expect(doubleAsString(value)).toBe(text);
  });

  it('has no JSON form for NaN and infinities (json.Marshal fails)', () => {
    expect(doubleAsJson(NaN)).toBeUndefined();
    expect(doubleAsJson(-Infinity)).toBeUndefined();
    expect(doubleAsJson(-0)).toBe('-0');
    expect(doubleAsJson(2.5)).toBe('2.5');
  });
});

describe('quoteJsonString (encoding/json string escaping)', () => {
  it.each([
    ['plain', '"plain"'],
    ['', '""'],
    ['quote " and backslash \\', '"quote \\" and backslash \\\\"'],
    ['<script>&</script>', '"\\u003cscript\\u003e\\u0026\\u003c/script\\u003e"'],
    ['\b\f\n\r\t', '"\\b\\f\\n\\r\\t"'],
    ['\u0000\u0001\u001f\u007f', '"\\u0000\\u0001\\u001f\u007f"'],
    ['\u2028\u2029', '"\\u2028\\u2029"'],
    ['žluť 🐴 中', '"žluť 🐴 中"'],
    ['lone \ud83d surrogate', '"lone \\ufffd surrogate"'],
    ['reversed \udc34\ud83d pair', '"reversed \\ufffd\\ufffd pair"'],
  ])('%j', (input, quoted) => {
    expect(quoteJsonString(input)).toBe(quoted);
  });
});

describe('kvlist JSON (json.Marshal of map[string]any)', () => {
  it('sorts keys by UTF-8 bytes and keeps the last value of a repeated key', () => {
    expect(['😀', '\ue000', 'é', 'z', 'Z', 'a', 'ab', ''].sort(compareCodePoints)).toEqual(['', 'Z', 'a', 'ab', 'z', 'é', '\ue000', '😀']);
    const builder = new KvlistJsonBuilder();
    builder.set('b', '1');
    builder.set('a', '2');
    builder.set('b', '3');
    expect(builder.finish()).toBe('{"a":2,"b":3}');
  });

  it('fails as a whole when a remaining value cannot be encoded', () => {
    const builder = new KvlistJsonBuilder();
    builder.set('a', undefined);
    expect(builder.finish()).toBeUndefined();
    builder.set('a', 'null');
    expect(builder.finish()).toBe('{"a":null}');
  });
});
