import { describe, expect, it } from 'vitest';
import { MAX_TIMER_MS, parseGrpcTimeout } from './status.js';

describe('parseGrpcTimeout', () => {
  it('reads every unit in milliseconds', () => {
    expect(parseGrpcTimeout('2H')).toBe(7_200_000);
    expect(parseGrpcTimeout('3M')).toBe(180_000);
    expect(parseGrpcTimeout('4S')).toBe(4000);
    expect(parseGrpcTimeout('250m')).toBe(250);
    expect(parseGrpcTimeout('1500u')).toBe(1.5);
    expect(parseGrpcTimeout('2000000n')).toBe(2);
  });

  it('clamps a deadline beyond what a timer can hold (2^31-1 ms), so it never overflows to an immediate one', () => {
    expect(MAX_TIMER_MS).toBe(2 ** 31 - 1);
    expect(parseGrpcTimeout('99999999H')).toBe(MAX_TIMER_MS);
    expect(parseGrpcTimeout('99999999S')).toBe(MAX_TIMER_MS);
    expect(parseGrpcTimeout('2147483S')).toBe(2_147_483_000);
  });

  it('ignores absent and malformed values', () => {
    for (const value of [undefined, ['1S'], '', '1', 'S', '123456789S', '1x', '-1S', '1.5S']) {
      expect(parseGrpcTimeout(value)).toBeUndefined();
    }
  });
});
