/** The slowest of the traces the API listed (it lists newest first and has no sort by duration). */
import type { TraceSummary } from '../api/types';

/** Longest first (ties: newest first, then by ID, so that the order is stable), at most `limit`. */
export function slowestTraces(traces: readonly TraceSummary[], limit: number): TraceSummary[] {
  return [...traces]
    .sort((a, b) => compare(b.durationNano, a.durationNano) || compare(b.startTimeUnixNano, a.startTimeUnixNano) || a.traceId.localeCompare(b.traceId))
    .slice(0, limit);
}

function compare(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
