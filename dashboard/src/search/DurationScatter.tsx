/**
 * Trace duration over time (uPlot, canvas), one point per trace, errors in red. Every point is
 * also a link laid over the canvas at the same place: a click (or middle-click) opens the trace,
 * and hovering shows what it is. Dragging across the chart zooms into a time span; a double click
 * zooms out.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { createPortal } from 'react-dom';
import { Link } from 'react-router';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { TraceSummary } from '../api/types';
import { formatDuration, formatTimestamp } from '../format/time';
import { durationRange, scatterData, timeRange } from './scatter-data';

const HEIGHT = 220;
const OK_COLOUR = '#3b82f6';
const ERROR_COLOUR = '#e5484d';
const AXIS_COLOUR = '#8a8f98';
const GRID_COLOUR = 'rgba(138, 143, 152, 0.2)';

interface PointPosition {
  index: number;
  left: number;
  top: number;
}

export function DurationScatter({ traces }: { traces: readonly TraceSummary[] }) {
  const container = useRef<HTMLDivElement>(null);
  const [plot, setPlot] = useState<uPlot>();
  const [points, setPoints] = useState<PointPosition[]>([]);
  const data = useMemo(() => scatterData(traces), [traces]);

  useEffect(() => {
    const host = container.current;
    if (!host) return;
    const pointSeries = (label: string, colour: string): uPlot.Series => ({
      label,
      stroke: colour,
      paths: () => null,
      points: { show: true, size: 8, stroke: colour, fill: colour },
    });
    const options: uPlot.Options = {
      width: Math.max(host.clientWidth, 200),
      height: HEIGHT,
      legend: { show: false },
      scales: {
        x: { time: true, range: (_u, min, max) => timeRange(min, max, data.x[0], data.x[data.x.length - 1]) },
        y: { range: (_u, _min, max) => durationRange(max) },
      },
      cursor: { drag: { x: true, y: false }, points: { show: false } },
      series: [{}, pointSeries('traces', OK_COLOUR), pointSeries('traces with errors', ERROR_COLOUR)],
      axes: [
        { stroke: AXIS_COLOUR, grid: { stroke: GRID_COLOUR }, ticks: { stroke: GRID_COLOUR } },
        { stroke: AXIS_COLOUR, grid: { stroke: GRID_COLOUR }, ticks: { stroke: GRID_COLOUR }, size: 70, values: (_u, values) => values.map((ms) => formatDuration(Math.round(ms * 1e6))) },
      ],
      hooks: {
        draw: [
          (u) => {
            const positions: PointPosition[] = [];
            const width = u.over.clientWidth;
            const height = u.over.clientHeight;
            data.x.forEach((x, index) => {
              const y = data.ok[index] ?? data.errors[index];
              if (y === null || y === undefined) return;
              const left = u.valToPos(x, 'x');
              const top = u.valToPos(y, 'y');
              if (left >= -1 && left <= width + 1 && top >= -1 && top <= height + 1) positions.push({ index, left, top });
            });
            setPoints(positions);
          },
        ],
      },
    };
    const chart = new uPlot(options, [data.x, data.ok, data.errors] as uPlot.AlignedData, host);
    setPlot(chart);
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(host.clientWidth, 200), height: HEIGHT }));
    resize.observe(host);
    return () => {
      resize.disconnect();
      chart.destroy();
      setPlot(undefined);
      setPoints([]);
    };
  }, [data]);

  return (
    <figure className="scatter" aria-label={`Duration over time of ${traces.length} traces`} data-points={points.length}>
      <div ref={container} className="scatter-plot" />
      {plot &&
        createPortal(
          points.map(({ index, left, top }) => {
            const trace = data.traces[index]!;
            return (
              <Link
                key={trace.traceId}
                to={`/traces/${trace.traceId}`}
                className="scatter-point"
                style={{ left: `${left}px`, top: `${top}px` }}
                tabIndex={-1}
                title={`${trace.rootServiceName}: ${trace.rootSpanName} — ${formatDuration(trace.durationNano)}${trace.errorCount > 0 ? `, ${trace.errorCount} errors` : ''} — ${formatTimestamp(trace.startTimeUnixNano)}`}
                data-trace-id={trace.traceId}
              />
            );
          }),
          plot.over,
        )}
      <figcaption>
        Duration over time: <span className="legend-ok">●</span> traces, <span className="legend-error">●</span> with errors. Drag to zoom, double-click to
        zoom out; click a point to open its trace.
      </figcaption>
    </figure>
  );
}

