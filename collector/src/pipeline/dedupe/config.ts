import { z } from 'zod';

const positiveInt = z.number().int('expected a whole number').min(1, 'must be at least 1');

/**
 * `pipeline.dedupe`: how long, and for how many spans, the embedded-store owner remembers the
 * spans it took. A `process` replica SIGKILLed between making its output durable and committing
 * its Kafka offsets has those records consumed again by the replica that takes its partitions
 * (and replays its own journal when it comes back): the same spans arrive twice, minutes apart at
 * most. About 150 bytes of memory per remembered span.
 */
export const dedupeConfigSchema = z
  .object({
    window_seconds: positiveInt.default(900),
    max_spans: positiveInt.default(1_000_000),
  })
  .strict();

export type DedupeConfig = z.infer<typeof dedupeConfigSchema>;
