import { z } from 'zod';

const count = z.number().int('expected a whole number').min(1, 'must be at least 1');
const days = z.number().int('expected a whole number of days').min(1, 'must be at least 1 day');

export const stitchConfigSchema = z
  .object({
    /** Off: spans pass straight through; nothing is held, flagged or written. */
    enabled: z.boolean().default(true),
    /** A trace is assembled once no span of it arrived for this long. */
    decision_wait_ms: count.default(5_000),
    /** Traces held at most; beyond, the least recently updated one is stitched early. */
    max_traces: count.default(50_000),
    /**
     * Spans held at most, across traces; beyond, traces are stitched early. Also the bound on
     * stitched spans waiting for a next stage that refuses them: beyond it new spans get 429.
     */
    max_spans: count.default(500_000),
    /**
     * Released traces are remembered a while, so that spans arriving after their trace left
     * still find their parent (no false orphan, the call still pairs) and later pieces of
     * one correlation ID still link to earlier ones.
     */
    memory: z
      .object({
        window_ms: count.default(120_000),
        /** Span IDs remembered at most, across released traces. */
        max_spans: count.default(200_000),
        /** Correlation IDs remembered at most. */
        max_correlation_ids: count.default(100_000),
      })
      .strict()
      .prefault({}),
    orphans: z
      .object({
        /** Set `flowtrace.orphan` = true on spans whose parent did not arrive within the wait (always counted). */
        flag: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    service_graph: z
      .object({
        /** Write caller → callee edges per minute to `flowtrace_service_graph`. */
        enabled: z.boolean().default(true),
        retention_days: days.default(30),
      })
      .strict()
      .prefault({}),
    correlation: z
      .object({
        /** Record correlation ID → traces in `flowtrace_correlations`. */
        enabled: z.boolean().default(true),
        /** Link a later piece's root span to the roots of earlier pieces with the same correlation ID. */
        link_traces: z.boolean().default(true),
        /** Links added to one root span at most. */
        max_links: count.default(8),
        retention_days: days.default(7),
      })
      .strict()
      .prefault({}),
    clock_skew: z
      .object({
        /** Record per-span clock-skew offsets in `flowtrace_clock_skew` (stored times are never changed). */
        enabled: z.boolean().default(true),
        retention_days: days.default(7),
      })
      .strict()
      .prefault({}),
    /** Side-table writes: batched, retried with backoff, bounded. */
    flush: z
      .object({
        /** Rows are written at least this often… */
        interval_ms: count.default(5_000),
        /** …or as soon as this many are waiting. */
        max_rows: count.default(10_000),
        /** Rows kept while ClickHouse refuses them; beyond, the oldest are dropped (counted, logged). */
        max_pending_rows: count.default(500_000),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type StitchConfig = z.infer<typeof stitchConfigSchema>;
