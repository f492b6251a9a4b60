import { z } from 'zod';

const positiveInt = z.number().int('expected a whole number').min(1, 'must be at least 1');

/**
 * `api.sql:` limits on user SQL. The engine enforces them (they are set by the collector on a
 * read-only session the statement cannot change); the statement itself is checked first.
 */
export const userSqlConfigSchema = z
  .object({
    max_rows: positiveInt.default(10_000),
    max_execution_seconds: positiveInt.default(30),
    /** Result size returned at most (the JSON rows); a larger result is cut and flagged `truncated`. */
    max_result_bytes: positiveInt.default(16 * 1024 * 1024),
    max_memory_mib: positiveInt.default(1024),
    max_rows_to_read: positiveInt.default(1_000_000_000),
    max_bytes_to_read_mib: positiveInt.default(100 * 1024),
    max_threads: positiveInt.default(2),
    /** User queries running at once; more are answered 429. */
    max_concurrent: positiveInt.default(4),
    /** Rows one export (`POST /api/export`) returns at most; it shares the other limits and the concurrency slots. */
    export_max_rows: positiveInt.default(10_000_000),
    /** Bytes one export's result may take; a larger one fails (the embedded engine holds a result in memory whole). */
    export_max_result_mib: positiveInt.default(1024),
  })
  .strict();

export type UserSqlConfig = z.infer<typeof userSqlConfigSchema>;
