import { z } from 'zod';

const rate = z
  .object({
    /** 0 = unlimited. */
    spans_per_second: z.number().min(0).default(0),
    bytes_per_second: z.number().min(0).default(0),
  })
  .strict()
  .prefault({});

/**
 * Ingest quotas: token buckets per ingest token (or per client when ingest is unauthenticated)
 * and per service (`service.name`), with one second of burst. A request over a quota is refused
 * whole with 429 / RESOURCE_EXHAUSTED and a Retry-After of the time until it would fit.
 */
export const quotaConfigSchema = z
  .object({
    per_token: rate,
    per_service: rate,
  })
  .strict();

export type QuotaConfig = z.infer<typeof quotaConfigSchema>;
