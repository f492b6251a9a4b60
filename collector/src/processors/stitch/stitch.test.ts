import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { QueueFullError } from '../../pipeline/stage.js';
import type { ProcessorContext } from '../processor.js';
import { stitchConfigSchema } from './config.js';
import { stitchProcessorFactory } from './factory.js';
import type { SideTableSink } from './side-writer.js';
import { StitchProcessor } from './stitch.js';
import { span, threeServiceTrace, traceId } from './stitch-fixtures.js';
import type { StitchTable } from './tables.js';
import { Recorder } from '../recorder.testing.js';

/** A side-table sink that records INSERTs and fails the next `failures` of them. */
class FakeSink implements SideTableSink {
  inserts: Array<{ table: StitchTable; rows: object[] }> = [];
  failures = 0;
  async insert(table: StitchTable, rows: readonly object[]) {
    if (this.failures > 0) {
      this.failures--;
      throw new Error('ClickHouse is away');
    }
    this.inserts.push({ table, rows: [...rows] });
  }
  rows(table: StitchTable): object[] {
    return this.inserts.filter((i) => i.table === table).flatMap((i) => i.rows);
  }
}

function setup(config: unknown = {}) {
  const registry = new Registry();
  // No storage: any use of it outside the injected sink fails the test.
  const context = { logger: pino({ level: 'silent' }), registry } as unknown as ProcessorContext;
  const next = new Recorder();
  const sink = new FakeSink();
  let now = 1_000_000;
  const processor = new StitchProcessor(stitchConfigSchema.parse(config), next, context, { clock: () => now, sink, shutdownTimeoutMs: 2_000 });
  return {
    processor,
    next,
    sink,
    registry,
    at: (ms: number) => (now = ms),
    metric: async (name: string, labels: Record<string, string> = {}) => {
      const values = (await registry.getSingleMetric(name)!.get()).values;
      return values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;
    },
  };
}

describe('stitch config', () => {
  it('defaults every key and is on by default', () => {
    expect(stitchConfigSchema.parse({})).toEqual({
      enabled: true,
      decision_wait_ms: 5_000,
      max_traces: 50_000,
      max_spans: 500_000,
      memory: { window_ms: 120_000, max_spans: 200_000, max_correlation_ids: 100_000 },
      orphans: { flag: true },
      service_graph: { enabled: true, retention_days: 30 },
      correlation: { enabled: true, link_traces: true, max_links: 8, retention_days: 7 },
      clock_skew: { enabled: true, retention_days: 7 },
      flush: { interval_ms: 5_000, max_rows: 10_000, max_pending_rows: 500_000 },
    });
  });

  it('refuses unknown keys and bad values, naming them', () => {
    expect(() => stitchConfigSchema.parse({ service_graph: { retention: 3 } })).toThrow(/retention/);
    expect(() => stitchConfigSchema.parse({ clock_skew: { retention_days: 0 } })).toThrow(/at least 1 day/);
    expect(() => stitchConfigSchema.parse({ decision_wait_ms: 1.5 })).toThrow(/whole number/);
  });

  it('is built by the factory under its type', () => {
    expect(stitchProcessorFactory.type).toBe('stitch');
  });
});

