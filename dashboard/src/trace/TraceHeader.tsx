/** The trace's facts (ID, root operation, duration, counts, correlation ID), its links, and the clock-skew toggle. */
import { Link } from 'react-router';
import { formatTimestamp, timestampTitle } from '../format/time';
import { formatDurationNs, isPlaceholder } from './model';
import { compareWithTypicalUrl, correlationSearchUrl } from './trace-url';
import type { TraceModel } from './useTraceModel';

export interface TraceHeaderProps {
  traceId: string;
  model: TraceModel;
  adjustClockSkew: boolean;
  onAdjustClockSkew(on: boolean): void;
}

/** The root whose operation names the trace: the longest true root, else the first top span. */
function rootNode(model: TraceModel): number {
  const { tree, data } = model;
  let best = -1;
  for (const top of tree.tops) {
    if (isPlaceholder(tree, top)) continue;
    if (best < 0 || (data.parent[top] === -1 && (data.parent[best] !== -1 || data.durationNs[top]! > data.durationNs[best]!))) best = top;
  }
  return best;
}

export function TraceHeader({ traceId, model, adjustClockSkew, onAdjustClockSkew }: TraceHeaderProps) {
  const { data } = model;
  const root = rootNode(model);
  return (
    <header className="trace-header">
      <h1>
        {root >= 0 ? (
          <>
            <span className="service-name">{data.services[data.service[root]!]}</span> {data.names[data.name[root]!]}
          </>
        ) : (
          'Trace without a root span'
        )}
      </h1>
      <dl className="trace-facts">
        <div>
          <dt>Trace ID</dt>
          <dd>
            <code className="trace-id">{data.traceId}</code>
          </dd>
        </div>
        <div>
          <dt>Start</dt>
          <dd title={timestampTitle(data.startTimeUnixNano)}>{formatTimestamp(data.startTimeUnixNano)}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd className="trace-duration">{formatDurationNs(data.endOfTraceNs)}</dd>
        </div>
        <div>
          <dt>Spans</dt>
          <dd className="trace-span-count">
            {data.size.toLocaleString('en-US')}
            {data.hiddenSpanCount > 0 ? ` (+${data.hiddenSpanCount.toLocaleString('en-US')} hidden)` : ''}
          </dd>
        </div>
        <div>
          <dt>Services</dt>
          <dd className="trace-service-count" title={data.services.join(', ')}>
            {data.services.length}
          </dd>
        </div>
        <div>
          <dt>Errors</dt>
          <dd>{model.errors.length}</dd>
        </div>
        {data.correlationId && (
          <div>
            <dt>Correlation ID</dt>
            <dd>
              <Link className="correlation-link" to={correlationSearchUrl(data.correlationId)} title="Every trace of this request">
                {data.correlationId}
              </Link>
            </dd>
          </div>
        )}
      </dl>
      <div className="trace-header-actions">
        <label>
          <input type="checkbox" checked={adjustClockSkew} onChange={(e) => onAdjustClockSkew(e.target.checked)} /> Adjust clock skew
        </label>
        {adjustClockSkew && !data.adjusted && <span className="hint">(no skew found: times as stored)</span>}
        <Link to={compareWithTypicalUrl(traceId)}>Compare with typical</Link>
      </div>
    </header>
  );
}
