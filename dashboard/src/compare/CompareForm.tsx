/** The two IDs to compare; checked for shape here, then the page URL carries them. */
import { useState, type FormEvent } from 'react';
import { idProblem, normaliseId, type CompareQuery } from './compare-model';

export function CompareForm({ initial, onCompare }: { initial: CompareQuery; onCompare(q: CompareQuery): void }) {
  const [a, setA] = useState(initial.a);
  const [b, setB] = useState(initial.b);
  const [problems, setProblems] = useState<string[]>([]);

  function submit(event: FormEvent) {
    event.preventDefault();
    const found = [idProblem(a, 'a'), idProblem(b, 'b')].filter((p): p is string => p !== undefined);
    setProblems(found);
    if (found.length === 0) onCompare({ a: normaliseId(a), b: normaliseId(b) });
  }

  return (
    <form className="compare-form" onSubmit={submit} aria-label="Traces to compare" noValidate>
      <label>
        Trace A
        <input name="a" value={a} onChange={(e) => setA(e.target.value)} placeholder="32 hex digits" autoComplete="off" spellCheck={false} aria-invalid={problems.some((p) => p.startsWith('A:'))} />
      </label>
      <label>
        Trace B
        <input name="b" value={b} onChange={(e) => setB(e.target.value)} placeholder="32 hex digits, or typical" autoComplete="off" spellCheck={false} aria-invalid={problems.some((p) => p.startsWith('B:'))} />
      </label>
      <div className="actions">
        <button type="button" onClick={() => setB('typical')} title="Compare A with the median shape of recent traces of its root operation">
          B = typical
        </button>
        <button type="submit">Compare</button>
      </div>
      {problems.length > 0 && (
        <ul className="form-problems" role="alert">
          {problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
    </form>
  );
}
