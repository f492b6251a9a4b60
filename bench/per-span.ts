/**
 * Median µs per span of `fn` (which handles `spans` spans per call): `warmup` untimed calls,
 * then `rounds` timed rounds of 5 calls, rounded to `digits` decimals.
 */
export function perSpan(fn: () => void, spans: number, options: { rounds: number; warmup: number; digits: number }): number {
  for (let i = 0; i < options.warmup; i++) fn();
  const times: number[] = [];
  for (let r = 0; r < options.rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) fn();
    times.push(((performance.now() - t0) * 1000) / (5 * spans));
  }
  return +times.sort((a, b) => a - b)[Math.floor(options.rounds / 2)]!.toFixed(options.digits);
}
