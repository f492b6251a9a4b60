/**
 * The live tail's filters, kept in the page URL (deep links, the back button), and the
 * `GET /api/tail` stream they open. Values go to the API as typed: it names a bad one.
 */
import { queryString } from '../api/client';

export interface TailForm {
  service: string;
  operation: string;
  /** `250ms`, `1.5s`…; '' for none. */
  minDuration: string;
  errorsOnly: boolean;
}

export const EMPTY_TAIL_FORM: TailForm = { service: '', operation: '', minDuration: '', errorsOnly: false };

export function tailFormFromUrl(search: URLSearchParams): TailForm {
  const text = (key: string) => search.get(key) ?? '';
  return { service: text('service'), operation: text('operation'), minDuration: text('minDuration'), errorsOnly: search.get('errors') === '1' };
}

/** Only the filters set, so links stay short. */
export function urlFromTailForm(form: TailForm): URLSearchParams {
  const out = new URLSearchParams();
  for (const key of ['service', 'operation', 'minDuration'] as const) {
    const value = form[key].trim();
    if (value !== '') out.set(key, value);
  }
  if (form.errorsOnly) out.set('errors', '1');
  return out;
}

/** The stream's path (same origin: EventSource sends the session cookie). */
export function tailApiPath(form: TailForm): string {
  return `/api/tail${queryString({ service: form.service.trim(), operation: form.operation.trim(), minDuration: form.minDuration.trim(), errorsOnly: form.errorsOnly })}`;
}
