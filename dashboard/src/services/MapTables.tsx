/** The map's accessible side: the services as a list of buttons, and every edge as a table row. */
import { Link } from 'react-router';
import { frameColours, type FlameTheme } from '../flame/palette';
import { formatMs, formatPercent, formatRate, type MapNode, type ServiceMapModel } from './graph-model';
import { servicePagePath, type Range } from './range';

export function ServiceList({ nodes, theme, selected, onSelect }: { nodes: readonly MapNode[]; theme: FlameTheme; selected: string | undefined; onSelect(service: string | undefined): void }) {
  return (
    <nav className="service-list" aria-label="Services on the map">
      <h2>Services</h2>
      <ul>
        {nodes.map((n) => (
          <li key={n.service}>
            <button
              type="button"
              aria-pressed={n.service === selected}
              data-service={n.service}
              onClick={() => onSelect(n.service === selected ? undefined : n.service)}
              title={`${n.service}: ${n.requests} requests in this range${n.errors > 0 ? `, ${n.errors} failed` : ''}`}
            >
              <span className="swatch" aria-hidden="true" style={{ background: frameColours(n.service, theme).fill }} />
              <span className="service-text">
                <span className="service-name">{n.service}</span>
                <span className="rate">{formatRate(n.rate)}</span>
              </span>
            </button>
          </li>
        ))}
      </ul>
    </nav>
  );
}

export function EdgeTable({ model, range }: { model: ServiceMapModel; range: Range }) {
  return (
    <table className="results edge-table">
      <caption>
        Calls between services: {model.edges.length} caller → callee {model.edges.length === 1 ? 'pair' : 'pairs'}
      </caption>
      <thead>
        <tr>
          <th scope="col">Caller</th>
          <th scope="col">Callee</th>
          <th scope="col">Operations</th>
          <th scope="col" className="num">
            Calls
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
        {model.edges.map((e) => (
          <tr key={e.id} data-caller={e.caller} data-callee={e.callee} data-calls={e.calls} className={`band-row-${e.band}`}>
            <td>
              <Link to={servicePagePath(e.caller, range)}>{e.caller}</Link>
            </td>
            <td>
              <Link to={servicePagePath(e.callee, range)}>{e.callee}</Link>
            </td>
            <td className="operations" title={e.operations.map((o) => `${o.operation}: ${o.calls} calls, p99 ${formatMs(o.p99Ms)}`).join('\n')}>
              {e.operations
                .slice(0, 3)
                .map((o) => o.operation)
                .join(', ')}
              {e.operations.length > 3 ? ` +${e.operations.length - 3} more` : ''}
            </td>
            <td className="num calls">{e.calls}</td>
            <td className="num">
              {e.errors > 0 ? (
                <span className="error-count">
                  {e.errors} ({formatPercent(e.errorRatio)})
                </span>
              ) : (
                '0'
              )}
            </td>
            <td className="num">{formatMs(e.p99Ms)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
