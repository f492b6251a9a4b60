/**
 * The search form's state, kept in the page URL (deep links, the back button), and the API call
 * it becomes. Values are passed to the API as typed: the API checks them and names what is wrong.
 */
import { queryString } from '../api/client';

export const TIME_RANGES = ['15m', '1h', '6h', '24h', 'custom'] as const;
export type TimeRange = (typeof TIME_RANGES)[number];
export const LIMITS = [20, 50, 100, 500] as const;

export interface SearchForm {
  service: string;
  operation: string;
  /** `key=value key2="v 2"` (or JSON), as the API takes it. */
  tags: string;
  /** `250ms`, `1.5s`… */
  minDuration: string;
  maxDuration: string;
  range: TimeRange;
  /** ISO-8601 instants, for range `custom`. */
  start: string;
  end: string;
  /** When set, the traces of this correlation ID (the other filters do not apply). */
  correlationId: string;
  errorsOnly: boolean;
  limit: number;
}

export const EMPTY_FORM: SearchForm = {
  service: '',
  operation: '',
  tags: '',
  minDuration: '',
  maxDuration: '',
  range: '1h',
  start: '',
  end: '',
  correlationId: '',
  errorsOnly: false,
  limit: 20,
};

/** The form a URL's query describes; unknown or malformed values fall back to the defaults. */
export function formFromUrl(search: URLSearchParams): SearchForm {
  const text = (key: string) => search.get(key) ?? '';
  const range = search.get('range');
  const limit = Number(search.get('limit'));
  return {
    service: text('service'),
    operation: text('operation'),
    tags: text('tags'),
    minDuration: text('minDuration'),
    maxDuration: text('maxDuration'),
    range: (TIME_RANGES as readonly string[]).includes(range ?? '') ? (range as TimeRange) : EMPTY_FORM.range,
    start: text('start'),
    end: text('end'),
    correlationId: text('correlation'),
    errorsOnly: search.get('errors') === '1',
    limit: (LIMITS as readonly number[]).includes(limit) ? limit : EMPTY_FORM.limit,
  };
}

/** The URL query of a form: only what differs from the defaults, so links stay short. */
export function urlFromForm(form: SearchForm): URLSearchParams {
  const out = new URLSearchParams();
  const put = (key: string, value: string) => {
    if (value.trim() !== '') out.set(key, value.trim());
  };
  put('service', form.service);
  put('operation', form.operation);
  put('tags', form.tags);
  put('minDuration', form.minDuration);
  put('maxDuration', form.maxDuration);
  if (form.range !== EMPTY_FORM.range) out.set('range', form.range);
  if (form.range === 'custom') {
    put('start', form.start);
    put('end', form.end);
  }
  put('correlation', form.correlationId);
  if (form.errorsOnly) out.set('errors', '1');
  if (form.limit !== EMPTY_FORM.limit) out.set('limit', String(form.limit));
  return out;
}

/** The API path that answers a form: a correlation lookup, or a trace search. */
export function apiPathOf(form: SearchForm): string {
  const correlationId = form.correlationId.trim();
  if (correlationId !== '') return `/api/correlations/${encodeURIComponent(correlationId)}${queryString({ limit: form.limit })}`;
  const window = form.range === 'custom' ? { start: form.start.trim(), end: form.end.trim() } : { lookback: form.range };
  return `/api/traces${queryString({
    service: form.service.trim(),
    operation: form.operation.trim(),
    tags: form.tags.trim(),
    minDuration: form.minDuration.trim(),
    maxDuration: form.maxDuration.trim(),
    ...window,
    errorsOnly: form.errorsOnly,
    limit: form.limit,
  })}`;
}

/** `YYYY-MM-DDTHH:mm` in the browser's zone (what `<input type="datetime-local">` shows) of an ISO instant. */
export function isoToLocalInput(iso: string): string {
  const date = new Date(iso);
  if (iso === '' || Number.isNaN(date.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The ISO instant of a `datetime-local` value (read in the browser's zone); '' when empty or invalid. */
export function localInputToIso(local: string): string {
  const date = new Date(local);
  return local === '' || Number.isNaN(date.getTime()) ? '' : date.toISOString();
}
