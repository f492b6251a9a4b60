import { describe, expect, it } from 'vitest';
import type { TraceSummary } from '../api/types';
import { durationRange, scatterData, timeRange } from './scatter-data';

const trace = (traceId: string, start: string, durationNano: string, errorCount = 0): TraceSummary => ({
  traceId,
  rootServiceName: 's',
  rootSpanName: 'op',
  startTimeUnixNano: start,
  durationNano,
  spanCount: 1,
  errorCount,
  services: ['s'],
});

describe('scatter data', () => {
  it('orders points by start time and splits errors into their own series', () => {
    const data = scatterData([
      trace('b', '1765014732000000000', '2500000', 1),
      trace('a', '1765014731000000000', '1000000'),
      trace('c', '1765014731000000000', '3000000'),
    ]);
    expect(data.traces.map((t) => t.traceId)).toEqual(['a', 'c', 'b']);
    expect(data.x).toEqual([1765014731, 1765014731, 1765014732]);
    expect(data.ok).toEqual([1, 3, null]);
    expect(data.errors).toEqual([null, null, 2.5]);
  });

  it('compares start times exactly, beyond the precision of a double', () => {
    const data = scatterData([trace('late', '1765014731000000002', '1'), trace('early', '1765014731000000001', '1')]);
    expect(data.traces.map((t) => t.traceId)).toEqual(['early', 'late']);
  });
});

describe('scatter ranges', () => {
  it('shows every point off the frame, a lone time within a minute, and a dragged zoom as it is', () => {
    expect(timeRange(1000, 1000 + 86_400_000, 1000, 1000)).toEqual([970, 1030]);
    expect(timeRange(0, 10_000, 0, 10_000)).toEqual([-500, 10_500]);
    expect(timeRange(null, null, 0, 10_000)).toEqual([-500, 10_500]);
    expect(timeRange(2000, 3000, 0, 10_000)).toEqual([2000, 3000]);
    const [from, to] = timeRange(null, null, undefined, undefined);
    expect(to - from).toBe(3600);
  });

  it('draws durations from zero with room above the longest', () => {
    const [zero, top] = durationRange(200);
    expect(zero).toBe(0);
    expect(top).toBeCloseTo(230);
    expect(durationRange(0)).toEqual([0, 1]);
    expect(durationRange(null)).toEqual([0, 1]);
  });
});
