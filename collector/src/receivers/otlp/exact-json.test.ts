import { describe, expect, it } from 'vitest';
import { MAX_EXACT_JSON_DEPTH, RoundedFraction, decimalIntegerOf, parseJsonExact, wholeNumberOf } from './exact-json.js';
import { decodeJsonBody } from './json-decoder.js';
import { seededRandom } from './otlp-fixtures.js';

describe('wholeNumberOf: the exact whole number of a JSON number text', () => {
  it.each([
    ['9007199254740993', 9007199254740993n],
    ['-9223372036854775808', -9223372036854775808n],
    ['1.700000000123456789e18', 1700000000123456789n],
    ['17000000001234567890e-1', 1700000000123456789n],
    ['9007199254740993.000', 9007199254740993n],
    ['0.5e1', 5n],
    ['1E+2', 100n],
    ['-0', 0n],
    ['0e999999999999', 0n],
    ['0.000', 0n],
    ['18446744073709551615', 18446744073709551615n],
    ['99999999999999999999', 99999999999999999999n], // 20 digits: still expanded
  ])('%s is %s', (text, expected) => {
    expect(wholeNumberOf(text)).toBe(expected);
  });

  it.each([
    ['1.5', 'fraction'],
    ['9007199254740993.5', 'fraction'],
    ['1e-400', 'fraction'],
    ['1700000000123456789e-1', 'fraction'],
    ['100000000000000000000', 'huge'], // 21 digits fit no 64-bit field
    ['1e999999999999999999999', 'huge'],
    ['1.5e21', 'huge'],
  ])('%s is %s', (text, expected) => {
    expect(wholeNumberOf(text)).toBe(expected);
  });

  it.each(['', ' 1', '1 ', '+1', '01', '1.', '.5', '1e', '0x10', 'NaN', 'Infinity', '1_000'])('%j is not a JSON number', (text) => {
    expect(wholeNumberOf(text)).toBeUndefined();
  });
});

describe('parseJsonExact: numbers', () => {
  it('gives a double exactly when the double is the number (and its wholeness), over random number texts of every shape', () => {
    const random = seededRandom(77);
    const digits = (n: number, pick: () => string) => Array.from({ length: n }, pick).join('');
    const anyDigit = () => String(Math.floor(random() * 10));
    const edgeDigit = () => (random() < 0.5 ? '0' : '9');
    const seen = { double: 0, bigint: 0, rounded: 0 };
    for (let i = 0; i < 50_000; i++) {
      const whole = String(1 + Math.floor(random() * 9)) + digits(Math.floor(random() * 22), anyDigit);
      const fraction = random() < 0.6 ? '.' + digits(1 + Math.floor(random() * 20), random() < 0.5 ? anyDigit : edgeDigit) : '';
      const exponent = random() < 0.2 ? `e${random() < 0.5 ? '-' : ''}${Math.floor(random() * 30)}` : '';
      const text = (random() < 0.3 ? '-' : '') + (random() < 0.2 ? '0' : whole) + fraction + exponent;
      const parsed = parseJsonExact(text);
      const exact = wholeNumberOf(text);
      if (typeof parsed === 'bigint') {
        seen.bigint++;
        expect(parsed, text).toBe(exact);
        expect(Number.isSafeInteger(Number(text)), text).toBe(false);
      } else if (parsed instanceof RoundedFraction) {
        seen.rounded++;
        expect(exact, text).toBe('fraction');
        expect(parsed).toEqual(new RoundedFraction(Number(text), text));
      } else {
        seen.double++;
        expect(parsed, text).toBe(Number(text));
        if (exact !== 'huge') expect(Number.isInteger(parsed), text).toBe(typeof exact === 'bigint');
        if (typeof exact === 'bigint') expect(BigInt(parsed as number), text).toBe(exact); // hence safe
      }
    }
    expect(Math.min(seen.double, seen.bigint, seen.rounded)).toBeGreaterThan(500);
  });
});

