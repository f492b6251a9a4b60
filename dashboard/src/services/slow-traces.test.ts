import { describe, expect, it } from 'vitest';
import type { TraceSummary } from '../api/types';
import { slowestTraces } from './slow-traces';

const trace = (traceId: string, durationNano: string, startTimeUnixNano: string): TraceSummary => ({
  traceId,
  rootServiceName: 'orders',
  rootSpanName: 'GET /',
  startTimeUnixNano,
  durationNano,
  spanCount: 1,
  errorCount: 0,
  services: ['orders'],
});

describe('slowestTraces', () => {
  it('sorts by duration (exact beyond 2^53), then newest first, then ID, and keeps the limit', () => {
    const list = [
      trace('a', '9007199254740993', '1'),
      trace('b', '9007199254740992', '2'),
      trace('c', '500', '3'),
      trace('d', '500', '4'),
      trace('e', '500', '4'),
      trace('f', '20', '5'),
    ];
    expect(slowestTraces(list, 5).map((t) => t.traceId)).toEqual(['a', 'b', 'd', 'e', 'c']);
    expect(slowestTraces(list, 1).map((t) => t.traceId)).toEqual(['a']);
    expect(list[0]!.traceId).toBe('a');
    expect(slowestTraces([], 3)).toEqual([]);
  });
});
