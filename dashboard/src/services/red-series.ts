/**
 * RED over time for the charts: the points the API returns (only steps with traffic) laid on
 * the range's full grid of steps, per operation or summed for a whole service, and the
 * anomaly windows that mark them. uPlot takes columns: x in seconds, one array per series,
 * `null` where there is nothing to draw (no request, so no latency).
 */
import type { Anomaly, RedAnswer, RedPoint } from './types';

const SERVED_KINDS = new Set(['Server', 'Consumer']);
/** Grid points at most (the API allows 1440 per series). */
const MAX_STEPS = 1_440;

export interface RedSeries {
  /** `operation` for one operation; '' for a whole service. */
  operation: string;
  spanKind: string;
  /** Requests over the whole range. */
  requests: number;
  errors: number;
  /** Step starts, seconds since the epoch. */
  x: number[];
  /** Requests per second of each step. */
  rate: number[];
  /** Errors / requests in percent, null without requests. */
  errorPct: Array<number | null>;
  p50Ms: Array<number | null>;
  p99Ms: Array<number | null>;
}

/** Seconds since the epoch of the API's nanosecond strings. */
export function nsToSeconds(ns: string): number {
  return Number(BigInt(ns) / 1_000_000_000n);
}

/** The step starts of the answer's window. */
export function timeGrid(answer: Pick<RedAnswer, 'startTimeUnixNano' | 'endTimeUnixNano' | 'stepSeconds'>): number[] {
  const from = nsToSeconds(answer.startTimeUnixNano);
  const to = nsToSeconds(answer.endTimeUnixNano);
  const step = answer.stepSeconds > 0 ? answer.stepSeconds : Math.max(to - from, 60);
  const x: number[] = [];
  for (let t = from; t < to && x.length < MAX_STEPS; t += step) x.push(t);
  return x;
}

/**
 * One series per operation and span kind, busiest first. Each step's latency is that step's own
 * quantile (the API merges the minutes' histograms); no request in a step leaves a gap.
 */
export function operationSeries(answer: RedAnswer): RedSeries[] {
  const x = timeGrid(answer);
  const groups = new Map<string, RedPoint[]>();
  for (const p of answer.points) {
    const key = JSON.stringify([p.operation, p.spanKind]);
    const list = groups.get(key);
    if (list) list.push(p);
    else groups.set(key, [p]);
  }
  const series = [...groups.values()].map((points) => {
    const s = emptySeries(points[0]!.operation, points[0]!.spanKind, x);
    for (const p of points) {
      const i = indexOf(x, nsToSeconds(p.startTimeUnixNano));
      if (i < 0) continue;
      s.requests += p.requests;
      s.errors += p.errors;
      s.rate[i] = p.rate;
      s.errorPct[i] = p.requests === 0 ? null : (p.errors / p.requests) * 100;
      s.p50Ms[i] = p.requests === 0 ? null : p.p50Ms;
      s.p99Ms[i] = p.requests === 0 ? null : p.p99Ms;
    }
    return s;
  });
  return series.sort((a, b) => b.requests - a.requests || a.operation.localeCompare(b.operation) || a.spanKind.localeCompare(b.spanKind));
}

/**
 * A whole service over time: the requests it served (server and consumer spans; every kind
 * when it has none, a client-only job say) summed per step; latency is the slowest operation's
 * p50 and p99 in that step, since quantiles of different operations cannot be added.
 */
export function serviceSeries(answer: RedAnswer): RedSeries {
  const x = timeGrid(answer);
  const served = answer.points.filter((p) => SERVED_KINDS.has(p.spanKind));
  const points = served.length > 0 ? served : answer.points;
  const s = emptySeries('', served.length > 0 ? 'Server' : '', x);
  const requests = new Array<number>(x.length).fill(0);
  const errors = new Array<number>(x.length).fill(0);
  for (const p of points) {
    const i = indexOf(x, nsToSeconds(p.startTimeUnixNano));
    if (i < 0) continue;
    s.requests += p.requests;
    s.errors += p.errors;
    requests[i]! += p.requests;
    errors[i]! += p.errors;
    s.rate[i]! += p.rate;
    if (p.requests > 0) {
      s.p50Ms[i] = Math.max(s.p50Ms[i] ?? 0, p.p50Ms);
      s.p99Ms[i] = Math.max(s.p99Ms[i] ?? 0, p.p99Ms);
    }
  }
  s.errorPct = requests.map((n, i) => (n === 0 ? null : (errors[i]! / n) * 100));
  return s;
}

export interface OperationTotal {
  operation: string;
  spanKind: string;
  requests: number;
  rate: number;
  errorRatio: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * The operations `service` serves (server and consumer spans; every kind when it serves none)
 * over the whole range (one RED point each), busiest first, at most `limit`.
 */
export function topOperations(points: readonly RedPoint[], service: string, limit: number): OperationTotal[] {
  const own = points.filter((p) => p.service === service && p.requests > 0);
  const served = own.filter((p) => SERVED_KINDS.has(p.spanKind));
  return (served.length > 0 ? served : own)
    .map((p) => ({ operation: p.operation, spanKind: p.spanKind, requests: p.requests, rate: p.rate, errorRatio: p.errorRatio, p50Ms: p.p50Ms, p99Ms: p.p99Ms }))
    .sort((a, b) => b.requests - a.requests || b.p99Ms - a.p99Ms || a.operation.localeCompare(b.operation))
    .slice(0, limit);
}

export interface AnomalyBand {
  /** Seconds since the epoch. */
  from: number;
  to: number;
  metric: Anomaly['metric'];
  /** What a hover says: the metric, its value and its baseline. */
  label: string;
  exampleTraceIds: string[];
}

/** The anomaly windows of one operation and kind ('' operation: every operation of the service), oldest first. */
export function anomalyBands(anomalies: readonly Anomaly[], operation: string, spanKind: string): AnomalyBand[] {
  return anomalies
    .filter((a) => operation === '' || (a.operation === operation && a.spanKind === spanKind))
    .map((a) => {
      const from = nsToSeconds(a.startTimeUnixNano);
      const what =
        a.metric === 'latency_p99'
          ? `p99 ${round3(a.current)} ms against a usual ${round3(a.baseline.median)} ms`
          : `errors ${round3(a.current * 100)} % against a usual ${round3(a.baseline.median * 100)} %`;
      return { from, to: from + a.seconds, metric: a.metric, label: `${operation === '' ? `${a.operation}: ` : ''}${what} (score ${round3(a.score)})`, exampleTraceIds: a.exampleTraceIds };
    })
    .sort((a, b) => a.from - b.from || a.metric.localeCompare(b.metric));
}

function emptySeries(operation: string, spanKind: string, x: number[]): RedSeries {
  return {
    operation,
    spanKind,
    requests: 0,
    errors: 0,
    x,
    rate: new Array<number>(x.length).fill(0),
    errorPct: new Array<number | null>(x.length).fill(null),
    p50Ms: new Array<number | null>(x.length).fill(null),
    p99Ms: new Array<number | null>(x.length).fill(null),
  };
}

/** The grid index of a step start (binary search; -1 when it is not on the grid). */
function indexOf(x: readonly number[], t: number): number {
  let lo = 0;
  let hi = x.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = x[mid]!;
    if (v === t) return mid;
    if (v < t) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

function round3(x: number): string {
  return String(Number(x.toPrecision(3)));
}
