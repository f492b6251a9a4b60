/** Traces found, newest first: each row opens its trace. */
import { Link } from 'react-router';
import type { TraceSummary } from '../api/types';
import { formatDuration, formatTimestamp, timestampTitle } from '../format/time';

export function ResultsList({ traces }: { traces: readonly TraceSummary[] }) {
  return (
    <table className="results">
      <caption>
        {traces.length} {traces.length === 1 ? 'trace' : 'traces'}
      </caption>
      <thead>
        <tr>
          <th scope="col">Root operation</th>
          <th scope="col">Services</th>
          <th scope="col" className="num">
            Spans
          </th>
          <th scope="col" className="num">
            Duration
          </th>
          <th scope="col" className="num">
            Errors
          </th>
          <th scope="col">Start</th>
        </tr>
      </thead>
      <tbody>
        {traces.map((t) => (
          <tr key={t.traceId} className={t.errorCount > 0 ? 'has-errors' : undefined} data-trace-id={t.traceId}>
            <td>
              <Link to={`/traces/${t.traceId}`} className="trace-link">
                <span className="service-name">{t.rootServiceName || '(no root)'}</span> {t.rootSpanName}
              </Link>
            </td>
            <td className="services">{t.services.join(', ')}</td>
            <td className="num">{t.spanCount}</td>
            <td className="num" title={`${t.durationNano} ns`}>
              {formatDuration(t.durationNano)}
            </td>
            <td className="num">{t.errorCount > 0 ? <span className="error-count">{t.errorCount}</span> : '0'}</td>
            <td title={timestampTitle(t.startTimeUnixNano)}>
              <time dateTime={new Date(Number(BigInt(t.startTimeUnixNano) / 1_000_000n)).toISOString()}>{formatTimestamp(t.startTimeUnixNano)}</time>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
