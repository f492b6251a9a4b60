/**
 * `/compare?a=&b=`: two traces side by side, or a trace beside the typical shape of its
 * operation (`b=typical`), with the differences marked. Without both IDs, a form asks for them.
 */
import { useMemo } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { ErrorMessage, Loading } from '../components/states';
import { useApi } from '../components/useApi';
import { CompareForm } from './CompareForm';
import { CompareSummaryView } from './CompareSummary';
import { CompareTable } from './CompareTable';
import { apiPathOf, compareUrl, isComplete, queryFromUrl, rowsOf, summaryOf, TYPICAL, type CompareAnswer } from './compare-model';
import './compare.css';

export default function ComparePage() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const query = useMemo(() => queryFromUrl(params), [params]);
  const complete = isComplete(query);
  const result = useApi<CompareAnswer>(complete ? apiPathOf(query) : undefined);

  return (
    <div className="compare-page">
      <h1>Compare traces</h1>
      {/* Keyed by the URL: back/forward reset the fields to what the URL says. */}
      <CompareForm key={params.toString()} initial={query} onCompare={(q) => navigate(compareUrl(q))} />
      {!complete && (
        <p className="hint">
          Enter two trace IDs (from <Link to="/search">Search</Link>), or one and <code>{TYPICAL}</code> to compare a trace with the typical shape of its operation.
        </p>
      )}
      {complete && (result.status === 'loading' || result.status === 'idle') && <Loading what="the comparison" />}
      {complete && result.status === 'error' && <ErrorMessage error={result.error} title="Comparison refused" />}
      {complete && result.status === 'done' && <Comparison answer={result.data} />}
    </div>
  );
}

function Comparison({ answer }: { answer: CompareAnswer }) {
  const summary = useMemo(() => summaryOf(answer), [answer]);
  const rows = useMemo(() => rowsOf(answer), [answer]);
  return (
    <>
      <CompareSummaryView answer={answer} summary={summary} />
      {rows.length > 0 && <CompareTable rows={rows} typical={summary.typical} truncated={summary.truncated} />}
    </>
  );
}
