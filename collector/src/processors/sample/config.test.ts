import { describe, expect, it } from 'vitest';
import { sampleConfigSchema } from './config.js';

/** The first problem as the config loader reports it: the key's path and the message. */
function problem(config: unknown): string {
  const result = sampleConfigSchema.safeParse(config);
  if (result.success) return 'ok';
  const issue = result.error.issues[0]!;
  return `${issue.path.join('.')}: ${issue.message}`;
}

const tail = (...policies: unknown[]) => ({ tail: { enabled: true, policies } });

describe('sample config', () => {
  it('keeps everything by default: head 100 %, tail off', () => {
    expect(sampleConfigSchema.parse({})).toEqual({
      head: { sampling_percentage: 100 },
      tail: {
        enabled: false,
        decision_wait_ms: 5_000,
        max_traces: 50_000,
        max_spans: 500_000,
        decision_cache: { sampled_size: 100_000, non_sampled_size: 100_000 },
        policies: [],
      },
    });
  });

  it('fills policy defaults', () => {
    const parsed = sampleConfigSchema.parse(tail({ name: 's', type: 'string_attribute', string_attribute: { key: 'k', values: ['v'] } }));
    expect(parsed.tail.policies[0]).toEqual({
      name: 's',
      type: 'string_attribute',
      string_attribute: { key: 'k', values: ['v'], enabled_regex_matching: false, invert_match: false },
    });
  });

  it('names an unknown policy type and lists the known ones, nested too', () => {
    expect(problem(tail({ name: 'x', type: 'sometimes' }))).toMatch(/^tail\.policies\.0\.type: unknown policy type "sometimes"; expected one of always_sample, probabilistic, .*composite$/);
    expect(problem(tail({ name: 'x' }))).toMatch(/^tail\.policies\.0\.type: a policy needs a type: one of always_sample/);
    expect(problem(tail({ name: 'a', type: 'and', and: { and_sub_policy: [{ name: 'b', type: 'nope' }] } }))).toMatch(
      /^tail\.policies\.0\.and\.and_sub_policy\.0\.type: unknown policy type "nope"/,
    );
  });

  it('reports a bad regular expression with the value at fault', () => {
    expect(problem(tail({ name: 's', type: 'string_attribute', string_attribute: { key: 'k', values: ['ok', '(open'], enabled_regex_matching: true } }))).toBe(
      'tail.policies.0.string_attribute.values.1: invalid regular expression "(open": Unterminated group',
    );
    // Without regex matching the same text is a plain value.
    expect(problem(tail({ name: 's', type: 'string_attribute', string_attribute: { key: 'k', values: ['(open'] } }))).toBe('ok');
  });

  it('rejects percentages out of range', () => {
    expect(problem({ head: { sampling_percentage: 120 } })).toBe('head.sampling_percentage: must be a percentage, 0–100');
    expect(problem(tail({ name: 'p', type: 'probabilistic', probabilistic: { sampling_percentage: -1 } }))).toBe(
      'tail.policies.0.probabilistic.sampling_percentage: must be a percentage, 0–100',
    );
    const composite = (allocation: unknown[]) =>
      tail({
        name: 'c',
        type: 'composite',
        composite: { max_total_spans_per_second: 10, composite_sub_policy: [{ name: 'a', type: 'always_sample' }, { name: 'b', type: 'always_sample' }], rate_allocation: allocation },
      });
    expect(problem(composite([{ policy: 'a', percent: 101 }]))).toBe('tail.policies.0.composite.rate_allocation.0.percent: must be a percentage, 0–100');
    expect(problem(composite([{ policy: 'a', percent: 60 }, { policy: 'b', percent: 50 }]))).toBe('tail.policies.0.composite.rate_allocation: percents add up to 110, more than 100');
    expect(problem(composite([{ policy: 'z', percent: 10 }]))).toBe('tail.policies.0.composite.rate_allocation.0.policy: no sub-policy named "z"');
  });

  it('rejects policies that cannot work', () => {
    expect(problem({ tail: { enabled: true } })).toBe('tail.policies: tail sampling is enabled but has no policies; add at least one (e.g. type: always_sample)');
    expect(problem(tail({ name: 'a', type: 'always_sample' }, { name: 'a', type: 'always_sample' }))).toBe('tail.policies.1.name: duplicate policy name "a"');
    expect(problem(tail({ name: 'l', type: 'latency', latency: {} }))).toBe('tail.policies.0.latency.threshold_ms: latency needs threshold_ms or upper_threshold_ms');
    expect(problem(tail({ name: 'l', type: 'latency', latency: { threshold_ms: 500, upper_threshold_ms: 100 } }))).toBe(
      'tail.policies.0.latency.upper_threshold_ms: upper_threshold_ms must be more than threshold_ms',
    );
    expect(problem(tail({ name: 'n', type: 'numeric_attribute', numeric_attribute: { key: 'k' } }))).toBe('tail.policies.0.numeric_attribute.min_value: numeric_attribute needs min_value, max_value or both');
    expect(problem(tail({ name: 'c', type: 'correlation_id', correlation_id: {} }))).toBe('tail.policies.0.correlation_id.ids: correlation_id needs ids or flag');
    expect(problem(tail({ name: 'r', type: 'rate_limiting', rate_limiting: { spans_per_second: 0 } }))).toBe('tail.policies.0.rate_limiting.spans_per_second: must be more than 0');
    expect(problem(tail({ name: 's', type: 'status_code', status_code: { status_codes: ['FAILED'] } }))).toMatch(/^tail\.policies\.0\.status_code\.status_codes\.0: /);
    expect(problem(tail({ name: 'n', type: 'not', not: { not_sub_policy: { name: 'r', type: 'rate_limiting', rate_limiting: { spans_per_second: 5 } } } }))).toBe(
      'tail.policies.0.not.not_sub_policy.type: rate_limiting cannot be under not: it would spend its rate on traces that are then dropped',
    );
    expect(
      problem(
        tail({
          name: 'a',
          type: 'and',
          and: { and_sub_policy: [{ name: 'c', type: 'composite', composite: { max_total_spans_per_second: 1, composite_sub_policy: [{ name: 'x', type: 'always_sample' }] } }] },
        }),
      ),
    ).toBe('tail.policies.0.and.and_sub_policy.0.type: composite can only be a top-level policy');
  });

  it('rejects unknown keys (such as the Collector’s hash_salt, which a consistent draw does not use)', () => {
    const result = sampleConfigSchema.safeParse(tail({ name: 'p', type: 'probabilistic', probabilistic: { sampling_percentage: 5, hash_salt: 'x' } }));
    expect(result.error!.issues[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['hash_salt'], path: ['tail', 'policies', 0, 'probabilistic'] });
  });
});
