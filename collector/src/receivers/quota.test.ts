import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../auth/principal.js';
import type { Span } from '../model/span.js';
import { QueueFullError, type Consumer } from '../pipeline/stage.js';
import { CollectorMetrics } from '../telemetry.js';
import { Ingest, type IngestContext } from './ingest.js';
import { IngestQuotas, KeyedRateLimiter } from './quota.js';
import { quotaConfigSchema, type QuotaConfig } from './quota-config.js';

function spansOf(service: string, count: number): Span[] {
  const resource = { attributes: { 'service.name': service }, droppedAttributesCount: 0, schemaUrl: '', serviceName: service };
  return Array.from({ length: count }, () => ({ resource }) as unknown as Span);
}

function principal(id: string): Principal {
  return { id, kind: 'token', name: id, scopes: new Set(['ingest']), rules: {} };
}

class FakeClock {
  ms = 1_000_000;
  now = () => this.ms;
}

function quotas(config: unknown, clock = new FakeClock()) {
  const registry = new Registry();
  return { quotas: new IngestQuotas(quotaConfigSchema.parse(config) as QuotaConfig, registry, clock.now), registry, clock };
}

function refusal(fn: () => void): QueueFullError | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof QueueFullError) return err;
    throw err;
  }
}

describe('ingest quotas', () => {
  it('are off by default: any volume passes', () => {
    const { quotas: q } = quotas({});
    expect(q.enabled).toBe(false);
    for (let i = 0; i < 100; i++) q.admit(spansOf('a', 10_000), { bytes: 1 << 30 });
  });

  it('refuse a sender over its spans/s with a Retry-After of the time until the request fits', () => {
    const { quotas: q, clock, registry } = quotas({ per_token: { spans_per_second: 100 } });
    const alice: IngestContext = { principal: principal('token:alice'), bytes: 10 };
    q.admit(spansOf('a', 100), alice); // one second of burst
    const refused = refusal(() => q.admit(spansOf('a', 50), alice));
    expect(refused?.retryAfterSeconds).toBe(1);
    expect(refused?.message).toMatch(/ingest quota exceeded for the sender/);
    // Another sender has its own bucket.
    q.admit(spansOf('a', 100), { principal: principal('token:bob'), bytes: 10 });
    clock.ms += 500; // 50 spans refilled
    q.admit(spansOf('a', 50), alice);
    expect(refusal(() => q.admit(spansOf('a', 1), alice))).toBeDefined();
    return registry.getSingleMetricAsString('flowtrace_quota_refused_requests_total').then((text) => expect(text).toMatch(/kind="token"\} 2/));
  });

  it('key unauthenticated senders by their address', () => {
    const { quotas: q } = quotas({ per_token: { spans_per_second: 10 } });
    q.admit(spansOf('a', 10), { remoteAddress: '10.0.0.1', bytes: 0 });
    q.admit(spansOf('a', 10), { remoteAddress: '10.0.0.2', bytes: 0 });
    expect(refusal(() => q.admit(spansOf('a', 1), { remoteAddress: '10.0.0.1', bytes: 0 }))).toBeDefined();
  });

  it('limit bytes/s, and a Retry-After longer than a second when the debt is larger', () => {
    const { quotas: q } = quotas({ per_token: { bytes_per_second: 1000 } });
    const ctx = (bytes: number): IngestContext => ({ remoteAddress: 'x', bytes });
    q.admit(spansOf('a', 1), ctx(5000)); // oversize: passes on a full bucket and leaves 4 s of debt
    expect(refusal(() => q.admit(spansOf('a', 1), ctx(1000)))?.retryAfterSeconds).toBe(5);
  });

  it('refuse a request whole when one of its services is over its quota, charging nothing', () => {
    const { quotas: q, registry } = quotas({ per_service: { spans_per_second: 10 }, per_token: { spans_per_second: 1000 } });
    const ctx: IngestContext = { remoteAddress: 'x', bytes: 0 };
    q.admit(spansOf('noisy', 10), ctx);
    const refused = refusal(() => q.admit([...spansOf('quiet', 5), ...spansOf('noisy', 1)], ctx));
    expect(refused?.message).toMatch(/service "noisy"/);
    // Nothing was charged to "quiet" by the refused request: it still has its whole second.
    q.admit(spansOf('quiet', 10), ctx);
    return registry.getSingleMetricAsString('flowtrace_quota_refused_spans_total').then((text) => expect(text).toMatch(/kind="service"\} 6/));
  });

  it('forget idle keys (bounded memory)', () => {
    const clock = new FakeClock();
    const limiter = new KeyedRateLimiter(10, clock.now);
    for (let i = 0; i < 1000; i++) limiter.take(`service-${i}`, 5, clock.ms);
    expect(limiter.size).toBe(1000);
    clock.ms += 60_000;
    limiter.take('busy', 10, clock.ms);
    limiter.sweep(clock.ms);
    expect(limiter.size).toBe(1);
  });

  it('cap the number of keys even when all are busy', () => {
    const clock = new FakeClock();
    const limiter = new KeyedRateLimiter(10, clock.now);
    for (let i = 0; i < 50_000; i++) limiter.take(`service-${i}`, 10, clock.ms);
    expect(limiter.size).toBeLessThanOrEqual(10_000);
  });
});

describe('Ingest with quotas', () => {
  it('hands nothing of a refused request to the pipeline and throws QueueFullError', async () => {
    const consumed: number[] = [];
    const pipeline: Consumer = { consume: async (spans) => void consumed.push(spans.length) };
    const metrics = new CollectorMetrics();
    const { quotas: q } = quotas({ per_token: { spans_per_second: 10 } });
    const ingest = new Ingest(pipeline, metrics, q);
    const decoded = (n: number) => ({ spans: spansOf('a', n), rejectedSpans: 0, rejectionMessage: '' });
    await ingest.accept('http', decoded(10), { remoteAddress: 'x', bytes: 100 });
    await expect(ingest.accept('http', decoded(5), { remoteAddress: 'x', bytes: 100 })).rejects.toBeInstanceOf(QueueFullError);
    expect(consumed).toEqual([10]);
    expect(await metrics.registry.getSingleMetricAsString('flowtrace_receiver_requests_refused_total')).toMatch(/reason="quota"\} 1/);
  });
});
