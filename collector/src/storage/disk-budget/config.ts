import { z } from 'zod';

/**
 * `storage.max_disk_gb`: an upper bound on what the storage database's tables take on disk
 * together. When it is exceeded, the oldest day partitions of `otel_traces` and `otel_logs` are
 * dropped, oldest day first, never today's; every drop is counted (metrics and the drop ledger,
 * `storage/disk_budget` and `logs/storage/disk_budget`).
 * 0 (the default): no budget. Gigabytes are 10^9 bytes; fractions are allowed (0.5).
 */
export const maxDiskGbSchema = z.number().min(0, 'must be 0 (no budget) or more').default(0);

/** `storage.disk_check_interval_seconds`: how often the budget is checked. */
export const diskCheckIntervalSchema = z
  .number()
  .int('expected a whole number of seconds')
  .min(1, 'must be at least 1')
  .max(86_400, 'must be at most 86400 (a day)')
  .default(60);

export const GB = 1_000_000_000;
