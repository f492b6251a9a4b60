/** The side panel of the selected service: its RED over time, its top operations, who calls it and whom it calls. */
import { useMemo } from 'react';
import { Link } from 'react-router';
import { ErrorMessage, Loading } from '../components/states';
import { useApi } from '../components/useApi';
import { formatMs, formatPercent, formatRate, neighbours, type MapNode, type ServiceMapModel } from './graph-model';
import { apiPaths, servicePagePath, type Range } from './range';
import { RedCharts } from './RedCharts';
import { serviceSeries, topOperations } from './red-series';
import type { RedAnswer, RedPoint } from './types';

const TOP_OPERATIONS = 8;

export function NodePanel({ node, model, totals, range, onSelect }: { node: MapNode; model: ServiceMapModel; totals: readonly RedPoint[]; range: Range; onSelect(service: string | undefined): void }) {
  const red = useApi<RedAnswer>(apiPaths.redSeries(range, node.service));
  const series = useMemo(() => (red.status === 'done' ? serviceSeries(red.data) : undefined), [red]);
  const operations = useMemo(() => topOperations(totals, node.service, TOP_OPERATIONS), [totals, node.service]);
  const { incoming, outgoing } = neighbours(model, node.service);

  return (
    <aside className="node-panel" aria-label={`Service ${node.service}`}>
      <header>
        <h2 className="service-name">{node.service}</h2>
        <button type="button" aria-label="Close the panel" onClick={() => onSelect(undefined)}>
          ×
        </button>
      </header>
      <p className="node-summary">
        {formatRate(node.rate)} · {node.requests} requests · {formatPercent(node.errorRatio)} errors
      </p>
      <p>
        <Link to={servicePagePath(node.service, range)} className="open-service">
          Open the {node.service} page: RED per operation, hotspots, slowest and failing traces →
        </Link>
      </p>
      <section aria-label="RED over time">
        <h3>RED over time</h3>
        {red.status === 'error' ? (
          <ErrorMessage error={red.error} title="RED could not be read" />
        ) : series === undefined ? (
          <Loading what="RED" />
        ) : series.requests === 0 ? (
          <p className="hint">No requests recorded in this range.</p>
        ) : (
          <RedCharts series={series} latencyLabel="p99 (slowest operation)" />
        )}
      </section>
      <section aria-label="Top operations">
        <h3>Top operations</h3>
        {operations.length === 0 ? (
          <p className="hint">No operation with requests in this range.</p>
        ) : (
          <table className="results compact top-operations">
            <thead>
              <tr>
                <th scope="col">Operation</th>
                <th scope="col" className="num">
                  Rate
                </th>
                <th scope="col" className="num">
                  Errors
                </th>
                <th scope="col" className="num">
                  p99
                </th>
              </tr>
            </thead>
            <tbody>
              {operations.map((o) => (
                <tr key={`${o.operation}\u0000${o.spanKind}`} data-operation={o.operation}>
                  <td>
                    {o.operation} <span className="kind">{o.spanKind}</span>
                  </td>
                  <td className="num">{formatRate(o.rate)}</td>
                  <td className="num">{formatPercent(o.errorRatio)}</td>
                  <td className="num">{formatMs(o.p99Ms)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <Neighbours title="Called by" edges={incoming.map((e) => ({ service: e.caller, calls: e.calls }))} onSelect={onSelect} />
      <Neighbours title="Calls" edges={outgoing.map((e) => ({ service: e.callee, calls: e.calls }))} onSelect={onSelect} />
    </aside>
  );
}

function Neighbours({ title, edges, onSelect }: { title: string; edges: Array<{ service: string; calls: number }>; onSelect(service: string): void }) {
  if (edges.length === 0) return null;
  return (
    <section aria-label={title}>
      <h3>{title}</h3>
      <ul className="neighbours">
        {edges.map((e) => (
          <li key={e.service}>
            <button type="button" className="link-button" onClick={() => onSelect(e.service)}>
              {e.service}
            </button>{' '}
            <span className="hint">
              {e.calls} {e.calls === 1 ? 'call' : 'calls'}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
