/**
 * The trace page's state that lives in the URL query, so that a link opens the same view and the
 * back button undoes a selection: `span` (the selected span ID), `adjust=clock-skew` (the
 * skeleton with clock-skew offsets applied) and `view` (the tab: waterfall, self time, flame).
 */

export type TraceTab = 'waterfall' | 'self-time' | 'flame';
export const TABS: readonly TraceTab[] = ['waterfall', 'self-time', 'flame'];

export interface TraceUrlState {
  /** 16 lower-case hex digits, or '' when no span is selected. */
  span: string;
  adjustClockSkew: boolean;
  tab: TraceTab;
}

const SPAN_ID = /^[0-9a-f]{16}$/;

export function traceStateFromUrl(params: URLSearchParams): TraceUrlState {
  const span = (params.get('span') ?? '').trim().toLowerCase();
  const view = params.get('view') ?? '';
  return {
    span: SPAN_ID.test(span) ? span : '',
    adjustClockSkew: params.get('adjust') === 'clock-skew',
    tab: (TABS as readonly string[]).includes(view) ? (view as TraceTab) : 'waterfall',
  };
}

/** The query for a state; defaults are left out, other parameters of `base` are kept. */
export function urlOfTraceState(state: TraceUrlState, base = new URLSearchParams()): URLSearchParams {
  const out = new URLSearchParams(base);
  const put = (key: string, value: string) => (value === '' ? out.delete(key) : out.set(key, value));
  put('span', state.span);
  put('adjust', state.adjustClockSkew ? 'clock-skew' : '');
  put('view', state.tab === 'waterfall' ? '' : state.tab);
  return out;
}

/** The skeleton route for a trace: what the page fetches first. */
export function skeletonPath(traceId: string, adjustClockSkew: boolean): string {
  return `/api/traces/${encodeURIComponent(traceId)}/skeleton${adjustClockSkew ? '?adjust=clock-skew' : ''}`;
}

/** The search page's URL for every trace of a correlation ID (its parameter is `correlation`). */
export function correlationSearchUrl(correlationId: string): string {
  return `/search?${new URLSearchParams({ correlation: correlationId }).toString()}`;
}

export function compareWithTypicalUrl(traceId: string): string {
  return `/compare?${new URLSearchParams({ a: traceId, b: 'typical' }).toString()}`;
}

/** What the page says when the skeleton is refused, by HTTP status (the API's own message follows it). */
export function refusalTitle(status: number): string {
  if (status === 404) return 'Trace not found (or not readable with your access)';
  if (status === 400) return 'Bad trace ID';
  if (status === 413) return 'This trace is too big to show (over 200,000 spans)';
  return 'The trace could not be loaded';
}
