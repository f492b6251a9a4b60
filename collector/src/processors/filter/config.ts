import { z } from 'zod';

/** How a value is matched: a plain string is an exact match. */
export const matcherSchema = z.union([
  z.string(),
  z.object({ exact: z.string() }).strict(),
  z.object({ prefix: z.string() }).strict(),
  z
    .object({ regex: z.string() })
    .strict()
    .refine((m) => isValidRegex(m.regex), { message: 'invalid regular expression', path: ['regex'] }),
]);

export const SPAN_KINDS = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'] as const;

/** A span matches a rule when every condition the rule sets holds. */
const ruleSchema = z
  .object({
    service: matcherSchema.optional(),
    span_name: matcherSchema.optional(),
    span_kind: z.array(z.enum(SPAN_KINDS)).min(1).optional(),
    /** Span or resource attributes. */
    attributes: z.array(z.object({ key: z.string().min(1), value: matcherSchema }).strict()).optional(),
  })
  .strict()
  .refine((r) => Object.values(r).some((v) => v !== undefined), 'a rule needs at least one condition');

export const filterConfigSchema = z
  .object({
    /** When not empty, only spans matching one of these rules are kept. */
    include: z.array(ruleSchema).default([]),
    /** Spans matching one of these rules are dropped (after include). */
    exclude: z.array(ruleSchema).default([]),
    /**
     * Conditional tracing: keep method-level (INTERNAL) spans only for traces that meet a
     * condition; the root and cross-service spans always stay, re-parented so the tree is whole.
     */
    conditional: z
      .object({
        enabled: z.boolean().default(false),
        keep_when: z
          .object({
            /** A span of the trace has status Error. */
            error: z.boolean().default(true),
            /** The trace lasts at least this long (0: off). */
            min_duration_ms: z.number().min(0).default(0),
            /** A span of the trace has one of these attributes. */
            attributes: z.array(z.object({ key: z.string().min(1), value: matcherSchema }).strict()).default([]),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** Keep only `percentage` % of the calls of busy methods (INTERNAL spans), chosen by span ID. */
    method_sampling: z
      .array(
        z
          .object({
            service: matcherSchema.optional(),
            span_name: matcherSchema,
            percentage: z.number().min(0).max(100),
          })
          .strict(),
      )
      .default([]),
    /** Trace assembly for `conditional` and `method_sampling`: how long after a trace's last span it is complete. */
    decision_wait_ms: z.number().int().min(1).default(5_000),
    max_traces: z.number().int().min(1).default(50_000),
    max_spans: z.number().int().min(1).default(500_000),
  })
  .strict();

export type FilterConfig = z.infer<typeof filterConfigSchema>;
export type Matcher = z.infer<typeof matcherSchema>;
export type FilterRule = z.infer<typeof ruleSchema>;

function isValidRegex(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}
