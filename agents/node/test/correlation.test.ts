import { context, defaultTextMapGetter, defaultTextMapSetter, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { CorrelationPropagator, correlationOf, withCorrelation } from '../src/correlation.js';
import { inSpan, memoryPipeline, one } from './helpers/memory.js';

const mem = memoryPipeline();
const propagator = new CorrelationPropagator();

function extract(headers: Record<string, string>): string | undefined {
  return correlationOf(propagation.extract(ROOT_CONTEXT, headers, defaultTextMapGetter));
}

beforeEach(() => mem.reset());
afterAll(() => mem.pipeline.shutdown());

describe('correlation ID', () => {
  it('is taken from x-request-id first, then x-correlation-id, then baggage', () => {
    expect(extract({ 'x-request-id': 'req-1', 'x-correlation-id': 'corr-1', baggage: 'flowtrace.correlation_id=bag-1' })).toBe('req-1');
    expect(extract({ 'x-correlation-id': 'corr-1', baggage: 'flowtrace.correlation_id=bag-1' })).toBe('corr-1');
    expect(extract({ baggage: 'other=1,flowtrace.correlation_id=bag-1' })).toBe('bag-1');
  });

  it('is created at the edge when a request carries none', () => {
    const a = extract({});
    const b = extract({});
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(b).not.toBe(a);
  });

  it('keeps the other baggage entries', () => {
    const ctx = propagation.extract(ROOT_CONTEXT, { 'x-request-id': 'r', baggage: 'tenant=acme' }, defaultTextMapGetter);
    expect(propagation.getBaggage(ctx)?.getEntry('tenant')?.value).toBe('acme');
  });

  it('goes out as x-request-id and as baggage, unless the application set x-request-id', () => {
    const ctx = withCorrelation(ROOT_CONTEXT, 'abc-123');
    const headers: Record<string, string> = {};
    propagation.inject(ctx, headers, defaultTextMapSetter);
    expect(headers['x-request-id']).toBe('abc-123');
    expect(headers.baggage).toBe('flowtrace.correlation_id=abc-123');
    const own: Record<string, string> = { 'X-Request-Id': 'mine' };
    propagator.inject(ctx, own, defaultTextMapSetter);
    expect(own).toEqual({ 'X-Request-Id': 'mine' });
  });

  it('goes out from a span that started a trace outside any request', () => {
    const span = mem.pipeline.provider.getTracer('t').startSpan('job');
    const headers: Record<string, string> = {};
    propagation.inject(trace.setSpan(ROOT_CONTEXT, span), headers, defaultTextMapSetter);
    span.end();
    expect(headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('is put on every span the SDK starts, from the context', async () => {
    context.with(withCorrelation(ROOT_CONTEXT, 'req-42'), () => {
      inSpan(mem.pipeline, 'GET /orders', () => inSpan(mem.pipeline, 'db.query', () => undefined));
    });
    const spans = await mem.spans();
    expect(one(spans, 'GET /orders').attributes['flowtrace.correlation_id']).toBe('req-42');
    expect(one(spans, 'db.query').attributes['flowtrace.correlation_id']).toBe('req-42');
  });
});
