/**
 * The service pages' state kept in the URL (deep links, the back button): the time range and,
 * on the map, the selected service. And the API calls each page makes for that range.
 */
import { queryString } from '../api/client';

export const RANGES = ['15m', '1h', '6h', '24h'] as const;
export type Range = (typeof RANGES)[number];
export const DEFAULT_RANGE: Range = '1h';

export const RANGE_LABELS: Readonly<Record<Range, string>> = {
  '15m': 'Last 15 minutes',
  '1h': 'Last hour',
  '6h': 'Last 6 hours',
  '24h': 'Last 24 hours',
};

/** The chart step of each range: 60 to 96 points, whole minutes as the RED and anomaly APIs require. */
const STEPS: Readonly<Record<Range, string>> = { '15m': '1m', '1h': '1m', '6h': '5m', '24h': '15m' };

/** Seconds in each range: node rates are requests over this. */
export const RANGE_SECONDS: Readonly<Record<Range, number>> = { '15m': 900, '1h': 3_600, '6h': 21_600, '24h': 86_400 };

/** Traces read to pick the slowest from (the API lists newest first, at most 1000). */
export const TRACE_SAMPLE = 500;
/** Rows shown in the slowest and failing trace lists. */
export const TRACES_SHOWN = 10;
export const HOTSPOTS_SHOWN = 10;
/** RED rows and graph edges asked for at most (the APIs' own maximum): an answer this long may be cut short. */
export const ROW_LIMIT = 10_000;

export function rangeOf(search: URLSearchParams): Range {
  const value = search.get('range');
  return (RANGES as readonly string[]).includes(value ?? '') ? (value as Range) : DEFAULT_RANGE;
}

export function stepOf(range: Range): string {
  return STEPS[range];
}

export interface MapState {
  range: Range;
  /** The service whose panel is open. */
  node: string | undefined;
}

export function mapStateOf(search: URLSearchParams): MapState {
  const node = search.get('node');
  return { range: rangeOf(search), node: node === null || node === '' ? undefined : node };
}

/** The URL query of a map state: only what differs from the defaults, so links stay short. */
export function mapQuery(state: MapState): URLSearchParams {
  const out = new URLSearchParams();
  if (state.range !== DEFAULT_RANGE) out.set('range', state.range);
  if (state.node !== undefined) out.set('node', state.node);
  return out;
}

/** `?range=6h` for a link that keeps the range ('' for the default). */
export function rangeQuery(range: Range): string {
  return range === DEFAULT_RANGE ? '' : `?range=${range}`;
}

export function servicePagePath(service: string, range: Range): string {
  return `/services/${encodeURIComponent(service)}${rangeQuery(range)}`;
}

export const apiPaths = {
  graph: (range: Range) => `/api/service-graph${queryString({ lookback: range, limit: ROW_LIMIT })}`,
  /** One point per service, operation and kind over the whole range (exact quantiles over it). */
  redTotals: (range: Range, service?: string) => `/api/metrics/red${queryString({ service, lookback: range, limit: ROW_LIMIT })}`,
  /** Points per step, for the charts. */
  redSeries: (range: Range, service: string) => `/api/metrics/red${queryString({ service, lookback: range, step: stepOf(range), limit: ROW_LIMIT })}`,
  /** Windows as long as the chart step, so that a marker covers whole points. */
  anomalies: (range: Range, service: string) => `/api/anomalies${queryString({ service, lookback: range, window: stepOf(range) })}`,
  hotspots: (range: Range, service: string) => `/api/hotspots${queryString({ service, lookback: range, limit: HOTSPOTS_SHOWN })}`,
  traces: (range: Range, service: string, errorsOnly: boolean) =>
    `/api/traces${queryString({ service, lookback: range, limit: errorsOnly ? TRACES_SHOWN : TRACE_SAMPLE, errorsOnly })}`,
};
