/** The aligned span paths, A beside B, each row marked by what differs. */
import { formatDuration } from '../format/time';
import { signedCount, signedDelta, type CompareRow } from './compare-model';

const KIND_LABEL: Record<CompareRow['kind'], string> = { 'only-a': 'only in A', 'only-b': 'only in B', changed: 'changed', context: '' };

export function CompareTable({ rows, typical, truncated }: { rows: readonly CompareRow[]; typical: boolean; truncated: boolean }) {
  const b = typical ? 'Typical' : 'B';
  return (
    <table className="compare-table">
      <caption>Span paths that differ (service · span · method), with the paths above them; durations are totals over the spans at a path</caption>
      <thead>
        <tr>
          <th scope="col">Span path</th>
          <th scope="col" className="num side-a">A count</th>
          <th scope="col" className="num side-a">A total</th>
          <th scope="col" className="num side-b">{b} count</th>
          <th scope="col" className="num side-b">{b} total</th>
          <th scope="col" className="num">Δ count</th>
          <th scope="col" className="num">Δ total ({b} − A)</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <Row key={row.path} row={row} truncated={truncated} />
        ))}
      </tbody>
    </table>
  );
}

function Row({ row, truncated }: { row: CompareRow; truncated: boolean }) {
  // A context row is in both traces; unchanged unless the answer was cut before listing it.
  const contextText = row.rawStep === '…' ? '' : truncated ? 'not listed' : 'unchanged';
  const known = row.kind !== 'context';
  const cls = [`row-${row.kind}`, row.countChanged ? 'count-changed' : '', `change-${row.change}`].filter(Boolean).join(' ');
  return (
    <tr className={cls} data-kind={row.kind} data-path={row.path}>
      <th scope="row" className="path-cell" title={row.path}>
        <span className="indent" style={{ paddingLeft: `${row.depth * 16}px` }}>
          {row.step.service !== '' && <span className="service-name">{row.step.service}</span>} <span className="span-name">{row.step.name}</span>
          {row.step.method !== '' && <code className="method">{row.step.method}</code>}
          {KIND_LABEL[row.kind] !== '' && <span className={`badge badge-${row.kind}`}>{KIND_LABEL[row.kind]}</span>}
          {row.pathsBelow > 0 && <span className="below"> +{row.pathsBelow} below</span>}
        </span>
      </th>
      <td className="num side-a">{known ? (row.countA === 0 ? '–' : row.countA) : ''}</td>
      <td className="num side-a" title={known ? `${row.totalA} ns` : undefined}>
        {known && row.countA !== 0 ? formatDuration(row.totalA!) : ''}
      </td>
      <td className="num side-b">{known ? (row.countB === 0 ? '–' : row.countB) : ''}</td>
      <td className="num side-b" title={known ? `${row.totalB} ns` : undefined}>
        {known && row.countB !== 0 ? formatDuration(row.totalB!) : ''}
      </td>
      <td className={`num delta-count${row.countChanged ? ' marked' : ''}`}>{known ? signedCount(row.countA!, row.countB!) : ''}</td>
      <td className={`num delta-total${row.change === 'slower' || row.change === 'faster' ? ' marked' : ''}`} title={known ? `${row.delta} ns` : undefined}>
        {known ? signedDelta(row.delta!, formatDuration) : contextText}
      </td>
    </tr>
  );
}
