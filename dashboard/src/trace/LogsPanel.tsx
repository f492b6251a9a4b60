/**
 * The trace's log records under the waterfall (`GET /api/traces/:id/logs`, in time order, with
 * those of its correlation IDs marked), a page at a time; a record of a span in this trace
 * selects that span. `SpanLogs` lists one span's records in its details. Text only.
 */
import { useState } from 'react';
import { api } from '../api/client';
import { ErrorMessage, Loading } from '../components/states';
import { useApi } from '../components/useApi';
import { timestampTitle } from '../format/time';
import { logRows, logsSummary, offsetLabel, spanLogsPath, traceLogsPath, type LogPageJson, type LogRow, type TraceLogsJson } from './logs';

export interface LogsPanelProps {
  traceId: string;
  traceStartNs: string;
  hasSpan(spanId: string): boolean;
  selectedSpanId: string;
  onSelectSpan(spanId: string): void;
}

interface LaterPages {
  /** The first page these follow: another first page (after a login) drops them. */
  after: TraceLogsJson;
  logs: TraceLogsJson['logs'];
  nextCursor?: string;
  loading: boolean;
  error?: unknown;
}

export function LogsPanel({ traceId, traceStartNs, hasSpan, selectedSpanId, onSelectSpan }: LogsPanelProps) {
  const first = useApi<TraceLogsJson>(traceLogsPath(traceId));
  const [later, setLater] = useState<LaterPages | undefined>(undefined);
  if (first.status === 'loading' || first.status === 'idle') return <Loading what="the trace's logs" />;
  if (first.status === 'error') return <ErrorMessage error={first.error} title="The trace's logs could not be loaded" />;
  const page = first.data;
  const extra = later?.after === page ? later : undefined;
  const logs = extra ? [...page.logs, ...extra.logs] : page.logs;
  const nextCursor = extra ? extra.nextCursor : page.nextCursor;
  const loadMore = (cursor: string) => {
    setLater({ after: page, logs: extra?.logs ?? [], nextCursor: cursor, loading: true });
    api<TraceLogsJson>(traceLogsPath(traceId, cursor)).then(
      (next) => setLater({ after: page, logs: [...(extra?.logs ?? []), ...next.logs], nextCursor: next.nextCursor, loading: false }),
      (error: unknown) => setLater({ after: page, logs: extra?.logs ?? [], nextCursor: cursor, loading: false, error }),
    );
  };
  const rows = logRows(logs, traceStartNs, hasSpan);
  return (
    <section className="trace-logs" aria-label="Logs" data-log-count={rows.length}>
      <h2>
        Logs <span className="hint">{logsSummary(rows.length, nextCursor !== undefined, page.correlationIds)}</span>
      </h2>
      {rows.length === 0 ? (
        <p className="hint">No log records for this trace (or none readable with your access). Logs arrive over OTLP at /v1/logs, from the FlowTrace agents or any OpenTelemetry logs exporter.</p>
      ) : (
        <LogTable rows={rows} selectedSpanId={selectedSpanId} onSelectSpan={onSelectSpan} />
      )}
      {extra?.error !== undefined && <ErrorMessage error={extra.error} title="More logs could not be loaded" />}
      {nextCursor !== undefined && (
        <button type="button" onClick={() => loadMore(nextCursor)} disabled={extra?.loading === true}>
          {extra?.loading ? 'Loading…' : 'Load more logs'}
        </button>
      )}
    </section>
  );
}

/** The records of one span, for its details. */
export function SpanLogs({ traceId, spanId, traceStartNs }: { traceId: string; spanId: string; traceStartNs: string }) {
  const state = useApi<LogPageJson>(spanLogsPath(traceId, spanId));
  return (
    <section className="span-section span-logs" aria-label="Logs of this span">
      <h3>Logs</h3>
      {state.status === 'loading' && <Loading what="the span's logs" />}
      {state.status === 'error' && <ErrorMessage error={state.error} title="The span's logs could not be loaded" />}
      {state.status === 'done' &&
        (state.data.logs.length === 0 ? (
          <p className="hint">none</p>
        ) : (
          <>
            <LogTable rows={logRows(state.data.logs, traceStartNs, () => false)} selectedSpanId="" />
            {state.data.nextCursor !== undefined && <p className="hint">The first {state.data.logs.length} records; the Logs panel under the waterfall has them all.</p>}
          </>
        ))}
    </section>
  );
}

function LogTable({ rows, selectedSpanId, onSelectSpan }: { rows: LogRow[]; selectedSpanId: string; onSelectSpan?(spanId: string): void }) {
  return (
    <div className="log-scroll">
      <table className="log-table">
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Severity</th>
            <th scope="col">Service</th>
            <th scope="col">Message</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => {
            const select = onSelectSpan && row.selectable ? () => onSelectSpan(row.spanId) : undefined;
            const classes = ['log-row', select ? 'log-selectable' : '', row.spanId !== '' && row.spanId === selectedSpanId ? 'log-of-selected' : ''].filter(Boolean).join(' ');
            return (
              <tr key={row.key} className={classes} data-span-id={row.spanId} onClick={select}>
                <td className="log-time" title={timestampTitle(row.timeUnixNano)}>
                  {select ? (
                    <button type="button" className="link-button" title={`Select span ${row.spanId}`}>
                      {offsetLabel(row.offsetNs)}
                    </button>
                  ) : (
                    offsetLabel(row.offsetNs)
                  )}
                </td>
                <td>
                  <span className={`severity severity-${row.severityClass}`}>{row.severity}</span>
                </td>
                <td className="log-service">{row.service}</td>
                <td>
                  <span className="log-body">{row.body}</span>
                  {row.truncated && <span className="hint"> (cut)</span>}
                  {row.byCorrelation && (
                    <span className="log-via" title="This record does not name the trace; it carries a correlation ID the trace carries">
                      {' '}
                      via correlation ID {row.correlationId}
                    </span>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
