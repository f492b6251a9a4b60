import { describe, expect, it } from 'vitest';
import { DEFAULT_ANOMALY_OPTIONS, detectAnomalies, MAD_SCALE, medianOf, type AnomalyOptions, type RedWindow } from './anomalies.js';

const W = 300;
const options = (over: Partial<AnomalyOptions> = {}): AnomalyOptions => ({ ...DEFAULT_ANOMALY_OPTIONS, windowS: W, judgeFromS: 12 * W, ...over });
/** Windows 0…n-1 of 100 requests, p99 and errors from the lists. */
const windows = (p99s: number[], errors: number[] = p99s.map(() => 0), requests = 100): RedWindow[] =>
  p99s.map((p99Ms, i) => ({ startS: i * W, requests, errors: errors[i]!, p99Ms }));
const series = (w: RedWindow[]) => [{ service: 'shop', operation: 'GET /checkout', spanKind: 'SERVER', windows: w }];

describe('medianOf', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    expect(medianOf([3, 1, 2])).toBe(2);
    expect(medianOf([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('detectAnomalies', () => {
  const noisy = [100, 104, 97, 110, 95, 102, 99, 108, 93, 101, 105, 98];

  it('flags a latency spike with its evidence', () => {
    const [a, ...rest] = detectAnomalies(series(windows([...noisy, 400])), options());
    expect(rest).toEqual([]);
    // Baseline sorted: 93 95 97 98 99 100 101 102 104 105 108 110 → median 100.5;
    // deviations sorted: 0.5 0.5 1.5 1.5 2.5 3.5 3.5 4.5 5.5 7.5 7.5 9.5 → MAD 3.5.
    expect(a).toMatchObject({ metric: 'latency_p99', startS: 12 * W, seconds: W, current: 400, baseline: { median: 100.5, mad: 3.5, windows: 12 } });
    // Spread: max(3.5 × 1.4826, 1 ms, 10 % of 100.5) = 10.05.
    expect(a!.spread).toBeCloseTo(10.05, 9);
    expect(a!.score).toBeCloseTo((400 - 100.5) / 10.05, 9);
  });

  it('does not flag a steady noisy series, nor a drop', () => {
    expect(detectAnomalies(series(windows([...noisy, ...noisy])), options({ judgeFromS: 0 }))).toEqual([]);
    expect(detectAnomalies(series(windows([...noisy, 5])), options())).toEqual([]);
  });

  it('flags an error-rate rise against a zero-error baseline through the floor, not a division by zero', () => {
    const flat = noisy.map(() => 100);
    // 1 error in 100 (1 point, exactly the floor): score 1, not flagged; 10 in 100: score 10.
    expect(detectAnomalies(series(windows([...flat, 100], [...flat.map(() => 0), 1])), options())).toEqual([]);
    const [a] = detectAnomalies(series(windows([...flat, 100], [...flat.map(() => 0), 10])), options());
    expect(a).toMatchObject({ metric: 'error_rate', current: 0.1, baseline: { median: 0, mad: 0 }, spread: 0.01 });
    expect(a!.score).toBeCloseTo(10, 9);
  });

  it('uses the relative floor when the MAD is zero: a 5 % wobble on a flat p99 is not an anomaly', () => {
    const flat = noisy.map(() => 200);
    expect(detectAnomalies(series(windows([...flat, 210])), options())).toEqual([]);
    const [a] = detectAnomalies(series(windows([...flat, 320])), options());
    // spread = 10 % of 200 = 20; (320 − 200) / 20 = 6 ≥ 5.
    expect(a).toMatchObject({ current: 320, baseline: { median: 200, mad: 0 }, spread: 20, score: 6 });
  });

  it('skips windows with too few requests, as current and as baseline', () => {
    // The spike has only 10 requests: skipped.
    const thinSpike = [...windows(noisy), { startS: 12 * W, requests: 10, errors: 0, p99Ms: 900 }];
    expect(detectAnomalies(series(thinSpike), options())).toEqual([]);
    // Thin windows with huge p99s between the baseline and the judged window do not count: the baseline is the 12 others.
    const thin = noisy.slice(0, 6).map((_, i) => ({ startS: (12 + i) * W, requests: 3, errors: 3, p99Ms: 5_000 }));
    const [a, ...rest] = detectAnomalies(series([...windows(noisy), ...thin, { startS: 18 * W, requests: 100, errors: 0, p99Ms: 400 }]), options());
    expect(rest).toEqual([]);
    expect(a).toMatchObject({ startS: 18 * W, current: 400, baseline: { median: 100.5, mad: 3.5, windows: 12 } });
  });

  it('needs minBaselineWindows eligible windows before judging', () => {
    expect(detectAnomalies(series(windows([100, 100, 100, 900])), options({ judgeFromS: 0 }))).toEqual([]);
    const found = detectAnomalies(series(windows([100, 100, 100, 100, 900])), options({ judgeFromS: 0 }));
    expect(found.map((a) => a.startS)).toEqual([4 * W]);
  });

  it('judges only windows from judgeFromS, ranks by score, and uses at most N baseline windows', () => {
    const p99s = [100, 100, 100, 100, 100, 100, 500, 100, 100, 100, 100, 100, 300];
    const found = detectAnomalies(series(windows(p99s)), options({ judgeFromS: 0, baselineWindows: 5 }));
    // Window 12 sees 500 in no baseline (last 5: 7…11); window 6 sees only 100s.
    expect(found.map((a) => [a.startS / W, a.score])).toEqual([[6, 40], [12, 20]]);
    expect(found[1]!.baseline.windows).toBe(5);
    expect(MAD_SCALE).toBeCloseTo(1 / 0.6745, 3);
  });
});
