/**
 * A small time chart (uPlot, canvas) of a few lines over the range's steps, with anomaly windows
 * shaded behind them. The hover legend gives each value; the shaded windows are also listed as
 * text by the page (colour is never the only cue).
 */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { AnomalyBand } from './red-series';

export interface ChartLine {
  label: string;
  values: ReadonlyArray<number | null>;
  colour: string;
  dash?: number[];
}

const HEIGHT = 150;
const MIN_BAND_PX = 6;
const AXIS_COLOUR = '#8a8f98';
const GRID_COLOUR = 'rgba(138, 143, 152, 0.2)';
export const BAND_COLOURS: Readonly<Record<AnomalyBand['metric'], string>> = {
  latency_p99: 'rgba(240, 136, 62, 0.28)',
  error_rate: 'rgba(229, 72, 77, 0.28)',
};

export function TimeChart({ title, x, lines, format, bands = [] }: { title: string; x: readonly number[]; lines: readonly ChartLine[]; format(value: number): string; bands?: readonly AnomalyBand[] }) {
  const host = useRef<HTMLDivElement>(null);
  const chartRef = useRef<uPlot | undefined>(undefined);
  // The latest format and bands, read by the chart's hooks without rebuilding it.
  const drawn = useRef({ format, bands });
  drawn.current = { format, bands };

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const width = () => Math.max(el.clientWidth, 160);
    const shade = (u: uPlot) => {
      const { ctx, bbox } = u;
      for (const band of drawn.current.bands) {
        // At least MIN_BAND_PX wide: one minute of a day is under a pixel.
        const minWidth = MIN_BAND_PX * devicePixelRatio;
        let left = u.valToPos(band.from, 'x', true);
        let right = u.valToPos(band.to, 'x', true);
        if (right - left < minWidth) {
          const middle = (left + right) / 2;
          left = middle - minWidth / 2;
          right = middle + minWidth / 2;
        }
        left = Math.max(left, bbox.left);
        right = Math.min(right, bbox.left + bbox.width);
        if (right <= left) continue;
        ctx.fillStyle = BAND_COLOURS[band.metric];
        ctx.fillRect(left, bbox.top, right - left, bbox.height);
      }
    };
    const value = (_u: uPlot, v: number | null) => (v === null || v === undefined ? '–' : drawn.current.format(v));
    const options: uPlot.Options = {
      width: width(),
      height: HEIGHT,
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max !== null && Number.isFinite(max) && max > 0 ? max * 1.15 : 1] } },
      // Dots as well as lines where a series has gaps: a step alone between two gaps is no line.
      series: [{}, ...lines.map((l): uPlot.Series => ({ label: l.label, stroke: l.colour, width: 1.5, dash: l.dash, value, points: { show: l.values.includes(null), size: 4, fill: l.colour }, spanGaps: false }))],
      axes: [
        { stroke: AXIS_COLOUR, grid: { stroke: GRID_COLOUR }, ticks: { stroke: GRID_COLOUR }, size: 46, space: 70 },
        { stroke: AXIS_COLOUR, grid: { stroke: GRID_COLOUR }, ticks: { stroke: GRID_COLOUR }, size: 64, values: (_u, values) => values.map((v) => drawn.current.format(v)) },
      ],
      hooks: { drawClear: [shade] },
    };
    const chart = new uPlot(options, [x as number[], ...lines.map((l) => l.values as Array<number | null>)] as uPlot.AlignedData, el);
    chartRef.current = chart;
    const resize = new ResizeObserver(() => chart.setSize({ width: width(), height: HEIGHT }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      chartRef.current = undefined;
      chart.destroy();
    };
  }, [x, lines]);

  // Anomalies arrive after the RED points: shade them without rebuilding the chart.
  useEffect(() => {
    chartRef.current?.redraw(false);
  }, [bands]);

  return (
    <figure className="time-chart" aria-label={`${title} over time`} data-points={x.length} data-bands={bands.length}>
      <figcaption>{title}</figcaption>
      <div ref={host} className="time-chart-plot" />
    </figure>
  );
}
