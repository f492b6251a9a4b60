/**
 * `/flame`: where time goes across many requests, down to the method — the call trees of the
 * most recent matching traces merged into one flame graph (`GET /api/flame`). The filter is the
 * URL query (deep links, the back button).
 */
import { useMemo, useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import type { ServicesAnswer } from '../api/types';
import { ServiceOperationFields } from '../components/ServiceOperationFields';
import { Empty, ErrorMessage, Loading, NoTracesYet } from '../components/states';
import { useApi } from '../components/useApi';
import { isoToLocalInput, localInputToIso } from '../search/search-query';
import { FLAME_RANGES, FLAME_TRACE_COUNTS, flameApiPath, flameFormFromUrl, urlFromFlameForm, type FlameForm, type FlameRange } from './flame-query';
import { FlameResult } from './FlameResult';
import type { FlameAnswerJson } from './tree';

interface AggregateFlameAnswer extends FlameAnswerJson {
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  skippedTraceCount: number;
}

const RANGE_LABELS: Record<FlameRange, string> = {
  '15m': 'Last 15 minutes',
  '1h': 'Last hour',
  '6h': 'Last 6 hours',
  '24h': 'Last 24 hours',
  '7d': 'Last 7 days',
  custom: 'Custom…',
};

export default function FlamePage() {
  const [params, setParams] = useSearchParams();
  const query = params.toString();
  const form = useMemo(() => flameFormFromUrl(new URLSearchParams(query)), [query]);
  const services = useApi<ServicesAnswer>('/api/services');
  const result = useApi<AggregateFlameAnswer>(flameApiPath(form));
  const serviceNames = services.status === 'done' ? services.data.services : [];

  return (
    <div className="flame-page">
      <h1>Flame graph</h1>
      <p className="hint">The call trees of the most recent matching traces, merged: width is time spent, down to the method.</p>
      {/* Keyed by the URL: back/forward and deep links reset the fields to what the URL says. */}
      <FlameFilter key={query} initial={form} services={serviceNames} onApply={(next) => setParams(urlFromFlameForm(next))} />
      {services.status === 'error' && <ErrorMessage error={services.error} title="Services could not be listed" />}
      {result.status === 'idle' || result.status === 'loading' ? (
        <Loading what="the flame graph" />
      ) : result.status === 'error' ? (
        <ErrorMessage error={result.error} title="Flame graph refused" />
      ) : result.data.traceCount === 0 ? (
        services.status === 'done' && serviceNames.length === 0 ? (
          <NoTracesYet />
        ) : (
          <Empty>
            <p>No trace matches these filters in this time range.</p>
            {result.data.skippedTraceCount > 0 && (
              <p>
                {result.data.skippedTraceCount} matching {result.data.skippedTraceCount === 1 ? 'trace was' : 'traces were'} skipped: too many spans to merge in one
                request. Narrow the window or the filter.
              </p>
            )}
          </Empty>
        )
      ) : (
        <FlameResult answer={result.data} label={`of ${result.data.traceCount} traces`} />
      )}
    </div>
  );
}

function FlameFilter({ initial, services, onApply }: { initial: FlameForm; services: readonly string[]; onApply(form: FlameForm): void }) {
  const [form, setForm] = useState(initial);
  const set = <K extends keyof FlameForm>(key: K, value: FlameForm[K]) => setForm((f) => ({ ...f, [key]: value }));

  function submit(event: FormEvent) {
    event.preventDefault();
    onApply(form);
  }

  return (
    <form className="search-form" onSubmit={submit} aria-label="Flame graph filter">
      <ServiceOperationFields listId="flame" value={form} services={services} onChange={(v) => setForm((f) => ({ ...f, ...v }))} />
      <label>
        Time range
        <select name="range" value={form.range} onChange={(e) => set('range', e.target.value as FlameRange)}>
          {FLAME_RANGES.map((r) => (
            <option key={r} value={r}>
              {RANGE_LABELS[r]}
            </option>
          ))}
        </select>
      </label>
      {form.range === 'custom' && (
        <>
          <label>
            From
            <input name="start" type="datetime-local" value={isoToLocalInput(form.start)} onChange={(e) => set('start', localInputToIso(e.target.value))} />
          </label>
          <label>
            To
            <input name="end" type="datetime-local" value={isoToLocalInput(form.end)} onChange={(e) => set('end', localInputToIso(e.target.value))} />
          </label>
        </>
      )}
      <label>
        Traces merged
        <select name="traces" value={form.traces} onChange={(e) => set('traces', Number(e.target.value))}>
          {FLAME_TRACE_COUNTS.map((n) => (
            <option key={n} value={n}>
              {n} most recent
            </option>
          ))}
        </select>
      </label>
      <label>
        Frames at most
        <input name="frames" inputMode="numeric" value={form.maxFrames} onChange={(e) => set('maxFrames', e.target.value)} placeholder="5000" autoComplete="off" />
      </label>
      <div className="actions">
        <button type="submit">Show flame graph</button>
      </div>
      <p className="hint">
        Service and operation match any span of a trace (the same span when both are set), not only its root. Past the frame limit (2 to 20,000), the lightest frames are
        folded into "(other)".
      </p>
    </form>
  );
}
