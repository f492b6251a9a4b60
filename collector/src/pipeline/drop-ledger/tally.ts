/**
 * The drop ledger's counts waiting to be written to `flowtrace_drops`: one row per minute ×
 * stage × reason × service, summed in memory between flushes. Bounded, because service names
 * come from senders: past `maxRows` distinct rows, new services are counted under
 * {@link OTHER_SERVICES}; past a further margin (ClickHouse away for a long time), new rows are
 * lost and counted as lost, never grown without limit.
 */

/** One row of `flowtrace_drops` before it is written. */
export interface DropRow {
  /** Unix seconds at the start of the minute. */
  minute: number;
  stage: string;
  reason: string;
  service: string;
  droppedSpans: number;
  alteredValues: number;
}

/** Where counts of services beyond the bound go. */
export const OTHER_SERVICES = '(other services)';
/** Longest service name kept; longer ones are cut (the counts stay exact). */
export const MAX_SERVICE_LENGTH = 256;
/** Rows beyond `maxRows` kept for {@link OTHER_SERVICES} (one per minute × stage × reason). */
const OVERFLOW_MARGIN = 1_000;

export class DropTally {
  private rows = new Map<string, DropRow>();
  /** Rows that could not be kept (the bound and its margin were full). */
  lostRows = 0;

  constructor(readonly maxRows = 10_000) {}

  get size(): number {
    return this.rows.size;
  }

  add(row: DropRow): void {
    const service = row.service.length > MAX_SERVICE_LENGTH ? row.service.slice(0, MAX_SERVICE_LENGTH) : row.service;
    let key = keyOf(row.minute, row.stage, row.reason, service);
    let found = this.rows.get(key);
    if (found === undefined && this.rows.size >= this.maxRows) {
      key = keyOf(row.minute, row.stage, row.reason, OTHER_SERVICES);
      found = this.rows.get(key);
      if (found === undefined && this.rows.size >= this.maxRows + OVERFLOW_MARGIN) {
        this.lostRows++;
        return;
      }
      if (found === undefined) this.rows.set(key, (found = { ...row, service: OTHER_SERVICES, droppedSpans: 0, alteredValues: 0 }));
    } else if (found === undefined) {
      this.rows.set(key, (found = { ...row, service, droppedSpans: 0, alteredValues: 0 }));
    }
    found.droppedSpans += row.droppedSpans;
    found.alteredValues += row.alteredValues;
  }

  /** Every row, and an empty tally. */
  take(): DropRow[] {
    const rows = [...this.rows.values()];
    this.rows = new Map();
    return rows;
  }

  /** Rows taken that could not be written: added back, so the next flush writes them. */
  putBack(rows: readonly DropRow[]): void {
    for (const row of rows) this.add(row);
  }
}

function keyOf(minute: number, stage: string, reason: string, service: string): string {
  return `${minute}\u0000${stage}\u0000${reason}\u0000${service}`;
}
