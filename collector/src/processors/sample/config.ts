import { z } from 'zod';

/**
 * The `sample` processor's settings. Head sampling keeps a consistent fraction of traces by
 * trace ID; tail sampling holds whole traces and keeps those its policies pick (the
 * OpenTelemetry Collector tail_sampling processor's policies and their snake_case config).
 * The defaults keep everything: tail sampling is off, because holding every trace for
 * `decision_wait_ms` delays every trace by that much.
 */

const count = z.number().int('expected a whole number').min(1, 'must be at least 1');
const size = z.number().int('expected a whole number').min(0, 'must be 0 or more');
const percentage = z.number().min(0, 'must be a percentage, 0–100').max(100, 'must be a percentage, 0–100');
const positive = z.number().positive('must be more than 0');
const values = z.array(z.string()).min(1, 'needs at least one value');

export const POLICY_TYPES = [
  'always_sample',
  'probabilistic',
  'status_code',
  'latency',
  'string_attribute',
  'numeric_attribute',
  'span_count',
  'rate_limiting',
  'trace_state',
  'correlation_id',
  'and',
  'not',
  'composite',
] as const;

export const STATUS_CODES = ['UNSET', 'OK', 'ERROR'] as const;

/** `type` selects the policy; its settings sit under a key of the same name, as in the Collector. */
const base = { name: z.string().min(1, 'a policy needs a name') };

const alwaysSample = z.object({ ...base, type: z.literal('always_sample') }).strict();

const probabilistic = z
  .object({
    ...base,
    type: z.literal('probabilistic'),
    probabilistic: z.object({ sampling_percentage: percentage }).strict(),
  })
  .strict();

const statusCode = z
  .object({
    ...base,
    type: z.literal('status_code'),
    status_code: z.object({ status_codes: z.array(z.enum(STATUS_CODES)).min(1, 'needs at least one status code') }).strict(),
  })
  .strict();

const latency = z
  .object({
    ...base,
    type: z.literal('latency'),
    latency: z
      .object({
        /** Keep traces lasting at least this long (more than it, when an upper bound is set). */
        threshold_ms: z.number().min(0, 'must be 0 or more').default(0),
        /** …and at most this long. */
        upper_threshold_ms: positive.optional(),
        /** Measure the root span instead of the whole trace (earliest start to latest end). */
        use_root_span: z.boolean().default(false),
      })
      .strict()
      .refine((l) => l.threshold_ms > 0 || l.upper_threshold_ms !== undefined, {
        message: 'latency needs threshold_ms or upper_threshold_ms',
        path: ['threshold_ms'],
      })
      .refine((l) => l.upper_threshold_ms === undefined || l.upper_threshold_ms > l.threshold_ms, {
        message: 'upper_threshold_ms must be more than threshold_ms',
        path: ['upper_threshold_ms'],
      }),
  })
  .strict();

const stringAttribute = z
  .object({
    ...base,
    type: z.literal('string_attribute'),
    string_attribute: z
      .object({
        key: z.string().min(1, 'needs an attribute key'),
        values,
        /** `values` are regular expressions, matched anywhere in the value (anchor them with ^…$). */
        enabled_regex_matching: z.boolean().default(false),
        /** Keep traces in which no span (nor resource) matches. */
        invert_match: z.boolean().default(false),
      })
      .strict()
      .superRefine((s, ctx) => {
        if (!s.enabled_regex_matching) return;
        s.values.forEach((v, i) => {
          const problem = regexProblem(v);
          if (problem) ctx.addIssue({ code: 'custom', path: ['values', i], message: `invalid regular expression ${JSON.stringify(v)}: ${problem}` });
        });
      }),
  })
  .strict();

const numericAttribute = z
  .object({
    ...base,
    type: z.literal('numeric_attribute'),
    numeric_attribute: z
      .object({
        key: z.string().min(1, 'needs an attribute key'),
        min_value: z.number().optional(),
        max_value: z.number().optional(),
        invert_match: z.boolean().default(false),
      })
      .strict()
      .refine((n) => n.min_value !== undefined || n.max_value !== undefined, {
        message: 'numeric_attribute needs min_value, max_value or both',
        path: ['min_value'],
      })
      .refine((n) => n.min_value === undefined || n.max_value === undefined || n.min_value <= n.max_value, {
        message: 'min_value must not be more than max_value',
        path: ['max_value'],
      }),
  })
  .strict();

