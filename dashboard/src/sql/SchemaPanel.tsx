/** The tables and columns the console may read (`GET /api/sql/schema`); a click puts a name into the editor. */
import { ErrorMessage, Loading } from '../components/states';
import { useApi } from '../components/useApi';

export interface SqlSchemaAnswer {
  tables: Array<{ name: string; columns: Array<{ name: string; type: string; comment: string }> }>;
  restricted: boolean;
  refusedTables: string[];
  notes: string[];
}

export function SchemaPanel({ onInsert }: { onInsert(text: string): void }) {
  const schema = useApi<SqlSchemaAnswer>('/api/sql/schema');
  return (
    <aside className="sql-schema" aria-label="Schema">
      <h2>Tables</h2>
      {schema.status === 'idle' || schema.status === 'loading' ? (
        <Loading what="the schema" />
      ) : schema.status === 'error' ? (
        <ErrorMessage error={schema.error} title="The schema could not be read" />
      ) : (
        <>
          <p className="hint">Click a name to insert it at the cursor.</p>
          {schema.data.restricted && <p className="hint">Your credentials read only some services: these tables hold only their rows.</p>}
          {schema.data.tables.map((table) => (
            <details key={table.name} open={table.name === 'otel_traces'} data-table={table.name}>
              <summary>
                <button type="button" className="link-button sql-name" onClick={() => onInsert(table.name)} title={`Insert ${table.name}`}>
                  {table.name}
                </button>
              </summary>
              <ul className="sql-columns">
                {table.columns.map((c) => (
                  <li key={c.name} title={c.comment || undefined}>
                    <button type="button" className="link-button sql-name" onClick={() => onInsert(c.name)}>
                      {c.name}
                    </button>{' '}
                    <span className="sql-type">{c.type}</span>
                  </li>
                ))}
              </ul>
            </details>
          ))}
          {schema.data.refusedTables.length > 0 && <p className="hint">Not readable with your credentials: {schema.data.refusedTables.join(', ')}.</p>}
          <h3>Writing queries</h3>
          <ul className="sql-notes">
            {schema.data.notes.map((note) => (
              <li key={note}>{note}</li>
            ))}
          </ul>
        </>
      )}
    </aside>
  );
}