/** parseJsonExact's value with its exact numbers turned into what JSON.parse gives. */
function asJsonParseWould(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof RoundedFraction) return value.value;
  if (Array.isArray(value)) return value.map(asJsonParseWould);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) Object.defineProperty(out, k, { value: asJsonParseWould(v), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value;
}

describe('parseJsonExact: JSON.parse with exact numbers', () => {
  it('keeps whole numbers past 2^53 as bigint, marks fractions a double makes whole, and gives doubles otherwise', () => {
    const parsed = parseJsonExact(
      '{"a":9007199254740993,"b":-9223372036854775807,"c":1.700000000123456789e18,"d":0.30000000000000004,"e":1e-400,"f":12,"g":1e400,"h":-0,"i":9007199254740992}',
    ) as Record<string, unknown>;
    expect(parsed.a).toBe(9007199254740993n);
    expect(parsed.b).toBe(-9223372036854775807n);
    expect(parsed.c).toBe(1700000000123456789n);
    expect(parsed.d).toBe(0.30000000000000004);
    expect(parsed.e).toEqual(new RoundedFraction(0, '1e-400'));
    expect(parsed.f).toBe(12);
    expect(parsed.g).toBe(Infinity);
    expect(Object.is(parsed.h, -0)).toBe(true);
    expect(parsed.i).toBe(9007199254740992n); // past 2^53, even where a double holds it
  });

  it.each([
    ['escapes and unicode', String.raw`{"s":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00\ud800x","é":"🐴"}`],
    ['whitespace everywhere', ' \n{ "a" :\t[ 1 , 2.5 , true , false , null , { } , [ ] ] }\r\n'],
    ['duplicate keys (the last wins, in the first place)', '{"a":1,"b":2,"a":3}'],
    ['integer-like keys', '{"b":1,"2":2,"1":3}'],
    ['a __proto__ key (an own property, not the prototype)', '{"__proto__":{"polluted":true},"x":1}'],
    ['top-level scalars', '"x"'],
    ['an empty string key', '{"":0}'],
  ])('builds what JSON.parse builds: %s', (_name, text) => {
    const exact = parseJsonExact(text);
    expect(exact).toStrictEqual(JSON.parse(text));
    if (typeof exact === 'object' && exact !== null) {
      expect(Object.keys(exact)).toEqual(Object.keys(JSON.parse(text) as object));
      expect(Object.getPrototypeOf(exact)).toBe(Object.prototype);
    }
  });

  it.each(['', '{', '[1,]', '{"a":1,}', '{"a" 1}', '{a:1}', "'x'", '"\u0001"', '"\\x"', '"\\u12"', '01', '1.', '+1', '.5', 'tru', 'nul', '[1 2]', '{"a":1}x', '"abc', '-', '1e', 'NaN'])(
    'refuses %j as JSON.parse does',
    (text) => {
      expect(() => JSON.parse(text)).toThrow(SyntaxError);
      expect(() => parseJsonExact(text)).toThrow(SyntaxError);
    },
  );

  it(`refuses nesting deeper than ${MAX_EXACT_JSON_DEPTH} levels with a message, never a stack overflow`, () => {
    expect(() => parseJsonExact('['.repeat(100_000))).toThrow(`JSON nested deeper than ${MAX_EXACT_JSON_DEPTH} levels`);
    expect(parseJsonExact('['.repeat(MAX_EXACT_JSON_DEPTH) + ']'.repeat(MAX_EXACT_JSON_DEPTH))).toBeInstanceOf(Array);
  });

  it('agrees with JSON.parse on 5,000 randomly mutated JSON texts (same values, same refusals)', () => {
    const random = seededRandom(99);
    const base = JSON.stringify({
      resourceSpans: [{ resource: { attributes: [{ key: 'k\n"é', value: { intValue: 12 } }] }, scopeSpans: [{ spans: [{ t: '17', d: -1.25e-3, b: [true, false, null], n: {} }] }] }],
    });
    const alphabet = '{}[]:,"\\0123456789.eE+-tfnu \n';
    let refused = 0;
    for (let i = 0; i < 5_000; i++) {
      let text = base;
      for (let m = 1 + Math.floor(random() * 3); m > 0; m--) {
        const at = Math.floor(random() * text.length);
        const char = alphabet[Math.floor(random() * alphabet.length)]!;
        text = random() < 0.5 ? text.slice(0, at) + char + text.slice(at + 1) : text.slice(0, at) + char + text.slice(at);
      }
      let expected: unknown;
      try {
        expected = JSON.parse(text);
      } catch {
        expect(() => parseJsonExact(text), text).toThrow(SyntaxError);
        refused++;
        continue;
      }
      expect(asJsonParseWould(parseJsonExact(text)), text).toStrictEqual(expected);
    }
    expect(refused).toBeGreaterThan(1000);
    expect(refused).toBeLessThan(4900);
  });
});

/**
 * A body may hold a number of millions of digits. Linear work on each case below takes
 * milliseconds; the quadratic work there was (a regex backtracking over the zeros: ~25 s for
 * 250,000 digits, minutes for these) fails the bound, which is loose on purpose, so that a slow
 * or busy machine never fails it (as in redact/linear-time.test.ts).
 */
describe('number text of any length costs linear time', () => {
  const BOUND_MS = 5_000;
  const N = 1_000_000;
  const zeros = '0'.repeat(N);
  const nines = '9'.repeat(N);
  const withinBound = <T>(work: () => T): T => {
    const t0 = performance.now();
    const result = work();
    expect(performance.now() - t0).toBeLessThan(BOUND_MS);
    return result;
  };

  it.each<[string, string, ReturnType<typeof wholeNumberOf>]>([
    ['1, a million zeros, 1.0', `1${zeros}1.0`, 'huge'],
    ['-1, a million zeros, 1', `-1${zeros}1`, 'huge'],
    ['1. and a million zeros', `1.${zeros}`, 1n],
    ['-7. and a million zeros, e0', `-7.${zeros}e0`, -7n],
    ['0. and a million zeros, 1', `0.${zeros}1`, 'fraction'],
    ['1 and a million zeros, e-1000000', `1${zeros}e-${N}`, 1n],
    ['12, a million zeros, 3e-1000001', `12${zeros}3e-${N + 1}`, 'fraction'],
    ['5e, a million zeros, 1', `5e${zeros}1`, 50n],
    ['1e and a million nines', `1e${nines}`, 'huge'],
    ['1e- and a million nines', `1e-${nines}`, 'fraction'],
    ['0. and a million zeros, e and a million nines', `0.${zeros}e${nines}`, 0n],
  ])('wholeNumberOf(%s) is %s', (_what, text, expected) => {
    expect(withinBound(() => wholeNumberOf(text))).toBe(expected);
  });

  it.each<[string, string, ReturnType<typeof decimalIntegerOf>]>([
    ['a million zeros, 42', `${zeros}42`, 42n],
    ['-, a million zeros, 42', `-${zeros}42`, -42n],
    ['a million zeros', zeros, 0n],
    ['a million zeros, 2^64 - 1', `${zeros}18446744073709551615`, 18446744073709551615n],
    ['a million zeros, 10^20 (21 digits)', `${zeros}100000000000000000000`, 'huge'],
    ['1 and a million zeros', `1${zeros}`, 'huge'],
    ['a million nines', nines, 'huge'],
    ['-2^63', '-9223372036854775808', -9223372036854775808n],
    ['1, a million zeros, .5', `1${zeros}.5`, undefined],
    ['-', '-', undefined],
    ['the empty string', '', undefined],
  ])('decimalIntegerOf(%s) is %s', (_what, text, expected) => {
    expect(withinBound(() => decimalIntegerOf(text))).toBe(expected);
  });

  const span = (extra: string) =>
    `{"resourceSpans":[{"resource":{},"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"x","startTimeUnixNano":9007199254740993,"endTimeUnixNano":9007199254740995${extra}}]}]}]}`;

  it('decodes a body whose unknown field holds a number of a million digits (on the exact path)', () => {
    const body = Buffer.from(span(`,"unknownField":1${zeros}1`));
    const decoded = withinBound(() => decodeJsonBody(body));
    expect(decoded.spans.map((s) => s.startTimeUnixNano)).toEqual([9007199254740993n]);
  });

  it('refuses an intValue string of a million digits ("1000…0001.0") as out of range', () => {
    const body = Buffer.from(`{"resourceSpans":[{"resource":{"attributes":[{"key":"k","value":{"intValue":"1${zeros}1.0"}}]},"scopeSpans":[]}]}`);
    expect(() => withinBound(() => decodeJsonBody(body))).toThrow(/intValue: expected a 64-bit integer/);
  });

  it('takes an int64 string with a million leading zeros as its value, and refuses a million-digit count', () => {
    const leadingZeros = Buffer.from(span(`,"attributes":[{"key":"k","value":{"intValue":"${zeros}42"}}]`));
    expect(withinBound(() => decodeJsonBody(leadingZeros)).spans[0]!.attributes).toEqual({ k: '42' });
    const longCount = Buffer.from(span(`,"droppedEventsCount":"1${zeros}"`));
    expect(() => withinBound(() => decodeJsonBody(longCount))).toThrow(/droppedEventsCount: expected an unsigned 32-bit integer/);
  });
});