const spanCount = z
  .object({
    ...base,
    type: z.literal('span_count'),
    span_count: z
      .object({
        min_spans: size.default(0),
        /** No upper bound when absent. */
        max_spans: count.optional(),
      })
      .strict()
      .refine((s) => s.min_spans > 0 || s.max_spans !== undefined, { message: 'span_count needs min_spans or max_spans', path: ['min_spans'] })
      .refine((s) => s.max_spans === undefined || s.min_spans <= s.max_spans, { message: 'min_spans must not be more than max_spans', path: ['max_spans'] }),
  })
  .strict();

const rateLimiting = z
  .object({
    ...base,
    type: z.literal('rate_limiting'),
    rate_limiting: z
      .object({
        spans_per_second: positive,
        /** Spans a burst may take at once (the bucket's size); default one second's worth. */
        burst_capacity: positive.optional(),
        /** One bucket per service (of the root span), each with the full rate. */
        by_service: z.boolean().default(false),
      })
      .strict(),
  })
  .strict();

const traceState = z
  .object({
    ...base,
    type: z.literal('trace_state'),
    trace_state: z.object({ key: z.string().min(1, 'needs a tracestate key'), values }).strict(),
  })
  .strict();

const correlationId = z
  .object({
    ...base,
    type: z.literal('correlation_id'),
    correlation_id: z
      .object({
        /** The span attribute holding the correlation ID (the agents set this one). */
        attribute: z.string().min(1).default('flowtrace.correlation_id'),
        /** Correlation IDs whose traces are always kept. */
        ids: z.array(z.string().min(1)).default([]),
        /** A span (or resource) with one of these attributes flags its trace's correlation IDs: their later traces are kept too. */
        flag: z
          .array(z.object({ key: z.string().min(1, 'needs an attribute key'), values: values.default(['true']) }).strict())
          .default([]),
        /** Flagged correlation IDs remembered at most (the first flagged is forgotten first). */
        max_flagged: count.default(10_000),
      })
      .strict()
      .refine((c) => c.ids.length > 0 || c.flag.length > 0, { message: 'correlation_id needs ids or flag', path: ['ids'] }),
  })
  .strict();

// The combinators refer back to the whole union: getters defer the reference (zod 4 recursion).
const and = z
  .object({
    ...base,
    type: z.literal('and'),
    and: z
      .object({
        get and_sub_policy(): z.ZodArray<typeof policySchema> {
          return z.array(policySchema).min(1, 'and needs at least one sub-policy');
        },
      })
      .strict(),
  })
  .strict();

const not = z
  .object({
    ...base,
    type: z.literal('not'),
    not: z
      .object({
        get not_sub_policy(): typeof policySchema {
          return policySchema;
        },
      })
      .strict(),
  })
  .strict();

const composite = z
  .object({
    ...base,
    type: z.literal('composite'),
    composite: z
      .object({
        max_total_spans_per_second: positive,
        /** Sub-policy names in evaluation order; sub-policies not listed follow in their own order. */
        policy_order: z.array(z.string()).default([]),
        get composite_sub_policy(): z.ZodArray<typeof policySchema> {
          return z.array(policySchema).min(1, 'composite needs at least one sub-policy');
        },
        /** Shares of max_total_spans_per_second; sub-policies not listed split what is left equally. */
        rate_allocation: z.array(z.object({ policy: z.string(), percent: percentage }).strict()).default([]),
      })
      .strict()
      .superRefine((c, ctx) => {
        const names = new Set(c.composite_sub_policy.map((p) => p.name));
        c.policy_order.forEach((n, i) => {
          if (!names.has(n)) ctx.addIssue({ code: 'custom', path: ['policy_order', i], message: `no sub-policy named ${JSON.stringify(n)}` });
        });
        const allocated = new Set<string>();
        c.rate_allocation.forEach((a, i) => {
          if (allocated.has(a.policy)) ctx.addIssue({ code: 'custom', path: ['rate_allocation', i, 'policy'], message: `${JSON.stringify(a.policy)} is listed twice` });
          allocated.add(a.policy);
          if (!names.has(a.policy)) ctx.addIssue({ code: 'custom', path: ['rate_allocation', i, 'policy'], message: `no sub-policy named ${JSON.stringify(a.policy)}` });
        });
        const total = c.rate_allocation.reduce((sum, a) => sum + a.percent, 0);
        if (total > 100) ctx.addIssue({ code: 'custom', path: ['rate_allocation'], message: `percents add up to ${total}, more than 100` });
      }),
  })
  .strict();

