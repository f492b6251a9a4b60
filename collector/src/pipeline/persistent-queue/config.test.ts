import { describe, expect, it } from 'vitest';
import { GiB, MiB, queueConfigSchema } from './config.js';
import { RetryPolicy, classify } from './retry-policy.js';
import { ExportError } from '../../../../exporters/exporter.js';

const messages = (input: unknown): string[] => {
  const result = queueConfigSchema.safeParse(input);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('queueConfigSchema', () => {
  it('fills in the defaults', () => {
    expect(queueConfigSchema.parse({})).toEqual({
      max_bytes: GiB,
      full_policy: 'refuse',
      retry_after_seconds: 5,
      segment_bytes: 64 * MiB,
      concurrency: 2,
      batch: { max_spans: 100_000, max_bytes: 128 * MiB, timeout_ms: 2_000 },
      retry: { initial_interval_ms: 500, max_interval_ms: 30_000, multiplier: 1.5, randomization_factor: 0.5, max_elapsed_ms: 0 },
    });
  });

  it('explains what is wrong', () => {
    expect(messages({ max_bytes: 1000 })).toEqual(['max_bytes: must be at least 4 MiB (4194304 bytes)']);
    expect(messages({ full_policy: 'block' })).toEqual(['full_policy: expected refuse or drop_oldest']);
    expect(messages({ batch: { max_spans: 0 } })).toEqual(['batch.max_spans: must be at least 1']);
    expect(messages({ retry: { initial_interval_ms: 60_000 } })).toEqual(['retry.initial_interval_ms: initial_interval_ms must not exceed max_interval_ms']);
    expect(messages({ retry: { randomization_factor: 2 } })).toEqual(['retry.randomization_factor: must be 0–1']);
    expect(messages({ concurency: 3 })[0]).toMatch(/concurency/);
    expect(messages({ batch: { timeout: 5 } })[0]).toMatch(/timeout/);
  });
});

describe('RetryPolicy', () => {
  const settings = queueConfigSchema.parse({}).retry;

  it('grows by the multiplier up to the maximum', () => {
    const policy = new RetryPolicy(settings, () => 0.5);
    expect([1, 2, 3, 4].map((n) => policy.delay(n))).toEqual([500, 750, 1125, 1688]);
    expect(policy.delay(30)).toBe(30_000);
  });

  it('randomises each delay by ± randomization_factor, never past the maximum', () => {
    expect(new RetryPolicy(settings, () => 0).delay(1)).toBe(250);
    expect(new RetryPolicy(settings, () => 0.999999).delay(1)).toBe(750);
    expect(new RetryPolicy(settings, () => 0.999999).delay(30)).toBe(30_000);
    expect(new RetryPolicy(settings, () => 0).delay(30)).toBe(15_000);
  });

  it('honours a longer hint from the backend', () => {
    const policy = new RetryPolicy(settings, () => 0.5);
    expect(policy.delay(1, 10_000)).toBe(10_000);
    expect(policy.delay(1, 100)).toBe(500);
    expect(policy.delay(1, 1e12)).toBe(2 ** 31 - 1);
  });

  it('gives up only with max_elapsed_ms set', () => {
    expect(new RetryPolicy(settings).exhausted(0, 1e9)).toBe(false);
    const limited = new RetryPolicy({ ...settings, max_elapsed_ms: 1000 });
    expect(limited.exhausted(0, 999)).toBe(false);
    expect(limited.exhausted(0, 1000)).toBe(true);
  });

  it('classifies errors: ExportError says, anything else is retryable', () => {
    expect(classify(new ExportError('bad request', false))).toEqual({ retryable: false, retryAfterMs: undefined });
    expect(classify(new ExportError('slow down', true, 2000))).toEqual({ retryable: true, retryAfterMs: 2000 });
    expect(classify(new Error('ECONNRESET'))).toEqual({ retryable: true, retryAfterMs: undefined });
    expect(classify('weird')).toEqual({ retryable: true });
  });
});
