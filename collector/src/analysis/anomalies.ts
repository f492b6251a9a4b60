/**
 * Anomalies: windows of an operation whose latency p99 or error rate stands far above that
 * operation's own recent past. Pure: it works on per-window RED values (read from
 * `flowtrace_red` by the caller, query/anomalies-routes.ts) and knows nothing of storage.
 *
 * Method (robust z-score, per service + operation + span kind and per metric):
 *   - The series is cut into windows of `windowS` seconds (the caller sums RED minutes into them).
 *   - A window is judged only if it has at least `minRequests` requests: a p99 or an error rate
 *     of a handful of requests is noise. Windows below that are skipped, both as "current" and
 *     as baseline.
 *   - Baseline of a window: the up to `baselineWindows` (N) judged-eligible windows just before it
 *     (missing or thin windows are skipped, not counted as zero); at least `minBaselineWindows`
 *     of them are needed, otherwise the window is not judged.
 *   - centre = median of the baseline values, spread = MAD (median absolute deviation) × 1.4826
 *     (so that spread ≈ standard deviation for normally distributed values), raised to a floor:
 *     `max(absolute floor, relative floor × median)`. The floor keeps a perfectly steady baseline
 *     (MAD 0) from flagging a 1 % wobble as infinitely anomalous.
 *   - score = (current − median) / spread; an anomaly when score ≥ k (`threshold`). Only rises
 *     are reported: lower latency or fewer errors are not a problem to chase.
 * Median and MAD ignore up to half the baseline being outliers, so one earlier spike neither
 * hides the next one nor makes an ordinary window look anomalous (unlike mean / std dev).
 */

/** One window of one operation's RED: what the detector needs. */
export interface RedWindow {
  /** Seconds since the epoch: the window's start. */
  startS: number;
  requests: number;
  errors: number;
  p99Ms: number;
}

export interface RedSeries {
  service: string;
  operation: string;
  spanKind: string;
  /** Any order; windows with no traffic may be absent. */
  windows: readonly RedWindow[];
}

export type AnomalyMetric = 'latency_p99' | 'error_rate';

export interface AnomalyOptions {
  /** Window length in seconds (for the evidence only; the windows are given). */
  windowS: number;
  /** N: baseline windows before each judged window. */
  baselineWindows: number;
  /** Fewer eligible baseline windows than this: the window is not judged. */
  minBaselineWindows: number;
  /** k: score (in scaled MADs) at or above which a window is anomalous. */
  threshold: number;
  /** Windows with fewer requests are skipped. */
  minRequests: number;
  /** Only windows starting at or after this (seconds) are judged; earlier ones serve as baseline. */
  judgeFromS: number;
  /** Spread floors per metric: max(absolute, relative × median). */
  floors: Record<AnomalyMetric, { absolute: number; relative: number }>;
}

export const DEFAULT_ANOMALY_OPTIONS = {
  baselineWindows: 12,
  minBaselineWindows: 4,
  threshold: 5,
  minRequests: 20,
  floors: {
    // 1 ms or 10 % of the median p99, whichever is larger.
    latency_p99: { absolute: 1, relative: 0.1 },
    // 1 percentage point of error rate, or 10 % of the median rate.
    error_rate: { absolute: 0.01, relative: 0.1 },
  },
} as const satisfies Omit<AnomalyOptions, 'windowS' | 'judgeFromS'>;

/** MAD × this estimates the standard deviation of normally distributed values. */
export const MAD_SCALE = 1.4826;

export interface Anomaly {
  service: string;
  operation: string;
  spanKind: string;
  metric: AnomalyMetric;
  /** The window judged: [startS, startS + seconds). */
  startS: number;
  seconds: number;
  requests: number;
  errors: number;
  /** p99 in ms, or the error rate 0 to 1. */
  current: number;
  baseline: { median: number; mad: number; windows: number };
  /** The spread used: max(MAD × 1.4826, floor). */
  spread: number;
  score: number;
}

/** Every anomalous (series, metric, window), highest score first. */
export function detectAnomalies(series: readonly RedSeries[], options: AnomalyOptions): Anomaly[] {
  const found: Anomaly[] = [];
  for (const s of series) {
    const eligible = s.windows.filter((w) => w.requests >= options.minRequests).sort((a, b) => a.startS - b.startS);
    eligible.forEach((current, i) => {
      if (current.startS < options.judgeFromS) return;
      const baseline = eligible.slice(Math.max(0, i - options.baselineWindows), i);
      if (baseline.length < options.minBaselineWindows) return;
      for (const metric of ['latency_p99', 'error_rate'] as const) {
        const value = valueOf(current, metric);
        const values = baseline.map((w) => valueOf(w, metric));
        const median = medianOf(values);
        const mad = medianOf(values.map((v) => Math.abs(v - median)));
        const floor = options.floors[metric];
        const spread = Math.max(mad * MAD_SCALE, floor.absolute, floor.relative * median);
        const score = (value - median) / spread;
        if (score < options.threshold) continue;
        found.push({
          service: s.service,
          operation: s.operation,
          spanKind: s.spanKind,
          metric,
          startS: current.startS,
          seconds: options.windowS,
          requests: current.requests,
          errors: current.errors,
          current: value,
          baseline: { median, mad, windows: baseline.length },
          spread,
          score,
        });
      }
    });
  }
  return found.sort((a, b) => b.score - a.score || b.startS - a.startS);
}

function valueOf(w: RedWindow, metric: AnomalyMetric): number {
  return metric === 'latency_p99' ? w.p99Ms : w.requests === 0 ? 0 : w.errors / w.requests;
}

/** Median of a non-empty list (mean of the two middle values for an even count). */
export function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
