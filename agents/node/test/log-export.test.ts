import { context, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter } from '@opentelemetry/sdk-logs';
import { afterAll, describe, expect, it } from 'vitest';
import { withCorrelation } from '../src/correlation.js';
import { createLogExport, maskLogValue } from '../src/log-export.js';
import { MASK } from '../src/redact.js';
import { memoryPipeline } from './helpers/memory.js';

const mem = memoryPipeline(); // the agent's context manager and propagators
const exporter = new InMemoryLogRecordExporter();
const { provider, processor } = createLogExport(resourceFromAttributes({ 'service.name': 'log-export-test' }), exporter);
afterAll(async () => {
  await provider.shutdown();
  await mem.pipeline.shutdown();
});

describe('masking log values', () => {
  it('masks like captured span values: by key, then by what text looks like; IDs are not cards', () => {
    expect(maskLogValue('login password=hunter2', '')).toBe(`login password=${MASK}`);
    expect(maskLogValue('anything', 'api_key')).toBe(MASK);
    expect(maskLogValue({ card: 4111111111111111, orderId: 4111111111111111, n: [1, 'Bearer abcdefghijkl'] }, '')).toEqual({
      card: MASK,
      orderId: 4111111111111111,
      n: [1, `Bearer ${MASK}`],
    });
  });
});

describe('the exported log record', () => {
  it('carries the span’s IDs in its own fields and the correlation ID as an attribute, masked', async () => {
    const logger = provider.getLogger('test');
    const spanContext = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.NONE };
    const ctx = trace.setSpan(withCorrelation(ROOT_CONTEXT, 'req-7f3a9c'), trace.wrapSpanContext(spanContext));
    context.with(ctx, () => logger.emit({ body: 'paid with 4111 1111 1111 1111', attributes: { token: 'abc', quantity: 3 } }));
    // Trace context lost, the request's baggage not: the correlation ID alone.
    context.with(withCorrelation(ROOT_CONTEXT, 'req-only'), () => logger.emit({ body: 'no span' }));
    logger.emit({ body: 'nothing' });
    expect(processor.pending).toBe(3);
    await provider.forceFlush();
    expect(processor.pending).toBe(0);
    const [inSpan, noSpan, nothing] = exporter.getFinishedLogRecords();
    expect(inSpan.body).toBe(`paid with ${MASK}`);
    expect(inSpan.spanContext).toMatchObject({ traceId: spanContext.traceId, spanId: spanContext.spanId });
    expect(inSpan.attributes).toEqual({ token: MASK, quantity: 3, 'flowtrace.correlation_id': 'req-7f3a9c' });
    expect(noSpan.spanContext).toBeUndefined();
    expect(noSpan.attributes).toEqual({ 'flowtrace.correlation_id': 'req-only' });
    expect(nothing.attributes).toEqual({});
  });
});
