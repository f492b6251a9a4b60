import { describe, expect, it } from 'vitest';
import { formatDuration, formatTimestamp, nsToMs, timestampTitle } from './time';

describe('time formatting', () => {
  const ns = '1765014731123456789'; // 2025-12-06T09:52:11.123456789Z

  it('keeps every digit of a nanosecond string until milliseconds', () => {
    expect(nsToMs(ns)).toBe(1765014731123);
  });

  it('shows a timestamp in the given time zone with its name', () => {
    expect(formatTimestamp(ns, 'UTC')).toBe('2025-12-06 09:52:11.123 UTC');
    expect(formatTimestamp(ns, 'Asia/Tokyo')).toBe('2025-12-06 18:52:11.123 GMT+9');
    expect(formatTimestamp(ns, 'America/New_York')).toBe('2025-12-06 04:52:11.123 EST');
  });

  it('gives the raw nanoseconds on hover', () => {
    expect(timestampTitle(ns)).toBe('1765014731123456789 ns since the epoch (2025-12-06T09:52:11.123Z)');
  });

  it('picks the unit a person reads a duration in', () => {
    expect(formatDuration('850')).toBe('850 ns');
    expect(formatDuration(12_345)).toBe('12.3 µs');
    expect(formatDuration('4560000')).toBe('4.56 ms');
    expect(formatDuration(1_234_000_000n)).toBe('1.23 s');
    expect(formatDuration(125_000_000_000)).toBe('2 min 5 s');
    expect(formatDuration('-1')).toBe('–');
  });
});
