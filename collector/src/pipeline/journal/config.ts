import { z } from 'zod';

/**
 * `pipeline.journal`: the write-ahead journal in front of the processors. It runs whenever a
 * processor holds spans (stitch, tail sampling, the filter's conditional tracing) — those spans
 * are acknowledged before they reach the exporter queues, and without it a crash loses them.
 */
export const journalConfigSchema = z
  .object({
    /** Off only to measure what it costs: a crash then loses the spans the processors hold. */
    enabled: z.boolean().default(true),
    /** Segment files are deleted whole once every record in them is done. */
    segment_bytes: z.number().int().min(64 * 1024).default(16 * 1024 * 1024),
  })
  .strict();

export type JournalConfig = z.infer<typeof journalConfigSchema>;
