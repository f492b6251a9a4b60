import { describe, expect, it } from 'vitest';
import { StatusCode } from '../../model/span.js';
import { QueueFullError } from '../../pipeline/stage.js';
import { sampleConfigSchema } from './config.js';
import { sampleProcessorFactory } from './factory.js';
import { ADJUSTED_COUNT_ATTRIBUTE } from './marks.js';
import { Recorder } from '../recorder.testing.js';
import { span, testContext, trace, traceIds, traceIdWithRandomness } from './sample-fixtures.js';
import { SampleProcessor } from './sample.js';

function setup(config: unknown) {
  const { context, registry } = testContext();
  const next = new Recorder();
  const clock = { now: 0 };
  const processor = new SampleProcessor(sampleConfigSchema.parse(config), next, context, { clock: () => clock.now, shutdownTimeoutMs: 1_000 });
  return { processor, next, registry, clock };
}

const errorsOnly = {
  tail: { enabled: true, decision_wait_ms: 1_000, policies: [{ name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } }] },
};

describe('sample processor', () => {
  it('passes spans straight through, untouched, with the defaults', async () => {
    const { processor, next } = setup({});
    const spans = trace(traceIdWithRandomness('00000000000001'), { spans: 3 });
    await processor.consume(spans);
    expect(next.got).toEqual([spans]);
    expect(next.got[0]).toBe(spans);
    expect(spans.every((s) => s.traceState === '' && Object.keys(s.attributes).length === 0)).toBe(true);
  });

  it('head-samples by trace ID and records the adjusted count when tail sampling is off', async () => {
    const { processor, next, registry } = setup({ head: { sampling_percentage: 50 } });
    const keep = trace(traceIdWithRandomness('80000000000000'), { spans: 2 });
    const drop = trace(traceIdWithRandomness('7fffffffffffff'), { spans: 2 });
    await processor.consume([...keep, ...drop]);
    expect(next.all).toEqual(keep);
    expect(keep.map((s) => [s.traceState, s.attributes[ADJUSTED_COUNT_ATTRIBUTE]])).toEqual([
      ['ot=th:8', '2'],
      ['ot=th:8', '2'],
    ]);
    const metrics = await registry.getSingleMetricAsString('flowtrace_processor_sample_spans_total');
    expect(metrics).toContain('stage="head",decision="sampled"} 2');
    expect(metrics).toContain('stage="head",decision="not_sampled"} 2');
  });

  it('holds traces until decision_wait_ms on its clock, then hands on the kept ones whole', async () => {
    const { processor, next, clock, registry } = setup(errorsOnly);
    const [a, b] = traceIds(2, 4);
    const failing = trace(a!, { spans: 3 });
    failing[2]!.statusCode = StatusCode.ERROR;
    await processor.consume(failing);
    await processor.consume(trace(b!, { spans: 2 }));
    await processor.tick(999);
    expect(next.all).toEqual([]);
    await processor.tick(1_000);
    expect(next.all).toEqual(failing);
    expect(failing.every((s) => s.attributes[ADJUSTED_COUNT_ATTRIBUTE] === '1')).toBe(true);
    // Late spans follow the decision and are handed on at once.
    clock.now = 2_000;
    const late = span(a!);
    await processor.consume([late, span(b!)]);
    await Promise.resolve();
    expect(next.all.at(-1)).toBe(late);
    const text = (await registry.metrics()).split('\n');
    expect(text).toContain('flowtrace_processor_sample_traces_total{decision="sampled"} 1');
    expect(text).toContain('flowtrace_processor_sample_traces_total{decision="not_sampled"} 1');
    expect(text).toContain('flowtrace_processor_sample_policy_traces_total{policy="errors",decision="sampled"} 1');
    expect(text).toContain('flowtrace_processor_sample_policy_spans_total{policy="errors",decision="not_sampled"} 2');
    expect(text).toContain('flowtrace_processor_sample_spans_total{stage="tail",decision="sampled"} 3');
    expect(text).toContain('flowtrace_processor_sample_late_spans_total{decision="sampled"} 1');
    expect(text).toContain('flowtrace_processor_sample_late_spans_total{decision="not_sampled"} 1');
    expect(text).toContain('flowtrace_processor_sample_held{what="traces"} 0');
    expect(text).toContain('flowtrace_processor_sample_decision_cache_entries{cache="sampled"} 1');
  });

  it('counts traces decided early because the bounds were reached', async () => {
    const { processor, registry } = setup({ tail: { ...errorsOnly.tail, max_traces: 1 } });
    for (const id of traceIds(3, 8)) await processor.consume([span(id)]);
    expect(await registry.getSingleMetricAsString('flowtrace_processor_sample_early_decisions_total')).toContain('flowtrace_processor_sample_early_decisions_total 2');
  });

  it('decides and hands on everything held at shutdown', async () => {
    const { processor, next } = setup({ tail: { enabled: true, decision_wait_ms: 60_000, policies: [{ name: 'all', type: 'always_sample' }] } });
    const spans = traceIds(50, 6).flatMap((id) => trace(id, { spans: 2 }));
    await processor.consume(spans);
    expect(next.all).toEqual([]);
    await processor.shutdown();
    expect(next.all).toHaveLength(100);
  });

  it('keeps kept spans while the next stage is full, refuses new ones beyond max_spans, then hands them on', async () => {
    const { processor, next } = setup({ tail: { enabled: true, decision_wait_ms: 1, max_spans: 4, policies: [{ name: 'all', type: 'always_sample' }] } });
    next.full = true;
    const [a, b, c] = traceIds(3, 12);
    await processor.consume(trace(a!, { spans: 2 }));
    await processor.consume(trace(b!, { spans: 2 }));
    await processor.tick(10);
    expect(next.all).toEqual([]);
    await expect(processor.consume(trace(c!, { spans: 2 }))).rejects.toBeInstanceOf(QueueFullError);
    next.full = false;
    await processor.tick(20);
    expect(next.all.map((s) => s.traceId)).toEqual([a, a, b, b]);
  });

  it('is built by its factory under the type sample', async () => {
    const { context } = testContext();
    const next = new Recorder();
    expect(sampleProcessorFactory.type).toBe('sample');
    const processor = sampleProcessorFactory.create(sampleConfigSchema.parse(errorsOnly), next, context);
    await processor.start();
    await processor.consume([span(traceIdWithRandomness('00000000000000'), { status: StatusCode.ERROR })]);
    await processor.shutdown();
    expect(next.all).toHaveLength(1);
  });
});
