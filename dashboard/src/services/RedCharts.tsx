/** Rate, errors and duration of one series side by side; anomaly windows shaded on the chart of their metric. */
import { useMemo } from 'react';
import { formatMs } from './graph-model';
import type { AnomalyBand, RedSeries } from './red-series';
import { TimeChart, type ChartLine } from './TimeChart';

const RATE_COLOUR = '#3b82f6';
const ERROR_COLOUR = '#e5484d';
const P50_COLOUR = '#14a37f';
const P99_COLOUR = '#d9600d';

const formatRateValue = (v: number) => `${Number(v.toPrecision(3))}/s`;
const formatPct = (v: number) => `${Number(v.toPrecision(3))} %`;

export function RedCharts({ series, bands = [], latencyLabel = 'p99' }: { series: RedSeries; bands?: readonly AnomalyBand[]; latencyLabel?: string }) {
  const rate = useMemo<ChartLine[]>(() => [{ label: 'requests/s', values: series.rate, colour: RATE_COLOUR }], [series]);
  const errors = useMemo<ChartLine[]>(() => [{ label: 'errors', values: series.errorPct, colour: ERROR_COLOUR }], [series]);
  const latency = useMemo<ChartLine[]>(
    () => [
      { label: latencyLabel.replace('p99', 'p50'), values: series.p50Ms, colour: P50_COLOUR, dash: [4, 3] },
      { label: latencyLabel, values: series.p99Ms, colour: P99_COLOUR },
    ],
    [series, latencyLabel],
  );
  const errorBands = useMemo(() => bands.filter((b) => b.metric === 'error_rate'), [bands]);
  const latencyBands = useMemo(() => bands.filter((b) => b.metric === 'latency_p99'), [bands]);
  return (
    <div className="red-charts">
      <TimeChart title="Rate" x={series.x} lines={rate} format={formatRateValue} />
      <TimeChart title="Errors" x={series.x} lines={errors} format={formatPct} bands={errorBands} />
      <TimeChart title="Duration" x={series.x} lines={latency} format={formatMs} bands={latencyBands} />
    </div>
  );
}
