/** The comparison at a glance: each side (linked to its trace), the overall change, and the differences counted. */
import { Link } from 'react-router';
import { formatDuration } from '../format/time';
import { compareUrl, signedDelta, type CompareAnswer, type CompareSummary } from './compare-model';

export function CompareSummaryView({ answer, summary }: { answer: CompareAnswer; summary: CompareSummary }) {
  const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
  return (
    <section className="compare-summary" aria-label="Summary">
      <div className="compare-sides">
        <Side label="A" traceId={answer.a.traceId} spans={summary.spansA} duration={summary.durationA} />
        <div className={`compare-overall change-${summary.change}`} data-change={summary.change}>
          {summary.durationDelta !== undefined ? (
            <>
              <span className="compare-delta" title={`${summary.durationDelta} ns (B − A)`}>
                {signedDelta(summary.durationDelta, formatDuration)}
              </span>{' '}
              {summary.change === 'slower' ? 'B is slower' : summary.change === 'faster' ? 'B is faster' : 'about the same duration'}
            </>
          ) : (
            <span>per path: median of {plural(summary.typicalOf ?? 0, 'recent trace')}</span>
          )}
          {!summary.typical && (
            <div>
              <Link to={compareUrl({ a: answer.b.traceId, b: answer.a.traceId })} className="compare-swap">
                Swap A and B
              </Link>
            </div>
          )}
        </div>
        {summary.typical ? (
          <div className="compare-side side-b">
            <span className="side-label">B</span> typical shape of A&apos;s operation
            <div className="side-figures">
              {plural(summary.typicalOf ?? 0, 'trace')}, median {plural(summary.spansB, 'span')}
            </div>
          </div>
        ) : (
          <Side label="B" traceId={answer.b.traceId} spans={summary.spansB} duration={summary.durationB} />
        )}
      </div>
      <p className="compare-counts" data-testid="compare-counts">
        {summary.identical ? (
          <strong>No difference: every span path has the same count and total duration.</strong>
        ) : (
          <>
            <span className="count-only-a">{plural(summary.onlyInA, 'path')} only in A</span> · <span className="count-only-b">{plural(summary.onlyInB, 'path')} only in B</span> ·{' '}
            <span className="count-changed">
              {plural(summary.changed, 'path')} changed{summary.countChanged > 0 ? ` (${summary.countChanged} in span count)` : ''}
            </span>{' '}
            · {summary.unchanged} unchanged
          </>
        )}
      </p>
      {summary.truncated && <p className="hint">Only the biggest differences are listed: the API cut a list at its limit.</p>}
    </section>
  );
}

function Side({ label, traceId, spans, duration }: { label: string; traceId: string; spans: number; duration?: bigint }) {
  return (
    <div className={`compare-side side-${label.toLowerCase()}`}>
      <span className="side-label">{label}</span>{' '}
      <Link to={`/traces/${encodeURIComponent(traceId)}`} className="trace-link" data-side={label.toLowerCase()}>
        <code>{traceId}</code>
      </Link>
      <div className="side-figures">
        {spans} {spans === 1 ? 'span' : 'spans'}
        {duration !== undefined && (
          <>
            , <span title={`${duration} ns`}>{formatDuration(duration)}</span>
          </>
        )}
      </div>
    </div>
  );
}
