/** The search filters. Submitting writes them into the URL; the page searches what the URL says. */
import { useState, type FormEvent } from 'react';
import { ServiceOperationFields } from '../components/ServiceOperationFields';
import { isoToLocalInput, LIMITS, localInputToIso, TIME_RANGES, type SearchForm as Form, type TimeRange } from './search-query';

const RANGE_LABELS: Record<TimeRange, string> = { '15m': 'Last 15 minutes', '1h': 'Last hour', '6h': 'Last 6 hours', '24h': 'Last 24 hours', custom: 'Custom…' };

export function SearchForm({ initial, services, onSearch }: { initial: Form; services: readonly string[]; onSearch(form: Form): void }) {
  const [form, setForm] = useState(initial);
  const set = <K extends keyof Form>(key: K, value: Form[K]) => setForm((f) => ({ ...f, [key]: value }));

  function submit(event: FormEvent) {
    event.preventDefault();
    onSearch(form);
  }

  return (
    <form className="search-form" onSubmit={submit} aria-label="Search traces">
      <ServiceOperationFields listId="search" value={form} services={services} onChange={(v) => setForm((f) => ({ ...f, ...v }))} />
      <label className="wide">
        Tags
        <input name="tags" value={form.tags} onChange={(e) => set('tags', e.target.value)} placeholder='http.route=/cart user.tier="gold"' autoComplete="off" spellCheck={false} />
      </label>
      <label>
        Min duration
        <input name="minDuration" value={form.minDuration} onChange={(e) => set('minDuration', e.target.value)} placeholder="250ms" autoComplete="off" />
      </label>
      <label>
        Max duration
        <input name="maxDuration" value={form.maxDuration} onChange={(e) => set('maxDuration', e.target.value)} placeholder="2s" autoComplete="off" />
      </label>
      <label>
        Time range
        <select name="range" value={form.range} onChange={(e) => set('range', e.target.value as TimeRange)}>
          {TIME_RANGES.map((r) => (
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
        Correlation ID
        <input name="correlationId" value={form.correlationId} onChange={(e) => set('correlationId', e.target.value)} placeholder="every trace of one request" autoComplete="off" spellCheck={false} />
      </label>
      <label>
        Results
        <select name="limit" value={form.limit} onChange={(e) => set('limit', Number(e.target.value))}>
          {LIMITS.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>
      <label className="checkbox">
        <input name="errorsOnly" type="checkbox" checked={form.errorsOnly} onChange={(e) => set('errorsOnly', e.target.checked)} />
        Errors only
      </label>
      <div className="actions">
        <button type="submit">Find traces</button>
      </div>
      {form.correlationId.trim() !== '' && <p className="hint">A correlation ID lists every trace of that request: the other filters do not apply.</p>}
    </form>
  );
}