export const policySchema = z.discriminatedUnion('type', [
  alwaysSample,
  probabilistic,
  statusCode,
  latency,
  stringAttribute,
  numericAttribute,
  spanCount,
  rateLimiting,
  traceState,
  correlationId,
  and,
  not,
  composite,
], {
  error: (issue) => {
    if (issue.code !== 'invalid_union') return undefined;
    const input = issue.input;
    const type = typeof input === 'object' && input !== null ? (input as { type?: unknown }).type : undefined;
    const expected = `one of ${POLICY_TYPES.join(', ')}`;
    return type === undefined ? `a policy needs a type: ${expected}` : `unknown policy type ${JSON.stringify(type)}; expected ${expected}`;
  },
});

export const sampleConfigSchema = z
  .object({
    head: z
      .object({
        /** Traces kept, by trace ID, consistently across collectors (OpenTelemetry `th`/`rv` tracestate). */
        sampling_percentage: percentage.default(100),
      })
      .strict()
      .prefault({}),
    tail: z
      .object({
        /** Off by default: a tail decision waits decision_wait_ms, delaying every trace. */
        enabled: z.boolean().default(false),
        /** A trace is decided once no span of it arrived for this long. */
        decision_wait_ms: count.default(5_000),
        /** Traces held at most; beyond, the least recently updated one is decided early. */
        max_traces: count.default(50_000),
        /** Spans held at most; beyond, traces are decided early. Also the bound on kept spans waiting for the next stage. */
        max_spans: count.default(500_000),
        /** Decisions remembered after their traces left, so later spans follow them. 0 turns a cache off. */
        decision_cache: z
          .object({
            sampled_size: size.default(100_000),
            non_sampled_size: size.default(100_000),
          })
          .strict()
          .prefault({}),
        /** A trace is kept when any of these keeps it. */
        policies: z.array(policySchema).default([]),
      })
      .strict()
      .prefault({})
      .superRefine((tail, ctx) => {
        if (tail.enabled && tail.policies.length === 0) {
          ctx.addIssue({ code: 'custom', path: ['policies'], message: 'tail sampling is enabled but has no policies; add at least one (e.g. type: always_sample)' });
        }
        checkPolicies(tail.policies, ['policies'], 'top', false, ctx);
      }),
  })
  .strict();

export type SampleConfig = z.infer<typeof sampleConfigSchema>;
export type TailConfig = SampleConfig['tail'];
export type PolicyConfig = z.infer<typeof policySchema>;
export type PolicyType = PolicyConfig['type'];
export type StatusCodeName = (typeof STATUS_CODES)[number];

/** Policies that spend a rate budget when they keep a trace. */
export function spendsBudget(p: PolicyConfig): boolean {
  switch (p.type) {
    case 'rate_limiting':
    case 'composite':
      return true;
    case 'and':
      return p.and.and_sub_policy.some(spendsBudget);
    case 'not':
      return spendsBudget(p.not.not_sub_policy);
    default:
      return false;
  }
}

type Path = Array<string | number>;

/**
 * Rules across the policy tree: names unique among siblings (they label metrics and are what
 * composite refers to); composite only at the top; nothing under `not` that spends a rate
 * budget (it would spend it on the traces it then drops).
 */
function checkPolicies(list: readonly PolicyConfig[], path: Path, level: 'top' | 'nested', underNot: boolean, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  list.forEach((p, i) => {
    const at = [...path, i];
    if (seen.has(p.name)) ctx.addIssue({ code: 'custom', path: [...at, 'name'], message: `duplicate policy name ${JSON.stringify(p.name)}` });
    seen.add(p.name);
    checkPolicy(p, at, level, underNot, ctx);
  });
}

function checkPolicy(p: PolicyConfig, at: Path, level: 'top' | 'nested', underNot: boolean, ctx: z.RefinementCtx): void {
  if (p.type === 'composite' && level !== 'top') {
    ctx.addIssue({ code: 'custom', path: [...at, 'type'], message: 'composite can only be a top-level policy' });
  }
  if (underNot && (p.type === 'rate_limiting' || p.type === 'composite')) {
    ctx.addIssue({ code: 'custom', path: [...at, 'type'], message: `${p.type} cannot be under not: it would spend its rate on traces that are then dropped` });
  }
  if (p.type === 'and') checkPolicies(p.and.and_sub_policy, [...at, 'and', 'and_sub_policy'], 'nested', underNot, ctx);
  if (p.type === 'not') checkPolicy(p.not.not_sub_policy, [...at, 'not', 'not_sub_policy'], 'nested', true, ctx);
  if (p.type === 'composite') checkPolicies(p.composite.composite_sub_policy, [...at, 'composite', 'composite_sub_policy'], 'nested', underNot, ctx);
}

function regexProblem(pattern: string): string | undefined {
  try {
    new RegExp(pattern);
    return undefined;
  } catch (err) {
    // V8 says "Invalid regular expression: /(a/: Unterminated group": keep the reason.
    return (err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
  }
}
