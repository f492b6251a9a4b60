import type { DropsAnswer } from '../../query/drops-routes.js';
import type { CollectorStatus } from '../../query/status-routes.js';

/** One line of `flowtrace doctor`'s report. */
export interface CheckResult {
  status: 'OK' | 'WARN' | 'FAIL';
  check: string;
  /** Plain words: what was found and, when it is not OK, what to do. */
  detail: string;
}

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

/** Reasons that are a rule doing its job, not a problem. */
const INTENDED = new Set(['filtered', 'sampled_out', 'masked', 'truncated']);

export function assessQueues(status: CollectorStatus): CheckResult[] {
  if (status.queues.length === 0) return [{ status: 'WARN', check: 'queues', detail: 'the collector reports no exporter queue' }];
  return status.queues.flatMap((q): CheckResult[] => {
    const fill = q.capacityBytes > 0 ? q.diskBytes / q.capacityBytes : 0;
    const depth = `${q.spans} spans (${q.records} requests) waiting, ${bytes(q.diskBytes)} of ${bytes(q.capacityBytes)} on disk`;
    const out: CheckResult[] = [];
    if (fill >= 0.9) out.push({ status: 'FAIL', check: `queue ${q.exporter}`, detail: `${depth}: nearly full, so clients are refused (429) or the oldest records dropped; the backend is down or too slow` });
    else if (fill >= 0.5) out.push({ status: 'WARN', check: `queue ${q.exporter}`, detail: `${depth}: more than half full; the backend is not keeping up` });
    else out.push({ status: 'OK', check: `queue ${q.exporter}`, detail: depth });
    if (q.deadLetteredSpans > 0) {
      out.push({ status: 'WARN', check: `dead letters ${q.exporter}`, detail: `${q.deadLetteredSpans} spans were rejected by the backend for good since start: see <data_dir>/queues/${q.exporter}/dead-letter/ and the collector's log` });
    }
    if (q.droppedSpans > 0) {
      out.push({ status: 'WARN', check: `dropped ${q.exporter}`, detail: `${q.droppedSpans} spans were dropped from the queue since start (full with full_policy drop_oldest, or damaged on disk)` });
    }
    return out;
  });
}

export function assessDisk(status: CollectorStatus): CheckResult {
  const { dataDirFreeBytes: free, dataDirTotalBytes: total } = status.storage;
  if (free === null || total === null) return { status: 'WARN', check: 'disk', detail: 'the collector could not read the free space of its data directory' };
  const share = total > 0 ? free / total : 1;
  const text = `${bytes(free)} free of ${bytes(total)} (${Math.round(share * 100)}%) where the data directory is`;
  if (free < 256 * MIB) return { status: 'FAIL', check: 'disk', detail: `${text}: queues and storage will fail soon; free space or lower storage.retention_days` };
  if (free < 2 * GIB || share < 0.1) return { status: 'WARN', check: 'disk', detail: `${text}: running low; free space or lower storage.retention_days` };
  return { status: 'OK', check: 'disk', detail: text };
}

export function assessRetention(status: CollectorStatus): CheckResult {
  const { retentionDays, dropsRetentionDays } = status.storage;
  // Absent when the collector predates retention rules and the disk budget.
  const rules = status.storage.retentionRules ?? [];
  const ruleText = rules.length === 0 ? '' : `; first matching rule instead: ${rules.map((r) => `${r.name} (${r.match}) ${days(r.days)}`).join(', ')}`;
  const budget = status.storage.maxDiskGb == null ? '' : `; disk budget ${status.storage.maxDiskGb} GB for spans (oldest days dropped beyond it)`;
  return {
    status: 'OK',
    check: 'retention',
    detail: `spans are kept ${days(retentionDays)} (storage.retention_days; older spans are refused)${ruleText}, the drop ledger ${days(dropsRetentionDays)}${budget}`,
  };
}

/** Clocks ahead by more than this make spans end in the future. */
const AHEAD_WARN_MS = 2_000;
/** Spans arriving this long after they ended: a clock behind, or an exporter that holds them. */
const BEHIND_WARN_MS = 5 * 60_000;

export function assessClocks(status: CollectorStatus): CheckResult {
  const { clocks, windowMinutes } = status.senders;
  if (clocks.length === 0) return { status: 'OK', check: 'clock skew', detail: `no sender in the last ${windowMinutes} minutes` };
  const ahead = clocks.filter((c) => c.aheadMs > AHEAD_WARN_MS);
  const behind = clocks.filter((c) => c.behindMs > BEHIND_WARN_MS);
  if (ahead.length === 0 && behind.length === 0) {
    const worst = Math.max(...clocks.map((c) => c.aheadMs));
    return { status: 'OK', check: 'clock skew', detail: `${clocks.length} senders in the last ${windowMinutes} minutes; no clock ahead by more than ${seconds(worst)}` };
  }
  const parts = [
    ...ahead.slice(0, 3).map((c) => `${name(c.service)}'s clock is ${seconds(c.aheadMs)} ahead (its spans end in the future)`),
    ...behind.slice(0, 3).map((c) => `${name(c.service)}'s spans arrive ${seconds(c.behindMs)} after they end (clock behind, or its exporter holds them)`),
  ];
  return { status: 'WARN', check: 'clock skew', detail: `${parts.join('; ')}: sync the senders' clocks (NTP)` };
}

export function assessDrops(answer: DropsAnswer): CheckResult {
  const problems = answer.drops.filter((d) => d.droppedSpans > 0 && !INTENDED.has(d.reason));
  const intended = answer.drops.filter((d) => INTENDED.has(d.reason));
  const summary = intended.length === 0 ? '' : `; by rules: ${intended.map((d) => `${d.droppedSpans || d.alteredValues} ${d.reason}`).join(', ')}`;
  if (problems.length === 0) return { status: 'OK', check: 'drops (1h)', detail: `no span lost in the last hour${summary}` };
  const worst = problems
    .slice(0, 3)
    .map((d) => `${d.droppedSpans} ${d.reason} at ${d.stage}${d.service ? ` (${d.service})` : ''}`)
    .join(', ');
  // The logs' stages (`logs/…`) count log records, not spans.
  const isLogs = (d: { stage: string }) => d.stage.startsWith('logs/');
  const spans = problems.filter((d) => !isLogs(d)).reduce((s, d) => s + d.droppedSpans, 0);
  const records = problems.filter(isLogs).reduce((s, d) => s + d.droppedSpans, 0);
  const what = [spans > 0 ? `${spans} spans` : '', records > 0 ? `${records} log records` : ''].filter((t) => t !== '').join(' and ');
  return { status: 'WARN', check: 'drops (1h)', detail: `${what} not stored in the last hour: ${worst}; run 'flowtrace drops' for all of them` };
}

export function bytes(n: number): string {
  if (n >= GIB) return `${(n / GIB).toFixed(1)} GiB`;
  if (n >= MIB) return `${(n / MIB).toFixed(1)} MiB`;
  return `${Math.round(n / 1024)} KiB`;
}

function days(n: number): string {
  return n === 1 ? '1 day' : `${n} days`;
}

function seconds(ms: number): string {
  return ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(1)} s`;
}

function name(service: string): string {
  return service === '' ? 'a sender without service.name' : service;
}
