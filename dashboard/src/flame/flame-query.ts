/**
 * The `/flame` page's filter, kept in the page URL (deep links, the back button), and the
 * `GET /api/flame` call it becomes. Values go to the API as typed: it checks them and names
 * what is wrong.
 */
import { queryString } from '../api/client';

export const FLAME_RANGES = ['15m', '1h', '6h', '24h', '7d', 'custom'] as const;
export type FlameRange = (typeof FLAME_RANGES)[number];
/** How many of the most recent matching traces are merged (the API allows 1 to 1000). */
export const FLAME_TRACE_COUNTS = [50, 200, 500, 1000] as const;

export interface FlameForm {
  service: string;
  operation: string;
  range: FlameRange;
  /** ISO-8601 instants, for range `custom`. */
  start: string;
  end: string;
  traces: number;
  /** Frames answered at most (the API's `maxNodes`, 2 to 20,000; '' for its default 5,000): the lightest are folded into "(other)". */
  maxFrames: string;
}

export const DEFAULT_FLAME_FORM: FlameForm = { service: '', operation: '', range: '1h', start: '', end: '', traces: 200, maxFrames: '' };

/** The form a URL's query describes; unknown or malformed values fall back to the defaults. */
export function flameFormFromUrl(search: URLSearchParams): FlameForm {
  const text = (key: string) => search.get(key) ?? '';
  const range = search.get('range') ?? '';
  const traces = Number(search.get('traces'));
  return {
    service: text('service'),
    operation: text('operation'),
    range: (FLAME_RANGES as readonly string[]).includes(range) ? (range as FlameRange) : DEFAULT_FLAME_FORM.range,
    start: text('start'),
    end: text('end'),
    traces: (FLAME_TRACE_COUNTS as readonly number[]).includes(traces) ? traces : DEFAULT_FLAME_FORM.traces,
    maxFrames: text('frames'),
  };
}

/** The URL query of a form: only what differs from the defaults, so links stay short. */
export function urlFromFlameForm(form: FlameForm): URLSearchParams {
  const out = new URLSearchParams();
  const put = (key: string, value: string) => {
    if (value.trim() !== '') out.set(key, value.trim());
  };
  put('service', form.service);
  put('operation', form.operation);
  if (form.range !== DEFAULT_FLAME_FORM.range) out.set('range', form.range);
  if (form.range === 'custom') {
    put('start', form.start);
    put('end', form.end);
  }
  if (form.traces !== DEFAULT_FLAME_FORM.traces) out.set('traces', String(form.traces));
  put('frames', form.maxFrames);
  return out;
}

/** `range` as the API's `lookback` (`7d` is 168h: the API's widest window). */
function lookbackOf(range: Exclude<FlameRange, 'custom'>): string {
  return range === '7d' ? '168h' : range;
}

/** The `GET /api/flame` path answering a form. */
export function flameApiPath(form: FlameForm): string {
  const window = form.range === 'custom' ? { start: form.start.trim(), end: form.end.trim() } : { lookback: lookbackOf(form.range) };
  return `/api/flame${queryString({ service: form.service.trim(), operation: form.operation.trim(), ...window, traces: form.traces, maxNodes: form.maxFrames.trim() })}`;
}
