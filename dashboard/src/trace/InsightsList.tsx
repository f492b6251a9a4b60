/**
 * The trace's insights (`GET /api/traces/:traceId/insights`: N+1, error origin, …), each
 * linking to its spans (a link selects the span: the page reveals and scrolls to it), and the
 * completeness findings that say why a part of the trace is missing. The API analyses up to
 * 10,000 spans; beyond, this says so instead of asking.
 */
import { Link, useSearchParams } from 'react-router';
import { ErrorMessage } from '../components/states';
import { useApi } from '../components/useApi';
import { formatDurationNs } from './model';
import { missingReasons, ruleLabel, type InsightsJson } from './insights';
import { ANALYSIS_SPAN_CAP } from './useTraceModel';

const MAX_SPAN_LINKS = 10;

export function useInsights(traceId: string, spanCount: number) {
  return useApi<InsightsJson>(spanCount <= ANALYSIS_SPAN_CAP ? `/api/traces/${encodeURIComponent(traceId)}/insights` : undefined);
}

export function InsightsList({ state, spanCount }: { state: ReturnType<typeof useInsights>; spanCount: number }) {
  const [params] = useSearchParams();
  const linkTo = (spanId: string) => {
    const next = new URLSearchParams(params);
    next.set('span', spanId);
    return `?${next.toString()}`;
  };
  if (spanCount > ANALYSIS_SPAN_CAP) {
    return <p className="hint insights-unavailable">Insights are unavailable for traces over {ANALYSIS_SPAN_CAP.toLocaleString('en-US')} spans (this one has {spanCount.toLocaleString('en-US')}); the critical path and self times are computed here.</p>;
  }
  // A line, not the boxed loading state: the waterfall below should not jump when insights arrive.
  if (state.status === 'loading' || state.status === 'idle') {
    return (
      <p className="hint" role="status">
        Loading insights…
      </p>
    );
  }
  if (state.status === 'error') return <ErrorMessage error={state.error} title="Insights could not be computed" />;
  const { insights } = state.data;
  return (
    <section className="insights" aria-label="Insights">
      <h2>Insights</h2>
      {insights.length === 0 ? (
        <p className="hint">No N+1, error origin, retries, sequential calls or slow method found.</p>
      ) : (
        <ul>
          {insights.map((insight, i) => (
            <li key={i} data-rule={insight.rule}>
              <span className="insight-rule">{ruleLabel(insight.rule)}</span> {insight.summary}
              {insight.impactNano && insight.impactNano !== '0' ? <span className="hint"> (impact {formatDurationNs(Number(insight.impactNano))})</span> : null}{' '}
              <span className="insight-spans">
                {insight.spanIds.slice(0, MAX_SPAN_LINKS).map((spanId, k) => (
                  <Link key={spanId} to={linkTo(spanId)} className="insight-span" data-span-id={spanId} title={`Show span ${spanId}`}>
                    {insight.spanIds.length === 1 ? 'show span' : `#${k + 1}`}
                  </Link>
                ))}
                {insight.spanIds.length > MAX_SPAN_LINKS && <span className="hint"> +{insight.spanIds.length - MAX_SPAN_LINKS} more</span>}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** Why parts are missing, from the insights' completeness findings (header lost, not sampled, …). */
export function MissingReasons({ state }: { state: ReturnType<typeof useInsights> }) {
  if (state.status !== 'done') return null;
  const reasons = missingReasons(state.data.completeness);
  if (reasons.length === 0) return null;
  return (
    <ul className="missing-reasons">
      {reasons.map((r) => (
        <li key={r.explanation}>
          {r.explanation} ({r.spans} {r.spans === 1 ? 'span' : 'spans'})
        </li>
      ))}
    </ul>
  );
}