describe('stitch processor', () => {
  it('holds a trace until its wait has passed, then hands it on stitched', async () => {
    const { processor, next, at, metric } = setup({ decision_wait_ms: 100 });
    const spans = [...threeServiceTrace(1), span({ trace: 1, id: 7, parent: 55, service: 'orders', startMs: 1, endMs: 2 })];
    at(1_000);
    await processor.consume(spans.slice(0, 3));
    at(1_050);
    await processor.consume(spans.slice(3));
    await processor.tick(1_149);
    expect(next.all).toEqual([]);
    expect(await metric('flowtrace_processor_stitch_held', { what: 'traces' })).toBe(1);
    await processor.tick(1_150);
    expect(next.all).toHaveLength(7);
    expect(next.all.filter((s) => s.attributes['flowtrace.orphan'] === 'true').map((s) => s.spanId)).toEqual([spans[6]!.spanId]);
    expect(await metric('flowtrace_processor_stitch_orphan_spans_total')).toBe(1);
    expect(await metric('flowtrace_processor_stitch_calls_paired_total')).toBe(2);
    expect(await metric('flowtrace_processor_stitch_traces_total', { reason: 'complete' })).toBe(1);
    expect(await metric('flowtrace_processor_stitch_held', { what: 'traces' })).toBe(0);
  });

  it('stitches traces evicted by the memory bounds at once', async () => {
    const { processor, next } = setup({ max_traces: 1 });
    await processor.consume(threeServiceTrace(1));
    await processor.consume(threeServiceTrace(2));
    await Promise.resolve();
    expect(next.all.map((s) => s.traceId)).toEqual(Array(6).fill(traceId(1)));
  });

  it('keeps spans the next stage refuses and offers them again, refusing new ones while too many wait', async () => {
    const { processor, next, metric } = setup({ decision_wait_ms: 10, max_spans: 8 });
    next.full = true;
    await processor.consume(threeServiceTrace(1));
    await processor.tick(1_000_010);
    await processor.consume(threeServiceTrace(2));
    await processor.tick(1_000_020);
    expect(next.all).toEqual([]);
    expect(await metric('flowtrace_processor_stitch_held', { what: 'pending_spans' })).toBe(12);
    await expect(processor.consume(threeServiceTrace(3))).rejects.toBeInstanceOf(QueueFullError);
    next.full = false;
    await processor.tick(1_000_030);
    expect(next.all.map((s) => s.traceId)).toEqual([...Array(6).fill(traceId(1)), ...Array(6).fill(traceId(2))]);
    await expect(processor.consume(threeServiceTrace(3))).resolves.toBeUndefined();
  });

  it('writes side tables in batches per flush, not per trace', async () => {
    const { processor, sink, metric } = setup({ decision_wait_ms: 10, flush: { interval_ms: 1_000, max_rows: 1_000 } });
    for (let t = 1; t <= 20; t++) await processor.consume(threeServiceTrace(t, 0, `req-${t}`));
    await processor.tick(1_000_010);
    expect(sink.inserts).toEqual([]); // not due yet
    await processor.tick(1_001_000);
    expect(sink.inserts.map((i) => i.table).sort()).toEqual(['flowtrace_correlations', 'flowtrace_service_graph']);
    // 20 traces × 2 calls, all in one minute: one row per edge.
    expect(sink.rows('flowtrace_service_graph')).toEqual([
      expect.objectContaining({ Caller: 'frontend', Callee: 'orders', Operation: 'POST /orders', Calls: 20, Errors: 0 }),
      expect.objectContaining({ Caller: 'orders', Callee: 'payments', Operation: 'POST /pay', Calls: 20, Errors: 0 }),
    ]);
    expect(sink.rows('flowtrace_correlations')).toHaveLength(20);
    expect(await metric('flowtrace_processor_stitch_edges_written_total')).toBe(2);
    expect(await metric('flowtrace_processor_stitch_rows_written_total', { table: 'flowtrace_correlations' })).toBe(20);
  });

  it('flushes early once max_rows wait', async () => {
    const { processor, sink } = setup({ decision_wait_ms: 10, flush: { interval_ms: 1_000_000, max_rows: 5 } });
    for (let t = 1; t <= 5; t++) await processor.consume(threeServiceTrace(t, 0, `req-${t}`));
    await processor.tick(1_000_010);
    expect(sink.rows('flowtrace_correlations')).toHaveLength(5);
  });

  it('retries failed side-table writes with backoff, and drops the oldest beyond the bound', async () => {
    const { processor, sink, metric } = setup({ decision_wait_ms: 10, flush: { interval_ms: 100, max_rows: 1_000, max_pending_rows: 3 } });
    sink.failures = 2;
    await processor.consume(threeServiceTrace(1, 0, 'req-1'));
    await processor.tick(1_000_100); // both tables fail
    expect(await metric('flowtrace_processor_stitch_write_failures_total', { table: 'flowtrace_service_graph' })).toBe(1);
    expect(await metric('flowtrace_processor_stitch_held', { what: 'pending_rows' })).toBe(3);
    await processor.tick(1_000_200); // the retry is not due for a second
    expect(sink.inserts).toEqual([]);
    await processor.tick(1_001_100);
    expect(sink.rows('flowtrace_service_graph')).toHaveLength(2);
    expect(sink.rows('flowtrace_correlations')).toHaveLength(1);

    sink.failures = 100;
    for (let t = 2; t <= 4; t++) {
      await processor.consume(threeServiceTrace(t, 0, `req-${t}`));
      await processor.tick(1_002_000 + t * 100);
    }
    expect(await metric('flowtrace_processor_stitch_rows_dropped_total', { table: 'flowtrace_correlations' })).toBeGreaterThan(0);
    expect(await metric('flowtrace_processor_stitch_held', { what: 'pending_rows' })).toBeLessThanOrEqual(3);
  });

  it('hands everything on and flushes side tables at shutdown', async () => {
    const { processor, next, sink } = setup({ decision_wait_ms: 60_000 });
    await processor.consume(threeServiceTrace(1, 0, 'req-1'));
    next.full = true;
    sink.failures = 1;
    setTimeout(() => (next.full = false), 150);
    await processor.shutdown();
    expect(next.all).toHaveLength(6);
    expect(sink.rows('flowtrace_service_graph')).toHaveLength(2);
    expect(sink.rows('flowtrace_correlations')).toHaveLength(1);
  });

  it('passes spans straight through when disabled', async () => {
    const { processor, next, sink } = setup({ enabled: false });
    await processor.start();
    const spans = threeServiceTrace(1);
    await processor.consume(spans);
    expect(next.got).toEqual([spans]);
    await processor.tick(9_999_999);
    await processor.shutdown();
    expect(sink.inserts).toEqual([]);
  });

  it('registers its metrics under flowtrace_processor_stitch_', async () => {
    const { registry } = setup();
    const names = (await registry.getMetricsAsJSON()).map((m) => m.name).sort();
    expect(names).toEqual([
      'flowtrace_processor_stitch_calls_paired_total',
      'flowtrace_processor_stitch_clock_skew_adjustments_total',
      'flowtrace_processor_stitch_correlation_joins_total',
      'flowtrace_processor_stitch_edges_written_total',
      'flowtrace_processor_stitch_held',
      'flowtrace_processor_stitch_orphan_spans_total',
      'flowtrace_processor_stitch_rows_dropped_total',
      'flowtrace_processor_stitch_rows_written_total',
      'flowtrace_processor_stitch_traces_total',
      'flowtrace_processor_stitch_write_failures_total',
    ]);
  });
});
