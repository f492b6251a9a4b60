/**
 * `/sql`: a console on the read-only `POST /api/sql` with the schema beside it. The statement
 * lives in memory only — never in the URL, history or storage — because queries can hold
 * personal data (an e-mail in a WHERE clause); it survives moving between pages, not a reload.
 * The CSV download is built in the browser from the result shown (a Blob behind a download link).
 */
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { api } from '../api/client';
import { Empty, ErrorMessage } from '../components/states';
import { csvFileName, insertAt, isRunShortcut, toCsv, type SqlAnswer } from './result-table';
import { ResultTable } from './ResultTable';
import { SchemaPanel } from './SchemaPanel';
import './sql.css';

const EXAMPLE = `SELECT ServiceName, SpanName, count() AS spans, round(quantile(0.99)(Duration) / 1e6, 1) AS p99_ms
FROM otel_traces
WHERE Timestamp > now() - INTERVAL 1 HOUR
GROUP BY ServiceName, SpanName
ORDER BY p99_ms DESC
LIMIT 50`;

/** The statement across page changes within this tab (module memory: gone on reload, never stored). */
let remembered = EXAMPLE;

type Run = { status: 'idle' } | { status: 'running' } | { status: 'done'; answer: SqlAnswer; at: Date } | { status: 'error'; error: unknown };

export default function SqlPage() {
  const [text, setText] = useState(remembered);
  const [run, setRun] = useState<Run>({ status: 'idle' });
  const editor = useRef<HTMLTextAreaElement>(null);
  const running = useRef<AbortController>(undefined);

  useEffect(() => {
    remembered = text;
  }, [text]);
  useEffect(() => () => running.current?.abort(), []);

  async function execute() {
    const query = text.trim();
    if (query === '') return;
    running.current?.abort();
    const controller = new AbortController();
    running.current = controller;
    setRun({ status: 'running' });
    try {
      const answer = await api<SqlAnswer>('/api/sql', { method: 'POST', body: { query }, signal: controller.signal });
      setRun({ status: 'done', answer, at: new Date() });
    } catch (error) {
      if (!controller.signal.aborted) setRun({ status: 'error', error });
    }
  }

  function cancel() {
    running.current?.abort();
    setRun({ status: 'idle' });
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (!isRunShortcut(event)) return;
    event.preventDefault();
    void execute();
  }

  function insert(name: string) {
    const el = editor.current;
    const { text: next, caret } = insertAt(text, el?.selectionStart ?? text.length, el?.selectionEnd ?? text.length, name);
    setText(next);
    requestAnimationFrame(() => {
      el?.focus();
      el?.setSelectionRange(caret, caret);
    });
  }

  return (
    <div className="sql-page">
      <h1>SQL console</h1>
      <div className="sql-layout">
        <div className="sql-main">
          <label htmlFor="sql-editor" className="sql-label">
            One read-only statement (SELECT or WITH … SELECT) over the span tables; your read rules apply inside it.
          </label>
          <textarea
            id="sql-editor"
            ref={editor}
            className="sql-editor"
            value={text}
            onChange={(e) => setText(e.target.value)}
            onKeyDown={onKeyDown}
            spellCheck={false}
            autoComplete="off"
            autoCapitalize="off"
            rows={8}
            aria-describedby="sql-privacy"
          />
          <div className="sql-actions">
            <button type="button" className="primary" onClick={() => void execute()} disabled={run.status === 'running' || text.trim() === ''}>
              Run
            </button>
            <span className="hint">Ctrl+Enter (⌘+Enter) runs.</span>
            {run.status === 'running' && (
              <button type="button" onClick={cancel}>
                Cancel
              </button>
            )}
            {run.status === 'done' && <CsvDownload answer={run.answer} at={run.at} />}
          </div>
          <p id="sql-privacy" className="hint">
            The statement stays in this page's memory only: it is not put in the URL or stored (queries can hold personal data), so it is not a link you can
            share, and a reload clears it.
          </p>
          <Outcome run={run} />
        </div>
        <SchemaPanel onInsert={insert} />
      </div>
    </div>
  );
}

function Outcome({ run }: { run: Run }) {
  if (run.status === 'idle') return null;
  if (run.status === 'running')
    return (
      <p className="state state-loading" role="status" aria-live="polite">
        Running…
      </p>
    );
  if (run.status === 'error') return <ErrorMessage error={run.error} title="Statement refused" />;
  const { answer } = run;
  return (
    <section aria-label="Result" className="sql-outcome">
      <p className="sql-summary" role="status">
        {answer.rowCount.toLocaleString('en')} {answer.rowCount === 1 ? 'row' : 'rows'} in {answer.elapsedMs.toLocaleString('en', { maximumFractionDigits: 1 })} ms
        {answer.truncated && (
          <strong className="sql-truncated">
            {' '}
            — truncated: the result passed the API's row or byte limit, only the first {answer.rows.length.toLocaleString('en')} rows are shown (and in the CSV). Add a LIMIT
            or aggregate to see all of it.
          </strong>
        )}
      </p>
      {answer.columns.length === 0 || answer.rows.length === 0 ? (
        <Empty>
          <p>The statement returned no rows.</p>
        </Empty>
      ) : (
        <ResultTable answer={answer} />
      )}
    </section>
  );
}

/** A link to a Blob of the result as CSV, made when the result arrives and revoked when it goes. */
function CsvDownload({ answer, at }: { answer: SqlAnswer; at: Date }) {
  const [href, setHref] = useState<string>();
  useEffect(() => {
    const url = URL.createObjectURL(new Blob([toCsv(answer.columns, answer.rows)], { type: 'text/csv;charset=utf-8' }));
    setHref(url);
    return () => URL.revokeObjectURL(url);
  }, [answer]);
  if (!href || answer.columns.length === 0) return null;
  return (
    <a className="button-link" href={href} download={csvFileName(at)}>
      Download CSV ({answer.rows.length.toLocaleString('en')} rows)
    </a>
  );
}
