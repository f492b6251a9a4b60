import { z } from 'zod';

const count = z.number().int('expected a whole number').min(1, 'must be at least 1');

/**
 * `red:` — rate, errors and duration per service, operation and span kind, counted as spans
 * are accepted (right after redaction, before any sampling decision), kept per minute in
 * `flowtrace_red` (metrics/red/table.ts).
 */
export const redConfigSchema = z
  .object({
    /** Off: nothing is counted, written or served (the routes answer 404). */
    enabled: z.boolean().default(true),
    /** How long `flowtrace_red` keeps its minutes; independent of the spans' retention. */
    retention_days: count.default(30),
    /** How often the minutes counted in memory are written out (merged with what is stored). */
    flush_interval_ms: z.number().int('expected a whole number').min(50, 'must be at least 50 ms').max(300_000, 'must be at most 300000 ms (5 min)').default(10_000),
    /**
     * Distinct operations (span name × kind) tracked per service; spans of further ones are
     * counted under the operation `__other__`, so a span name carrying IDs cannot blow up the table.
     */
    max_operations_per_service: count.default(500),
    /** Distinct services tracked; spans of further ones are counted under the service `__other__`. */
    max_services: count.default(1_000),
    /** Rows waiting to be written at most (ClickHouse away); beyond, the oldest are dropped and counted. */
    max_pending_rows: count.default(200_000),
  })
  .strict();

export type RedConfig = z.infer<typeof redConfigSchema>;
