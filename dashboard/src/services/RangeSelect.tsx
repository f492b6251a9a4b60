/** The time range of a service page; the choice goes into the URL. */
import { RANGE_LABELS, RANGES, type Range } from './range';

export function RangeSelect({ value, onChange }: { value: Range; onChange(range: Range): void }) {
  return (
    <label className="range-select">
      Time range
      <select name="range" value={value} onChange={(e) => onChange(e.target.value as Range)}>
        {RANGES.map((r) => (
          <option key={r} value={r}>
            {RANGE_LABELS[r]}
          </option>
        ))}
      </select>
    </label>
  );
}
