import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SpanKind, StatusCode, type Span } from '../../model/span.js';
import { testSpan } from '../../model/span.testing.js';
import { QueueFullError } from '../../pipeline/stage.js';
import { Recorder } from '../../processors/recorder.testing.js';
import type { RedRow } from './aggregator.js';
import { redConfigSchema } from './config.js';
import { RedMetrics, RedTap, withRedTap, type RedSink } from './red.js';

const MS = 1_000_000n;
const T0 = 1_700_000_040n * 1_000_000_000n;
const scope = { name: '', version: '', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' };

function span(service: string, name: string, durationMs: bigint, error = false): Span {
  return testSpan({
    resource: { attributes: {}, droppedAttributesCount: 0, schemaUrl: '', serviceName: service },
    scope,
    traceId: '1'.repeat(32),
    spanId: '2'.repeat(16),
    name,
    kind: SpanKind.SERVER,
    startTimeUnixNano: T0,
    endTimeUnixNano: T0 + durationMs * MS,
    statusCode: error ? StatusCode.ERROR : StatusCode.UNSET,
  });
}

class FakeSink implements RedSink {
  rows: RedRow[] = [];
  failing = false;
  created = true;
  async migrate(): Promise<boolean> {
    return this.created;
  }
  async insert(rows: readonly RedRow[]): Promise<void> {
    if (this.failing) throw new Error('storage away');
    this.rows.push(...rows);
  }
  requests(): number {
    return this.rows.reduce((s, r) => s + r.Requests, 0);
  }
}

function red(sink: RedSink, overrides: Record<string, unknown> = {}): RedMetrics {
  const config = redConfigSchema.parse({ flush_interval_ms: 300_000, ...overrides });
  return new RedMetrics(config, sink, pino({ level: 'silent' }), new Registry());
}

describe('RedMetrics', () => {
  it('writes what was counted at each flush, and keeps failed rows for the next one', async () => {
    const sink = new FakeSink();
    const metrics = red(sink);
    metrics.record([span('shop', 'a', 5n), span('shop', 'a', 7n, true)]);
    await metrics.flush();
    expect(sink.rows).toMatchObject([{ ServiceName: 'shop', Operation: 'a', SpanKind: 'Server', Requests: 2, Errors: 1 }]);

    sink.failing = true;
    metrics.record([span('shop', 'a', 5n)]);
    await metrics.flush();
    expect(sink.requests()).toBe(2);
    sink.failing = false;
    metrics.record([span('shop', 'b', 5n)]);
    await metrics.shutdown();
    // The failed row and the new one, as separate partial rows the table merges.
    expect(sink.requests()).toBe(4);
    expect(sink.rows.filter((r) => r.Operation === 'a')).toHaveLength(2);
  });

  it('drops the oldest rows beyond max_pending_rows while storage is away', async () => {
    const sink = new FakeSink();
    const metrics = red(sink, { max_pending_rows: 2 });
    sink.failing = true;
    for (const name of ['a', 'b', 'c']) {
      metrics.record([span('shop', name, 1n)]);
      await metrics.flush();
    }
    sink.failing = false;
    await metrics.flush();
    expect(sink.rows.map((r) => r.Operation)).toEqual(['b', 'c']);
  });

  it('says the table was created without a backfill', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const metrics = new RedMetrics(redConfigSchema.parse({}), new FakeSink(), logger, new Registry());
    await metrics.start();
    await metrics.shutdown();
    expect(lines.join('')).toContain('not backfilled');
  });
});

describe('RedTap', () => {
  it('counts a batch once the next stage accepted it, and not a refused one (the sender retries it)', async () => {
    const sink = new FakeSink();
    const metrics = red(sink);
    const next = new Recorder();
    const tap = new RedTap(metrics, next);
    next.full = true;
    await expect(tap.consume([span('shop', 'a', 1n)])).rejects.toBeInstanceOf(QueueFullError);
    next.full = false;
    await tap.consume([span('shop', 'a', 1n), span('shop', 'a', 1n, true)]);
    await metrics.flush();
    expect(sink.rows).toMatchObject([{ Requests: 2, Errors: 1 }]);
    expect(next.all).toHaveLength(2);
  });

  it('sits behind the live tail’s tap, at the same position', async () => {
    const metrics = red(new FakeSink());
    const wrapped: string[] = [];
    const tailTap = { at: 2, wrap: (n: { consume(s: Span[]): Promise<void> }) => (wrapped.push(n.constructor.name), { consume: (s: Span[]) => n.consume(s), start: async () => {}, shutdown: async () => {} }) };
    const tap = withRedTap(tailTap, metrics);
    expect(tap.at).toBe(2);
    const next = new Recorder();
    await tap.wrap(next).consume([span('shop', 'a', 1n)]);
    expect(wrapped).toEqual(['RedTap']);
    expect(metrics.totals.exposition({})).toContain('flowtrace_red_requests_total{service="shop",operation="a",span_kind="Server"} 1');
    expect(withRedTap(tailTap, undefined)).toBe(tailTap);
  });
});

describe('Prometheus exposition', () => {
  it('gives cumulative counters and histograms, only of the services the reader may see', () => {
    const metrics = red(new FakeSink());
    metrics.record([span('shop', 'GET "/x"\n', 3n), span('shop', 'GET "/x"\n', 30n, true), span('shop', 'GET "/x"\n', 30_000n), span('billing', 'charge', 1n)]);
    const text = metrics.totals.exposition({});
    const shop = 'service="shop",operation="GET \\"/x\\"\\n",span_kind="Server"';
    expect(text).toContain(`flowtrace_red_requests_total{${shop}} 3`);
    expect(text).toContain(`flowtrace_red_errors_total{${shop}} 1`);
    expect(text).toContain(`flowtrace_red_duration_seconds_bucket{${shop},le="0.0025"} 0`);
    expect(text).toContain(`flowtrace_red_duration_seconds_bucket{${shop},le="0.005"} 1`);
    expect(text).toContain(`flowtrace_red_duration_seconds_bucket{${shop},le="0.05"} 2`);
    expect(text).toContain(`flowtrace_red_duration_seconds_bucket{${shop},le="10"} 2`);
    expect(text).toContain(`flowtrace_red_duration_seconds_bucket{${shop},le="+Inf"} 3`);
    expect(text).toContain(`flowtrace_red_duration_seconds_sum{${shop}} 30.033`);
    expect(text).toContain(`flowtrace_red_duration_seconds_count{${shop}} 3`);
    expect(text).toContain('service="billing"');
    const limited = metrics.totals.exposition({ services: ['billing'] });
    expect(limited).toContain('flowtrace_red_requests_total{service="billing",operation="charge",span_kind="Server"} 1');
    expect(limited).not.toContain('shop');
  });
});
