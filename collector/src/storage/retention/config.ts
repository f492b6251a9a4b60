import { z } from 'zod';
import { SPAN_KINDS, STATUSES, type RetentionPolicy, type RetentionRule } from './policy.js';

/**
 * The ClickHouse TTL's interval is added to a 32-bit `DateTime` (the last second it holds is in
 * 2106): a longer retention would wrap around and expire spans at once.
 */
export const MAX_RETENTION_DAYS = 3650;

const days = z
  .number()
  .int('expected a whole number of days')
  .min(1, 'must be at least 1')
  .max(MAX_RETENTION_DAYS, `must be at most ${MAX_RETENTION_DAYS} (10 years)`);

const serviceName = z.string().min(1, 'must not be empty');

const matchSchema = z
  .object({
    /** `service.name` equals this, or one of these. */
    service: z.union([serviceName, z.array(serviceName).min(1, 'must list at least one service')]).optional(),
    /** The span's status code. */
    status: z.enum(STATUSES).optional(),
    /** The span's kind. */
    kind: z.enum(SPAN_KINDS).optional(),
    /** true: method spans (INTERNAL with `code.function.name`, as the agents make them); false: all others. */
    method_spans: z.boolean().optional(),
  })
  .strict()
  .refine((m) => m.service !== undefined || m.status !== undefined || m.kind !== undefined || m.method_spans !== undefined, {
    message: 'must name at least one of service, status, kind, method_spans (the default for all spans is storage.retention_days)',
  });

const ruleSchema = z
  .object({
    /** Named in refusals, /api/status and doctor: letters, digits, `_ . -`. */
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected 1–64 letters, digits, _ . or -'),
    match: matchSchema,
    days,
  })
  .strict();

/**
 * `storage.retention_rules`: exceptions to `storage.retention_days`, in order; the first rule
 * a span matches decides how long it is kept (as Loki's `retention_stream`, minus priorities:
 * the order is the priority).
 */
export const retentionRulesSchema = z
  .array(ruleSchema)
  .max(32, 'at most 32 rules (each is a TTL clause the store evaluates on every merge)')
  .superRefine((rules, ctx) => {
    const seen = new Set<string>();
    rules.forEach((rule, i) => {
      if (seen.has(rule.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `rule name ${JSON.stringify(rule.name)} is used twice` });
      seen.add(rule.name);
    });
  })
  .default([]);

export type RetentionRulesConfig = z.infer<typeof retentionRulesSchema>;

/** The policy the store and the receivers apply. */
export function retentionPolicy(defaultDays: number, rules: RetentionRulesConfig): RetentionPolicy {
  return {
    defaultDays,
    rules: rules.map(
      (r): RetentionRule => ({
        name: r.name,
        days: r.days,
        match: {
          ...(r.match.service !== undefined ? { services: typeof r.match.service === 'string' ? [r.match.service] : r.match.service } : {}),
          ...(r.match.status !== undefined ? { status: r.match.status } : {}),
          ...(r.match.kind !== undefined ? { kind: r.match.kind } : {}),
          ...(r.match.method_spans !== undefined ? { methodSpans: r.match.method_spans } : {}),
        },
      }),
    ),
  };
}
