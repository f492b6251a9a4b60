/**
 * `/services/:service`: one service over a time range — its RED overall and per operation with
 * anomaly windows shaded, the anomalies listed with example traces, the methods with the most
 * self time (linking to the flame graph), and its slowest and failing traces.
 */
import { useMemo, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import type { TracesAnswer } from '../api/types';
import { Empty, ErrorMessage, Loading } from '../components/states';
import { useApi } from '../components/useApi';
import { formatDuration, formatTimestamp, timestampTitle } from '../format/time';
import { ResultsList } from '../search/ResultsList';
import { formatPercent } from './graph-model';
import { apiPaths, DEFAULT_RANGE, mapQuery, RANGE_LABELS, rangeOf, ROW_LIMIT, TRACE_SAMPLE, TRACES_SHOWN, type Range } from './range';
import { RangeSelect } from './RangeSelect';
import { RedCharts } from './RedCharts';
import { anomalyBands, operationSeries, serviceSeries } from './red-series';
import './services.css';
import { slowestTraces } from './slow-traces';
import type { AnomaliesAnswer, Anomaly, HotspotsAnswer, RedAnswer } from './types';

/** Operations charted before "show all": each is three charts. */
const OPERATIONS_SHOWN = 6;

export default function ServicePage() {
  const service = useParams().service ?? '';
  const [params, setParams] = useSearchParams();
  const range = rangeOf(params);
  const red = useApi<RedAnswer>(apiPaths.redSeries(range, service));
  const anomalies = useApi<AnomaliesAnswer>(apiPaths.anomalies(range, service));
  const found = anomalies.status === 'done' ? anomalies.data.anomalies : [];

  return (
    <div className="service-page">
      <p className="breadcrumb">
        <Link to={`/services?${mapQuery({ range, node: service }).toString()}`}>← Service map</Link>
      </p>
      <div className="page-head">
        <h1>
          <span className="service-name">{service}</span>
        </h1>
        <RangeSelect value={range} onChange={(next) => setParams(next === DEFAULT_RANGE ? {} : { range: next })} />
      </div>
      {red.status === 'error' ? (
        <ErrorMessage error={red.error} title="RED could not be read" />
      ) : red.status !== 'done' ? (
        <Loading what={`the RED of ${service}`} />
      ) : red.data.points.length === 0 ? (
        <Empty>
          <p>
            No request of <strong>{service}</strong> recorded in the {RANGE_LABELS[range].toLowerCase()}. Try a longer range, or check the name on the{' '}
            <Link to="/services">service map</Link>.
          </p>
        </Empty>
      ) : (
        <RedSections red={red.data} anomalies={found} />
      )}
      {anomalies.status === 'error' && <ErrorMessage error={anomalies.error} title="Anomalies could not be read" />}
      <AnomalyList anomalies={found} />
      <Hotspots service={service} range={range} />
      <Traces service={service} range={range} />
    </div>
  );
}

function RedSections({ red, anomalies }: { red: RedAnswer; anomalies: readonly Anomaly[] }) {
  const [showAll, setShowAll] = useState(false);
  const overall = useMemo(() => serviceSeries(red), [red]);
  const perOperation = useMemo(() => operationSeries(red), [red]);
  const overallBands = useMemo(() => anomalyBands(anomalies, '', ''), [anomalies]);
  const shown = showAll ? perOperation : perOperation.slice(0, OPERATIONS_SHOWN);
  return (
    <>
      {red.points.length >= ROW_LIMIT && (
        <p className="hint" role="status">
          This service has more operations than one answer holds ({ROW_LIMIT} points): the latest steps may be missing. Choose a shorter range.
        </p>
      )}
      <section aria-label="RED of the service" className="service-red">
        <h2>All requests served</h2>
        <p className="hint">
          {overall.requests} requests, {formatPercent(overall.requests === 0 ? 0 : overall.errors / overall.requests)} failed. Latency is the slowest operation's in each step. Shaded: anomalous windows
          (<span className="band band-medium">latency</span>, <span className="band band-high">errors</span>).
        </p>
        <RedCharts series={overall} bands={overallBands} latencyLabel="p99 (slowest operation)" />
      </section>
      <section aria-label="RED per operation">
        <h2>Per operation</h2>
        {shown.map((s) => (
          <OperationRed key={`${s.operation}\u0000${s.spanKind}`} series={s} anomalies={anomalies} />
        ))}
        {perOperation.length > OPERATIONS_SHOWN && (
          <button type="button" onClick={() => setShowAll(!showAll)}>
            {showAll ? `Show the ${OPERATIONS_SHOWN} busiest only` : `Show all ${perOperation.length} operations`}
          </button>
        )}
      </section>
    </>
  );
}

function OperationRed({ series, anomalies }: { series: ReturnType<typeof operationSeries>[number]; anomalies: readonly Anomaly[] }) {
  const bands = useMemo(() => anomalyBands(anomalies, series.operation, series.spanKind), [anomalies, series]);
  return (
    <article className="operation-red" data-operation={series.operation} data-kind={series.spanKind}>
      <h3>
        {series.operation} <span className="kind">{series.spanKind}</span>{' '}
        <span className="hint">
          {series.requests} requests, {series.errors} errors
        </span>
      </h3>
      <RedCharts series={series} bands={bands} />
    </article>
  );
}

function AnomalyList({ anomalies }: { anomalies: readonly Anomaly[] }) {
  const bands = useMemo(() => anomalyBands(anomalies, '', ''), [anomalies]);
  if (bands.length === 0) return null;
  return (
    <section aria-label="Anomalies" className="anomalies">
      <h2>Anomalies</h2>
      <ul>
        {bands.map((b, i) => (
          <li key={i} className={`anomaly anomaly-${b.metric}`}>
            <time dateTime={new Date(b.from * 1000).toISOString()}>{formatTimestamp((BigInt(b.from) * 1_000_000_000n).toString())}</time>: {b.label}
            {b.exampleTraceIds.length > 0 && (
              <>
                {' '}
                — examples:{' '}
                {b.exampleTraceIds.map((id) => (
                  <Link key={id} to={`/traces/${id}`} className="trace-link">
                    {id.slice(0, 8)}
                  </Link>
                ))}
              </>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Hotspots({ service, range }: { service: string; range: Range }) {
  const answer = useApi<HotspotsAnswer>(apiPaths.hotspots(range, service));
  const flame = `/flame?service=${encodeURIComponent(service)}`;
  return (
    <section aria-label="Hotspots" className="hotspots">
      <h2>
        Hotspots <span className="hint">methods by self time</span>
      </h2>
      {answer.status === 'error' ? (
        <ErrorMessage error={answer.error} title="Hotspots could not be read" />
      ) : answer.status !== 'done' ? (
        <Loading what="hotspots" />
      ) : answer.data.hotspots.length === 0 ? (
        <p className="hint">No stored span of this service in this range.</p>
      ) : (
        <>
          <table className="results hotspot-table">
            <thead>
              <tr>
                <th scope="col">Method</th>
                <th scope="col" className="num">
                  Calls
                </th>
                <th scope="col" className="num">
                  Self time
                </th>
                <th scope="col">Share</th>
              </tr>
            </thead>
            <tbody>
              {answer.data.hotspots.map((h) => (
                <tr key={`${h.service}\u0000${h.method}`} data-method={h.method}>
                  <td className="method">
                    {h.method}
                    {h.errors > 0 && <span className="error-count"> {h.errors} errors</span>}
                  </td>
                  <td className="num">{h.calls}</td>
                  <td className="num" title={`${h.selfNano} ns (total ${formatDuration(h.totalNano)})`}>
                    {formatDuration(h.selfNano)}
                  </td>
                  <td className="share">
                    <span className="share-bar" style={{ width: `${Math.round(h.share * 100)}%` }} aria-hidden="true" /> {formatPercent(h.share)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="hint">
            {answer.data.methodCount} methods, {formatDuration(answer.data.totalSelfNano)} of self time in all. <Link to={flame}>Open the flame graph of {service} →</Link>
          </p>
        </>
      )}
    </section>
  );
}

function Traces({ service, range }: { service: string; range: Range }) {
  const recent = useApi<TracesAnswer>(apiPaths.traces(range, service, false));
  const failing = useApi<TracesAnswer>(apiPaths.traces(range, service, true));
  const slowest = useMemo(() => (recent.status === 'done' ? slowestTraces(recent.data.traces, TRACES_SHOWN) : []), [recent]);
  return (
    <div className="trace-lists">
      <section aria-label="Slowest traces" className="slowest-traces">
        <h2>Slowest traces</h2>
        {recent.status === 'error' ? (
          <ErrorMessage error={recent.error} title="Traces could not be listed" />
        ) : recent.status !== 'done' ? (
          <Loading what="traces" />
        ) : slowest.length === 0 ? (
          <p className="hint">No stored trace of this service in this range.</p>
        ) : (
          <>
            <p className="hint">
              The {slowest.length} longest of the {recent.data.traces.length === TRACE_SAMPLE ? `${TRACE_SAMPLE} most recent` : recent.data.traces.length} traces with a span of {service}
              {slowest[0] && (
                <>
                  ; the longest took <span title={timestampTitle(slowest[0].startTimeUnixNano)}>{formatDuration(slowest[0].durationNano)}</span>
                </>
              )}
              .
            </p>
            <ResultsList traces={slowest} />
          </>
        )}
      </section>
      <section aria-label="Failing traces" className="failing-traces">
        <h2>Failing traces</h2>
        {failing.status === 'error' ? (
          <ErrorMessage error={failing.error} title="Traces could not be listed" />
        ) : failing.status !== 'done' ? (
          <Loading what="traces" />
        ) : failing.data.traces.length === 0 ? (
          <p className="hint">No failing span of this service in this range.</p>
        ) : (
          <>
            <p className="hint">The most recent traces where a span of {service} failed.</p>
            <ResultsList traces={failing.data.traces} />
          </>
        )}
      </section>
    </div>
  );
}
