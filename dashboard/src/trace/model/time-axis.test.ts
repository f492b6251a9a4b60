import { describe, expect, it } from 'vitest';
import { formatDurationNs, niceStep, timeScale, timeTicks } from './time-axis.js';

describe('time axis', () => {
  it('picks 1/2/5 steps', () => {
    expect(niceStep(1000, 10)).toBe(100);
    expect(niceStep(1500, 10)).toBe(200);
    expect(niceStep(4_000_000, 10)).toBe(500_000);
    expect(niceStep(0, 10)).toBe(1);
  });

  it('labels every tick in one unit, with the decimals the step needs', () => {
    expect(timeTicks(timeScale(0, 4_000_000), 10).map((t) => t.label)).toEqual(['0.0 ms', '0.5 ms', '1.0 ms', '1.5 ms', '2.0 ms', '2.5 ms', '3.0 ms', '3.5 ms', '4.0 ms']);
    expect(timeTicks(timeScale(0, 900), 4).map((t) => t.label)).toEqual(['0 ns', '500 ns']);
    expect(timeTicks(timeScale(0, 12e9), 5).map((t) => t.label)).toEqual(['0 s', '5 s', '10 s']);
    expect(timeTicks(timeScale(0, 30_000), 3).map((t) => t.label)).toEqual(['0 µs', '10 µs', '20 µs', '30 µs']);
  });

  it('starts at the first step inside a zoomed window, labelled from the origin', () => {
    const ticks = timeTicks(timeScale(1_250_000, 2_000_000), 4, 0);
    expect(ticks.map((t) => [t.ns, t.label])).toEqual([[1_400_000, '1.4 ms'], [1_600_000, '1.6 ms'], [1_800_000, '1.8 ms'], [2_000_000, '2.0 ms']]);
  });

  it('maps times to fractions of the width and back', () => {
    const s = timeScale(100, 300);
    expect(s.fraction(200)).toBe(0.5);
    expect(s.at(0.25)).toBe(150);
  });

  it('formats durations with three significant digits', () => {
    expect([850, 12_345, 4_560_000, 1_234_000_000, 125e9].map(formatDurationNs)).toEqual(['850 ns', '12.3 µs', '4.56 ms', '1.23 s', '2 min 5 s']);
  });
});
