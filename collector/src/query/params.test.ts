import { describe, expect, it } from 'vitest';
import { MAX_NS, QueryParamError, parseDuration, parseLimit, parseTags, parseText, parseTime, parseTraceId, parseWindow } from './params.js';

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof QueryParamError) return err.message;
    throw err; // anything else would be a 500
  }
  throw new Error('accepted');
}

describe('query parameters', () => {
  it('parseTime takes µs since the epoch or ISO-8601, within 1970..2262', () => {
    expect(parseTime('start', '1700000000000000')).toBe(1_700_000_000_000_000_000n);
    expect(parseTime('start', '2024-01-01T00:00:00.5Z')).toBe(1_704_067_200_500_000_000n);
    for (const bad of ['9'.repeat(40), '-5', '1.5', '1e30', '0x10', ' 5', '5abc', '9223372036854776', 'now', ['1', '2']]) {
      expect(refusal(() => parseTime('start', bad))).toMatch(/^start: /);
    }
  });

  it('parseDuration is exact and bounded', () => {
    expect(parseDuration('lookback', '1h30m')).toBe(5_400_000_000_000n);
    expect(parseDuration('lookback', '1.5s')).toBe(1_500_000_000n);
    expect(parseDuration('lookback', '0.000000001s')).toBe(1n);
    for (const bad of ['', '-1h', '1', '1d', `${'9'.repeat(40)}h`, '99999999999h', '1.s', '1e3s', ' 1s']) {
      expect(refusal(() => parseDuration('lookback', bad))).toMatch(/^lookback: /);
    }
    expect(parseDuration('lookback', '2562047h')).toBeLessThanOrEqual(MAX_NS);
  });

  it('parseLimit takes digits only', () => {
    expect(parseLimit(undefined, 20, 1000)).toBe(20);
    expect(parseLimit('1000', 20, 1000)).toBe(1000);
    for (const bad of ['0', '1001', '1.0', '0x10', ' 5', '5abc', '1e3', '-1', '+5', '9'.repeat(40), ['1', '2']]) {
      expect(refusal(() => parseLimit(bad, 20, 1000))).toMatch(/^limit: /);
    }
  });

  it('parseTags takes flat values only, bounded in number', () => {
    expect(parseTags('{"a":"x","b":2,"c":true}')).toEqual([['a', 'x'], ['b', '2'], ['c', 'true']]);
    expect(parseTags('a=1 b="two words"')).toEqual([['a', '1'], ['b', 'two words']]);
    const deep = `{"k":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    for (const bad of [deep, '{"k":{"a":1}}', '{"k":null}', '[1]', 'a', ['a=1', 'b=2'], JSON.stringify(Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])))]) {
      expect(refusal(() => parseTags(bad))).toMatch(/^tags: /);
    }
  });

  it('parseTraceId and parseText refuse bad IDs and repeated values', () => {
    expect(parseTraceId('4BF92F3577B34DA6A3CE929D0E0E4736')).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(refusal(() => parseTraceId('zz'))).toMatch(/^trace ID: /);
    expect(refusal(() => parseText('service', ['a', 'b']))).toMatch(/^service: expected one value/);
    expect(refusal(() => parseText('service', 'x'.repeat(2000)))).toMatch(/^service: /);
  });

  it('parseWindow clamps a lookback longer than the epoch and orders start and end', () => {
    expect(parseWindow({ lookback: '1h' }, 0n, 7_200_000_000_000n)).toEqual({ startNs: 3_600_000_000_000n, endNs: 7_200_000_000_000n });
    expect(parseWindow({ lookback: '2000000h' }, 0n, 7_200_000_000_000n).startNs).toBe(0n);
    expect(refusal(() => parseWindow({ start: '2', end: '1' }, 0n))).toMatch(/^start: must not be after end/);
  });
});
