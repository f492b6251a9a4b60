/** `/services`: the service map of a time range; the selected service's panel beside it. Range and selection live in the URL. */
import { useMemo } from 'react';
import { useSearchParams } from 'react-router';
import type { ServicesAnswer } from '../api/types';
import { Empty, ErrorMessage, Loading, NoTracesYet } from '../components/states';
import { useApi } from '../components/useApi';
import { buildServiceMap } from './graph-model';
import { EdgeTable, ServiceList } from './MapTables';
import { NodePanel } from './NodePanel';
import { apiPaths, mapQuery, mapStateOf, RANGE_SECONDS, ROW_LIMIT, type MapState } from './range';
import { RangeSelect } from './RangeSelect';
import { ServiceMap } from './ServiceMap';
import './services.css';
import type { RedAnswer, ServiceGraphAnswer } from './types';
import { useTheme } from './useTheme';

export default function ServicesPage() {
  const [params, setParams] = useSearchParams();
  const query = params.toString();
  const state = useMemo(() => mapStateOf(new URLSearchParams(query)), [query]);
  const graph = useApi<ServiceGraphAnswer>(apiPaths.graph(state.range));
  const totals = useApi<RedAnswer>(apiPaths.redTotals(state.range));
  const services = useApi<ServicesAnswer>('/api/services');
  const theme = useTheme();
  const go = (next: Partial<MapState>) => setParams(mapQuery({ ...state, ...next }));

  const model = useMemo(
    () => (graph.status === 'done' && totals.status === 'done' ? buildServiceMap(graph.data.edges, totals.data.points, RANGE_SECONDS[state.range]) : undefined),
    [graph, totals, state.range],
  );
  const selected = model?.nodes.find((n) => n.service === state.node);

  return (
    <div className="services-page">
      <div className="page-head">
        <h1>Service map</h1>
        <RangeSelect value={state.range} onChange={(range) => go({ range })} />
      </div>
      {graph.status === 'error' || totals.status === 'error' ? (
        <>
          {graph.status === 'error' && <ErrorMessage error={graph.error} title="The service graph could not be read" />}
          {totals.status === 'error' && <ErrorMessage error={totals.error} title="RED could not be read" />}
        </>
      ) : model === undefined ? (
        <Loading what="the service map" />
      ) : model.nodes.length === 0 ? (
        services.status === 'done' && services.data.services.length === 0 ? (
          <NoTracesYet />
        ) : (
          <Empty>
            <p>No service handled requests in this time range. Try a longer one.</p>
          </Empty>
        )
      ) : (
        <>
          {model.edges.length === 0 && (
            <p className="hint">
              No calls between services in this range: an edge appears when a client span of one service is the parent of a server span of another (the same trace, or one stitched by correlation ID).
            </p>
          )}
          {(graph.status === 'done' && graph.data.edges.length >= ROW_LIMIT) || (totals.status === 'done' && totals.data.points.length >= ROW_LIMIT) ? (
            <p className="hint" role="status">
              More than {ROW_LIMIT} edges or operations in this range: the quietest are left out.
            </p>
          ) : null}
          {state.node !== undefined && selected === undefined && <p className="hint">{state.node} has no traffic in this range.</p>}
          <div className={selected ? 'map-layout with-panel' : 'map-layout'}>
            <ServiceList nodes={model.nodes} theme={theme} selected={state.node} onSelect={(node) => go({ node })} />
            <ServiceMap model={model} theme={theme} selected={state.node} onSelect={(node) => go({ node })} />
            {selected && totals.status === 'done' && (
              <NodePanel key={selected.service} node={selected} model={model} totals={totals.data.points} range={state.range} onSelect={(node) => go({ node })} />
            )}
          </div>
          {model.edges.length > 0 && <EdgeTable model={model} range={state.range} />}
        </>
      )}
    </div>
  );
}
