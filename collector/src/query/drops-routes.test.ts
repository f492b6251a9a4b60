import { describe, expect, it } from 'vitest';
import { QueryParamError } from './params.js';
import { parseSince } from './drops-routes.js';

const NOW = 1_800_000_000_000n * 1_000_000n;

describe('parseSince', () => {
  it('takes a duration back from now, or a time as the other routes take it', () => {
    expect(parseSince(undefined, NOW)).toBe(NOW - 3_600_000_000_000n);
    expect(parseSince('30m', NOW)).toBe(NOW - 1_800_000_000_000n);
    expect(parseSince('1h30m', NOW)).toBe(NOW - 5_400_000_000_000n);
    expect(parseSince('2026-01-02T03:04:05Z', NOW)).toBe(BigInt(Date.parse('2026-01-02T03:04:05Z')) * 1_000_000n);
    expect(parseSince('1700000000000000', NOW)).toBe(1_700_000_000_000_000_000n);
    // Further back than the epoch: from the epoch.
    expect(parseSince('999999h', 5n)).toBe(0n);
  });

  it('refuses anything else with a message naming the parameter', () => {
    for (const bad of ['yesterday', '1x', '-1h', '1h ago', ['1h', '2h']]) {
      expect(() => parseSince(bad, NOW)).toThrow(QueryParamError);
      expect(() => parseSince(bad, NOW)).toThrow(/^since: /);
    }
  });
});
