import { describe, expect, it } from 'vitest';
import type { CriticalPath, PathSegment } from '../../analysis/index.js';
import { pathLines } from './critical-path.js';

const ms = 1_000_000n;
const seg = (spanId: string, name: string, startMs: bigint, durMs: bigint): PathSegment => ({
  spanId,
  serviceName: 'api',
  name,
  startNs: 1_000n * ms + startMs * ms,
  endNs: 1_000n * ms + (startMs + durMs) * ms,
  durationNs: durMs * ms,
});
const pathOf = (segments: PathSegment[]): CriticalPath => ({
  rootSpanId: 'r',
  durationNs: segments.reduce((sum, s) => sum + s.durationNs, 0n),
  segments,
  selfTimes: [],
  asyncSpanIds: [],
});

describe('pathLines', () => {
  it('lists segments at or above 1% of the latency one per line, from the first segment', () => {
    const lines = pathLines(pathOf([seg('a', 'root', 0n, 10n), seg('b', 'call', 10n, 80n), seg('a', 'root', 90n, 10n)]));
    expect(lines).toEqual(['0,10,10.0%,a,api,root', '10,80,80.0%,b,api,call', '90,10,10.0%,a,api,root']);
  });

  it('folds two or more consecutive short segments into one line with their count, time and spans; a lone short one stays', () => {
    // 1000 ms in all: 1% is 10 ms. A loop of 6 × (3 ms call + 1 ms in the parent), then one short segment alone.
    const loop = Array.from({ length: 6 }, (_, i) => [seg(`c${i}`, 'step', 100n + BigInt(i) * 4n, 3n), seg('p', 'stage', 103n + BigInt(i) * 4n, 1n)]).flat();
    const segments = [seg('r', 'root', 0n, 100n), ...loop, seg('r', 'root', 124n, 870n), seg('x', 'tail', 994n, 6n)];
    const lines = pathLines(pathOf(segments));
    expect(lines).toEqual(['0,100,10.0%,r,api,root', '100,24,2.4%,…12 segments of 7 spans,,api step; api stage', '124,870,87.0%,r,api,root', '994,6,0.6%,x,api,tail']);
  });

  it('names at most two operations of a run with many', () => {
    const many = Array.from({ length: 5 }, (_, i) => seg(`s${i}`, `op-${i}`, BigInt(i), 1n));
    const [line] = pathLines(pathOf([...many, seg('r', 'root', 5n, 995n)]));
    expect(line).toBe('0,5,0.5%,…5 segments of 5 spans,,api op-0; api op-1; +3 more names');
  });
});
