import { z } from 'zod';

/**
 * Settings of one exporter's durable queue (`queue:` under each exporter, `pipeline.queue` for
 * ClickHouse). The queue keeps every accepted request on disk until the exporter delivered it,
 * so these bound disk (not memory) and say how batches are formed and retried.
 */

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

const count = z.number().int('expected a whole number').min(1, 'must be at least 1');
const milliseconds = z.number().int('expected whole milliseconds').min(1, 'must be at least 1 ms');

export const FULL_POLICIES = ['refuse', 'drop_oldest'] as const;

export const queueConfigSchema = z
  .object({
    /**
     * Disk the queue's segment files may use. Delivered records count until their segment is
     * deleted, so somewhat less than this is available for undelivered ones.
     */
    max_bytes: z
      .number()
      .int('expected a whole number of bytes')
      .min(4 * MiB, 'must be at least 4 MiB (4194304 bytes)')
      .default(GiB),
    /**
     * When full: `refuse` new requests (receivers answer 429 / RESOURCE_EXHAUSTED and clients
     * retry), or `drop_oldest` undelivered records to make room (counted and logged).
     */
    full_policy: z.enum(FULL_POLICIES, { error: 'expected refuse or drop_oldest' }).default('refuse'),
    /** Retry hint given to clients refused because the queue is full. */
    retry_after_seconds: count.default(5),
    /**
     * Size of one segment file; space is reclaimed a whole segment at a time. The queue uses at
     * most an eighth of max_bytes, so that dropping or deleting segments frees room in steps.
     */
    segment_bytes: z
      .number()
      .int('expected a whole number of bytes')
      .min(64 * KiB, 'must be at least 64 KiB (65536 bytes)')
      .default(64 * MiB),
    /** Batches sent at once. Acknowledgement stays in order whatever completes first. */
    concurrency: count.max(64, 'must be at most 64').default(2),
    batch: z
      .object({
        /** A batch is sent when it holds this many spans (a single larger record is sent alone)… */
        max_spans: count.default(100_000),
        /** …or this many bytes, which bounds the memory a batch in flight holds… */
        max_bytes: count.default(128 * MiB),
        /** …or when its oldest record has waited this long. */
        timeout_ms: milliseconds.default(2_000),
      })
      .strict()
      .prefault({}),
    /**
     * Exponential backoff with jitter after a failed send; nothing else is sent meanwhile. A
     * backend's own hint (Retry-After, gRPC RetryInfo) is honoured when it is longer.
     */
    retry: z
      .object({
        initial_interval_ms: milliseconds.default(500),
        max_interval_ms: milliseconds.default(30_000),
        multiplier: z.number().min(1, 'must be at least 1').max(10, 'must be at most 10').default(1.5),
        /** Each delay is randomised by ± this fraction, so that collectors do not retry in step. */
        randomization_factor: z.number().min(0, 'must be 0–1').max(1, 'must be 0–1').default(0.5),
        /** A batch failing for longer is dead-lettered; 0 retries for ever (the queue still bounds disk). */
        max_elapsed_ms: z.number().int('expected whole milliseconds').min(0, 'must be 0 (for ever) or more').default(0),
      })
      .strict()
      .refine((r) => r.initial_interval_ms <= r.max_interval_ms, {
        message: 'initial_interval_ms must not exceed max_interval_ms',
        path: ['initial_interval_ms'],
      })
      .prefault({}),
  })
  .strict();

export type QueueConfig = z.infer<typeof queueConfigSchema>;
export type FullPolicy = (typeof FULL_POLICIES)[number];
