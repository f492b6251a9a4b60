/**
 * The selected span in full, fetched on demand (`GET /api/traces/:traceId/spans/:spanId`):
 * attributes with their types, captured arguments and return value, exceptions with their stack
 * traces, events, links, resource, and the span's log records. Everything is span data, so everything is rendered as text.
 */
import { Link } from 'react-router';
import { ErrorMessage, Loading } from '../components/states';
import { useApi } from '../components/useApi';
import { formatTimestamp, timestampTitle } from '../format/time';
import { formatDurationNs, STATUS_ERROR } from './model';
import { SpanLogs } from './LogsPanel';
import { attributeRows, offsetNs, valueText, type AttributeMap, type SpanDetailsJson } from './span-details';
import type { TraceModel } from './useTraceModel';

export interface SpanPanelProps {
  traceId: string;
  spanId: string;
  node: number;
  model: TraceModel;
  shownAsRoot: boolean;
  onShowAsRoot(): void;
  onClose(): void;
}

export function SpanPanel({ traceId, spanId, node, model, shownAsRoot, onShowAsRoot, onClose }: SpanPanelProps) {
  const { data } = model;
  const details = useApi<SpanDetailsJson>(`/api/traces/${encodeURIComponent(traceId)}/spans/${encodeURIComponent(spanId)}`);
  return (
    <aside className="span-panel" aria-label="Span details" data-span-id={spanId}>
      <header className="span-panel-head">
        <h2>{data.names[data.name[node]!]}</h2>
        <button type="button" onClick={onClose} aria-label="Close the span details">
          ×
        </button>
      </header>
      <dl className="span-facts">
        <dt>Service</dt>
        <dd>{data.services[data.service[node]!]}</dd>
        <dt>Kind</dt>
        <dd>{data.kinds[data.kind[node]!]}</dd>
        <dt>Duration</dt>
        <dd>{formatDurationNs(data.durationNs[node]!)}</dd>
        <dt>Status</dt>
        <dd className={data.status[node] === STATUS_ERROR ? 'status-error' : undefined}>
          {details.status === 'done' ? `${details.data.span.status.code}${details.data.span.status.message ? `: ${details.data.span.status.message}` : ''}` : data.status[node] === STATUS_ERROR ? 'Error' : '–'}
        </dd>
        <dt>Span ID</dt>
        <dd>
          <code>{spanId}</code>
        </dd>
      </dl>
      <div className="span-actions">
        <button type="button" onClick={onShowAsRoot} disabled={shownAsRoot}>
          Show this span as root
        </button>
      </div>
      {details.status === 'loading' && <Loading what="the span's attributes" />}
      {details.status === 'error' && <ErrorMessage error={details.error} title="The span could not be loaded" />}
      {details.status === 'done' && <Details details={details.data} />}
      <SpanLogs traceId={traceId} spanId={spanId} traceStartNs={data.startTimeUnixNano} />
    </aside>
  );
}

function Details({ details }: { details: SpanDetailsJson }) {
  const { span } = details;
  return (
    <>
      <dl className="span-facts">
        <dt>Start</dt>
        <dd title={timestampTitle(span.startTimeUnixNano)}>{formatTimestamp(span.startTimeUnixNano)}</dd>
        <dt>End</dt>
        <dd title={timestampTitle(span.endTimeUnixNano)}>
          {formatTimestamp(span.endTimeUnixNano)}
          {span.endBeforeStart ? ' (sent before the start)' : ''}
        </dd>
        <dt>Parent</dt>
        <dd>{span.parentSpanId ? <code>{span.parentSpanId}</code> : '(root)'}</dd>
        <dt>Scope</dt>
        <dd>
          {span.scope.name}
          {span.scope.version ? ` ${span.scope.version}` : ''}
        </dd>
      </dl>
      {(details.arguments.length > 0 || details.returnValue !== undefined) && (
        <section className="span-section captured">
          <h3>Captured arguments and return value</h3>
          <table className="kv">
            <tbody>
              {details.arguments.map((arg) => (
                <tr key={arg.key} data-key={arg.key}>
                  <th scope="row">arg {arg.index}</th>
                  <td>
                    <code>{valueText(arg.value)}</code>
                  </td>
                </tr>
              ))}
              {details.returnValue !== undefined && (
                <tr data-key="flowtrace.return">
                  <th scope="row">return</th>
                  <td>
                    <code>{valueText(details.returnValue)}</code>
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </section>
      )}
      {details.exceptions.length > 0 && (
        <section className="span-section exceptions">
          <h3>Exceptions</h3>
          {details.exceptions.map((ex, i) => (
            <div key={i} className="exception">
              <p>
                <strong>{ex.type || 'exception'}</strong>
                {ex.message ? `: ${ex.message}` : ''}
              </p>
              {ex.stacktrace && <pre className="stacktrace">{ex.stacktrace}</pre>}
            </div>
          ))}
        </section>
      )}
      <Attributes title="Attributes" attributes={span.attributes} skipCaptured className="attributes" />
      {span.events.length > 0 && (
        <section className="span-section events">
          <h3>Events</h3>
          <ol>
            {span.events.map((event, i) => (
              <li key={i}>
                <span title={timestampTitle(event.timeUnixNano)}>+{formatDurationNs(offsetNs(span.startTimeUnixNano, event.timeUnixNano))}</span> <strong>{event.name}</strong>
                {Object.keys(event.attributes).length > 0 && <AttributeTable attributes={event.attributes} />}
              </li>
            ))}
          </ol>
        </section>
      )}
      {span.links.length > 0 && (
        <section className="span-section links">
          <h3>Links</h3>
          <ul>
            {span.links.map((link, i) => (
              <li key={i}>
                <Link to={`/traces/${encodeURIComponent(link.traceId)}?span=${encodeURIComponent(link.spanId)}`}>
                  <code>
                    {link.traceId} / {link.spanId}
                  </code>
                </Link>
                {Object.keys(link.attributes).length > 0 && <AttributeTable attributes={link.attributes} />}
              </li>
            ))}
          </ul>
        </section>
      )}
      <Attributes title="Resource" attributes={span.resource.attributes} className="resource" />
    </>
  );
}

function Attributes({ title, attributes, skipCaptured = false, className }: { title: string; attributes: AttributeMap; skipCaptured?: boolean; className: string }) {
  return (
    <section className={`span-section ${className}`}>
      <h3>{title}</h3>
      <AttributeTable attributes={attributes} skipCaptured={skipCaptured} />
    </section>
  );
}

function AttributeTable({ attributes, skipCaptured = false }: { attributes: AttributeMap; skipCaptured?: boolean }) {
  const rows = attributeRows(attributes, skipCaptured);
  if (rows.length === 0) return <p className="hint">none</p>;
  return (
    <table className="kv">
      <tbody>
        {rows.map((row) => (
          <tr key={row.key} data-key={row.key}>
            <th scope="row">{row.key}</th>
            <td>
              <code>{row.text}</code> <span className="attr-type">{row.type}</span>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
