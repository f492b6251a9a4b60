/** Where time goes in this trace (or under the span shown as root): self time by service and by operation/method. */
import { useMemo } from 'react';
import { formatDurationNs, selfTimes, selfTimeTables, type SelfTimeRow } from './model';
import type { TraceModel } from './useTraceModel';

const MAX_ROWS = 100;

export function SelfTimeTables({ model, root }: { model: TraceModel; root: number }) {
  const self = useMemo(() => selfTimes(model.tree), [model]);
  const tables = useMemo(() => selfTimeTables(model.tree, self, root), [model, self, root]);
  return (
    <div className="self-time">
      <p className="hint">
        Self time: a span's duration minus the time its children cover. {root >= 0 ? 'Within the span shown as root.' : 'Whole trace.'} Total{' '}
        {formatDurationNs(tables.totalSelfNs)}.
      </p>
      <SelfTable caption="By service" rows={tables.byService} total={tables.totalSelfNs} byService />
      <SelfTable caption="By operation and method" rows={tables.byOperation} total={tables.totalSelfNs} />
    </div>
  );
}

function SelfTable({ caption, rows, total, byService = false }: { caption: string; rows: SelfTimeRow[]; total: number; byService?: boolean }) {
  return (
    <table className="self-time-table" data-table={byService ? 'service' : 'operation'}>
      <caption>
        {caption}
        {rows.length > MAX_ROWS ? ` (top ${MAX_ROWS} of ${rows.length})` : ''}
      </caption>
      <thead>
        <tr>
          <th scope="col">Service</th>
          {!byService && <th scope="col">Operation / method</th>}
          <th scope="col" className="num">Spans</th>
          <th scope="col" className="num">Self time</th>
          <th scope="col" className="num">Share</th>
          <th scope="col" className="num">Total</th>
          <th scope="col" className="num">Max</th>
        </tr>
      </thead>
      <tbody>
        {rows.slice(0, MAX_ROWS).map((row) => (
          <tr key={`${row.service}\u0000${row.name}`}>
            <td>{row.service}</td>
            {!byService && (
              <td>
                {row.name}
                {row.method && <span className="wf-kind wf-method">method</span>}
              </td>
            )}
            <td className="num">{row.spans}</td>
            <td className="num">{formatDurationNs(row.selfNs)}</td>
            <td className="num">{total > 0 ? `${((row.selfNs / total) * 100).toFixed(1)} %` : '–'}</td>
            <td className="num">{formatDurationNs(row.totalNs)}</td>
            <td className="num">{formatDurationNs(row.maxNs)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
