/** One flame answer of the API drawn: what it merged, what it left out (plainly), and the graph. */
import { useMemo } from 'react';
import { ErrorMessage } from '../components/states';
import { FlameGraph } from './FlameGraph';
import { flameNotes } from './flame-summary';
import { flameTree, type FlameAnswerJson, type FlameTree } from './tree';

export interface FlameResultProps {
  answer: FlameAnswerJson & { skippedTraceCount?: number };
  /** For screen readers and the summary line: "of 200 traces", "of trace 4bf9…". */
  label: string;
}

export function FlameResult({ answer, label }: FlameResultProps) {
  const built = useMemo((): { tree: FlameTree } | { error: unknown } => {
    try {
      return { tree: flameTree(answer) };
    } catch (error) {
      return { error };
    }
  }, [answer]);
  if ('error' in built) return <ErrorMessage error={built.error} title="The flame graph could not be read" />;
  const notes = flameNotes(built.tree, answer);
  return (
    <section className="flame-result" aria-label="Flame graph">
      <p className="flame-summary-line">
        {answer.traceCount.toLocaleString('en')} {answer.traceCount === 1 ? 'trace' : 'traces'}, {answer.spanCount.toLocaleString('en')} spans,{' '}
        {Math.max(0, answer.nodeCount - 1).toLocaleString('en')} distinct call paths.
      </p>
      {notes.length > 0 && (
        <ul className="flame-notes" aria-label="What the graph leaves out">
          {notes.map((note) => (
            <li key={note}>{note}</li>
          ))}
        </ul>
      )}
      <FlameGraph tree={built.tree} label={`Flame graph ${label}`} />
    </section>
  );
}
