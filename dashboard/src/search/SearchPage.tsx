/** `/search` (and `/`): find traces by service, operation, tags, duration, time, correlation ID or errors. */
import { useMemo } from 'react';
import { useSearchParams } from 'react-router';
import type { CorrelationAnswer, ServicesAnswer, TracesAnswer } from '../api/types';
import { Empty, ErrorMessage, Loading, NoTracesYet } from '../components/states';
import { useApi, type ApiState } from '../components/useApi';
import { DurationScatter } from './DurationScatter';
import { ResultsList } from './ResultsList';
import { apiPathOf, formFromUrl, urlFromForm } from './search-query';
import { SearchForm } from './SearchForm';

export default function SearchPage() {
  const [params, setParams] = useSearchParams();
  const query = params.toString();
  const form = useMemo(() => formFromUrl(new URLSearchParams(query)), [query]);
  const services = useApi<ServicesAnswer>('/api/services');
  const result = useApi<TracesAnswer | CorrelationAnswer>(apiPathOf(form));
  const serviceNames = services.status === 'done' ? services.data.services : [];

  return (
    <div className="search-page">
      <h1>Search traces</h1>
      {/* Keyed by the URL: back/forward and deep links reset the fields to what the URL says. */}
      <SearchForm key={query} initial={form} services={serviceNames} onSearch={(next) => setParams(urlFromForm(next))} />
      {services.status === 'error' && <ErrorMessage error={services.error} title="Services could not be listed" />}
      <Results result={result} nothingStored={services.status === 'done' && serviceNames.length === 0} />
    </div>
  );
}

function Results({ result, nothingStored }: { result: ApiState<TracesAnswer | CorrelationAnswer>; nothingStored: boolean }) {
  if (result.status === 'idle' || result.status === 'loading') return <Loading what="traces" />;
  if (result.status === 'error') return <ErrorMessage error={result.error} title="Search refused" />;
  const { traces } = result.data;
  const missing = 'missingTraceIds' in result.data ? result.data.missingTraceIds : [];
  if (traces.length === 0) {
    if (nothingStored) return <NoTracesYet />;
    return (
      <Empty>
        <p>No trace matches these filters in this time range.</p>
      </Empty>
    );
  }
  return (
    <section aria-label="Results">
      {missing.length > 0 && (
        <p className="hint">
          {missing.length} more {missing.length === 1 ? 'trace was' : 'traces were'} recorded under this correlation ID but {missing.length === 1 ? 'is' : 'are'} not stored (not sampled, or past retention).
        </p>
      )}
      <DurationScatter traces={traces} />
      <ResultsList traces={traces} />
    </section>
  );
}
