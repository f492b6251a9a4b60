/**
 * A SQL result as a table, only the rows in view in the DOM (@tanstack/react-virtual): padding
 * rows above and below stand for the rest, and fixed column widths (columnWidths) keep the table
 * steady as rows come and go. A cell holds one line; its title has the whole value.
 */
import { useVirtualizer } from '@tanstack/react-virtual';
import { useMemo, useRef } from 'react';
import { cellText, columnWidths, type SqlAnswer } from './result-table';

const ROW_HEIGHT = 28;
/** A title longer than this is cut: a tooltip is not the place for megabytes. */
const MAX_TITLE = 2000;

export function ResultTable({ answer }: { answer: SqlAnswer }) {
  const scroller = useRef<HTMLDivElement>(null);
  const widths = useMemo(() => columnWidths(answer.columns, answer.rows), [answer]);
  const virtualizer = useVirtualizer({ count: answer.rows.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan: 12 });
  const items = virtualizer.getVirtualItems();
  const before = items.length > 0 ? items[0]!.start : 0;
  const after = items.length > 0 ? virtualizer.getTotalSize() - items[items.length - 1]!.end : 0;
  const span = answer.columns.length + 1;

  return (
    <div ref={scroller} className="sql-result-scroll" tabIndex={0} role="region" aria-label={`Result: ${answer.rows.length} rows`}>
      <table className="sql-result" aria-rowcount={answer.rows.length + 1}>
        <colgroup>
          <col style={{ width: `${String(answer.rows.length).length + 3}ch` }} />
          {widths.map((w, i) => (
            <col key={i} style={{ width: `${w}ch` }} />
          ))}
        </colgroup>
        <thead>
          <tr aria-rowindex={1}>
            <th scope="col" className="num row-number" aria-label="Row">
              #
            </th>
            {answer.columns.map((c, i) => (
              <th key={i} scope="col" title={`${c.name}: ${c.type}`}>
                {c.name}
                <span className="sql-type">{c.type}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {before > 0 && (
            <tr aria-hidden="true">
              <td colSpan={span} style={{ height: `${before}px`, padding: 0, border: 0 }} />
            </tr>
          )}
          {items.map((item) => {
            const row = answer.rows[item.index]!;
            return (
              <tr key={item.index} data-row={item.index} aria-rowindex={item.index + 2} style={{ height: `${ROW_HEIGHT}px` }}>
                <td className="num row-number">{item.index + 1}</td>
                {answer.columns.map((c, i) => {
                  const text = cellText(row[c.name]);
                  return (
                    <td key={i} title={text.length > 40 ? text.slice(0, MAX_TITLE) : undefined}>
                      {text}
                    </td>
                  );
                })}
              </tr>
            );
          })}
          {after > 0 && (
            <tr aria-hidden="true">
              <td colSpan={span} style={{ height: `${after}px`, padding: 0, border: 0 }} />
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
