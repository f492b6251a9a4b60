/**
 * A log-scale duration histogram, the shape of an OpenTelemetry exponential histogram at
 * scale 3: bucket `i` holds durations in (2^((i-1)/8), 2^(i/8)] nanoseconds, so every bucket
 * is about 9 % wide and any duration up to centuries has an index below 520. Buckets are
 * summed by ClickHouse (`sumMap`), so histograms from any number of writes merge exactly;
 * quantiles are read back by interpolating inside the bucket that holds the rank.
 */
const SCALE = 8;

export function bucketOf(durationNs: bigint): number {
  if (durationNs <= 1n) return 0;
  return Math.ceil(Math.log2(Number(durationNs)) * SCALE);
}

export function bucketLowerNs(index: number): number {
  return index <= 0 ? 0 : 2 ** ((index - 1) / SCALE);
}

export function bucketUpperNs(index: number): number {
  return 2 ** (index / SCALE);
}

export interface HistogramSummary {
  /** Bucket index → count. */
  buckets: ReadonlyMap<number, number>;
  /** The exact extremes, to clamp interpolation (one call gives its own duration back). */
  minNs: number;
  maxNs: number;
}

/** The `q` quantile (0–1) in nanoseconds, or 0 for an empty histogram. */
export function histogramQuantile(h: HistogramSummary, q: number): number {
  const sorted = [...h.buckets].filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0]);
  const total = sorted.reduce((sum, [, n]) => sum + n, 0);
  if (total === 0) return 0;
  const rank = q * total;
  let below = 0;
  for (const [index, n] of sorted) {
    if (below + n >= rank) {
      const lower = bucketLowerNs(index);
      const value = lower + (bucketUpperNs(index) - lower) * ((rank - below) / n);
      return Math.min(h.maxNs, Math.max(h.minNs, value));
    }
    below += n;
  }
  return h.maxNs;
}
