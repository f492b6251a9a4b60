/** The duration-over-time scatter's data: one point per trace, errors as their own series. */
import type { TraceSummary } from '../api/types';
import { nsToMs } from '../format/time';

export interface ScatterData {
  /** Trace start, seconds since the epoch (uPlot's time unit), ascending. */
  x: number[];
  /** Duration in milliseconds of the traces without errors (null: that point is an error). */
  ok: Array<number | null>;
  /** Duration in milliseconds of the traces with errors. */
  errors: Array<number | null>;
  /** The trace behind each point, in the same order. */
  traces: TraceSummary[];
}

/** uPlot needs x ascending: the traces sorted by start (ties by ID, so the order is stable). */
export function scatterData(traces: readonly TraceSummary[]): ScatterData {
  const sorted = [...traces].sort((a, b) => {
    const d = BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano);
    return d < 0n ? -1 : d > 0n ? 1 : a.traceId < b.traceId ? -1 : a.traceId > b.traceId ? 1 : 0;
  });
  const durationMs = (t: TraceSummary) => Number(t.durationNano) / 1e6;
  return {
    x: sorted.map((t) => nsToMs(t.startTimeUnixNano) / 1000),
    ok: sorted.map((t) => (t.errorCount > 0 ? null : durationMs(t))),
    errors: sorted.map((t) => (t.errorCount > 0 ? durationMs(t) : null)),
    traces: sorted,
  };
}

/**
 * The x range (seconds) shown, given the range uPlot asks for and the points' first and last
 * times: the whole set with 5 % on each side (so that no point sits on the frame), a minute
 * around a lone time (uPlot would stretch it to years), and a zoom the user dragged as it is.
 */
export function timeRange(min: number | null, max: number | null, first: number | undefined, last: number | undefined): [number, number] {
  if (first === undefined || last === undefined) {
    const now = Date.now() / 1000;
    return [now - 3600, now];
  }
  if (first === last) return [first - 30, last + 30];
  if (min === null || max === null || (min <= first && max >= last)) {
    const pad = (last - first) * 0.05;
    return [first - pad, last + pad];
  }
  return [min, max];
}

/** The y range (milliseconds) shown: from zero, so durations compare by height, to 15 % over the longest. */
export function durationRange(max: number | null): [number, number] {
  return [0, max !== null && Number.isFinite(max) && max > 0 ? max * 1.15 : 1];
}
