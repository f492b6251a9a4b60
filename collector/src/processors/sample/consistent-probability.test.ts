import { describe, expect, it } from 'vitest';
import {
  adjustedCount,
  ALWAYS_SAMPLE,
  encodeThreshold,
  parseThreshold,
  probabilityToThreshold,
  randomness,
  readOtSampling,
  shouldSample,
  traceStateValue,
  withThreshold,
} from './consistent-probability.js';

describe('consistent probability thresholds', () => {
  it('computes T = (1 − p)·2^56 and encodes it without trailing zeros', () => {
    const th = (p: number) => encodeThreshold(probabilityToThreshold(p)!);
    expect(th(1)).toBe('0');
    expect(th(0.5)).toBe('8');
    expect(th(0.25)).toBe('c');
    expect(th(0.125)).toBe('e');
    // 1 %: 2^56 − round(0.01·2^56) = 72057594037927936 − 720575940379279, at full precision.
    expect(probabilityToThreshold(0.01)).toBe('fd70a3d70a3d71');
    expect(BigInt('0xfd70a3d70a3d71')).toBe(2n ** 56n - 720575940379279n);
    expect(th(0.1)).toBe('e6666666666666');
    expect(probabilityToThreshold(0)).toBeUndefined();
    expect(() => probabilityToThreshold(1.5)).toThrow(RangeError);
  });

  it('reads th values right-padded to 14 digits and rejects malformed ones', () => {
    expect(parseThreshold('c')).toBe('c0000000000000');
    expect(parseThreshold('FD70A4')).toBe('fd70a400000000');
    expect(parseThreshold('0')).toBe(ALWAYS_SAMPLE);
    expect(parseThreshold('')).toBeUndefined();
    expect(parseThreshold('xyz')).toBeUndefined();
    expect(parseThreshold('123456789012345')).toBeUndefined();
  });

  it('gives the adjusted count 2^56 / (2^56 − T)', () => {
    expect(adjustedCount(ALWAYS_SAMPLE)).toBe(1);
    expect(adjustedCount(parseThreshold('8')!)).toBe(2);
    expect(adjustedCount(parseThreshold('c')!)).toBe(4);
    expect(adjustedCount(probabilityToThreshold(0.01)!)).toBe(100);
    expect(adjustedCount(parseThreshold('fd70a4')!)).toBeCloseTo(100, 2); // the spec's rounded 1 %
    expect(adjustedCount(probabilityToThreshold(0.3)!)).toBeCloseTo(10 / 3, 10);
  });

  it('keeps when R ≥ T, R from the last 14 hex digits of the trace ID or from rv', () => {
    const t = parseThreshold('c')!;
    expect(randomness('0123456789abcdef01c00000000000', undefined)).toBe('01c00000000000'); // 30 digits, malformed but sliced the same
    expect(randomness('0123456789abcdef00c0000000000000', undefined)).toBe('c0000000000000');
    expect(shouldSample(randomness('0123456789abcdef00c0000000000000', undefined), t)).toBe(true);
    expect(shouldSample(randomness('0123456789abcdef00bfffffffffffff', undefined), t)).toBe(false);
    expect(randomness('0123456789abcdef00bfffffffffffff', 'ffffffffffffff')).toBe('ffffffffffffff');
  });
});

describe('tracestate', () => {
  it('reads th and rv from the ot entry only', () => {
    expect(readOtSampling('')).toEqual({});
    expect(readOtSampling('vendor=a,ot=th:8;rv:0011223344556F, other=b')).toEqual({ th: '80000000000000', rv: '0011223344556f' });
    expect(readOtSampling('ot=th:xyz;rv:123')).toEqual({}); // malformed values are absent
    expect(readOtSampling('xot=th:8')).toEqual({});
    expect(readOtSampling('ot=foo:bar')).toEqual({});
    expect(traceStateValue('a=1, b=2', 'b')).toBe('2');
  });

  it('sets th in the ot entry, keeping other sub-keys and entries, and moves ot to the front', () => {
    const c = parseThreshold('c')!;
    expect(withThreshold('', c)).toBe('ot=th:c');
    expect(withThreshold('congo=t61rcWkgMzE,ot=rv:abcdefabcdef01;foo:bar', c)).toBe('ot=th:c;rv:abcdefabcdef01;foo:bar,congo=t61rcWkgMzE');
    expect(withThreshold('a=1,ot=foo:1;th:8,b=2', c)).toBe('ot=foo:1;th:c,a=1,b=2');
    expect(withThreshold('a=1,ot=th:8', undefined)).toBe('a=1');
    expect(withThreshold('ot=th:8;rv:abcdefabcdef01', undefined)).toBe('ot=rv:abcdefabcdef01');
    expect(withThreshold('a=1', ALWAYS_SAMPLE)).toBe('ot=th:0,a=1');
  });
});
