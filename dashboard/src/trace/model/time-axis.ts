/**
 * The waterfall's time axis: a linear scale from nanoseconds (relative to the trace start, or
 * to a span shown as root) to a fraction of the width, and "nice" ticks (1, 2 or 5 × 10^k ns)
 * labelled in one unit for the whole axis: ns, µs, ms or s.
 */

export interface TimeScale {
  startNs: number;
  endNs: number;
  /** 0 at startNs, 1 at endNs (not clamped). */
  fraction(ns: number): number;
  /** Inverse of fraction. */
  at(fraction: number): number;
}

export function timeScale(startNs: number, endNs: number): TimeScale {
  const width = endNs > startNs ? endNs - startNs : 1;
  return { startNs, endNs, fraction: (ns) => (ns - startNs) / width, at: (f) => startNs + f * width };
}

export interface Tick {
  /** Position in ns, on the scale's clock. */
  ns: number;
  label: string;
}

const UNITS = [
  { unit: 'ns', ns: 1 },
  { unit: 'µs', ns: 1e3 },
  { unit: 'ms', ns: 1e6 },
  { unit: 's', ns: 1e9 },
] as const;

/** The 1/2/5 step that gives at most `maxTicks` intervals over `spanNs`. */
export function niceStep(spanNs: number, maxTicks: number): number {
  const raw = Math.max(spanNs, 1) / Math.max(maxTicks, 1);
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return Math.max(1, m * power);
  return 10 * power;
}

/**
 * Ticks at multiples of a nice step, measured from `originNs` (labels show time since the
 * origin: the trace or root span start), between the scale's ends inclusive.
 */
export function timeTicks(scale: TimeScale, maxTicks: number, originNs = scale.startNs): Tick[] {
  const step = niceStep(scale.endNs - scale.startNs, maxTicks);
  // One unit for the axis, from the largest label: 0.5 ms steps up to 4 ms read `0.5 ms`, not `500 µs`.
  const largest = Math.max(Math.abs(scale.endNs - originNs), Math.abs(scale.startNs - originNs), step);
  const unit = [...UNITS].reverse().find((u) => largest >= u.ns) ?? UNITS[0];
  // Digits after the point that the step needs in this unit (0.5 ms → 1).
  const decimals = Math.max(0, Math.ceil(-Math.log10(step / unit.ns) - 1e-9));
  const first = Math.ceil((scale.startNs - originNs) / step - 1e-9);
  const ticks: Tick[] = [];
  for (let k = first; originNs + k * step <= scale.endNs + 1e-6; k++) {
    const rel = k * step;
    ticks.push({ ns: originNs + rel, label: `${(rel / unit.ns).toFixed(decimals)} ${unit.unit}` });
  }
  return ticks;
}

/** A duration with three significant digits: `850 ns`, `12.3 µs`, `4.56 ms`, `1.23 s`, `2 min 5 s`. */
export function formatDurationNs(ns: number): string {
  const abs = Math.abs(ns);
  if (abs >= 60e9) {
    const minutes = Math.floor(abs / 60e9);
    const seconds = Math.round((abs - minutes * 60e9) / 1e9);
    return `${ns < 0 ? '-' : ''}${minutes} min${seconds > 0 ? ` ${seconds} s` : ''}`;
  }
  const unit = [...UNITS].reverse().find((u) => abs >= u.ns) ?? UNITS[0];
  const value = ns / unit.ns;
  const digits = unit.ns === 1 ? 0 : Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${unit.unit}`;
}
