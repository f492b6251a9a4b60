import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SpanKind, StatusCode, type Span } from '../../model/span.js';
import { QueueFullError } from '../../pipeline/stage.js';
import { RecordedDrops } from '../../pipeline/drops.testing.js';
import type { ProcessorContext } from '../processor.js';
import { filterConfigSchema, type FilterConfig } from './config.js';
import { FilterProcessor } from './filter.js';
import { Recorder } from '../recorder.testing.js';
import { testSpan } from '../../model/span.testing.js';

const resources = new Map<string, Span['resource']>();
function resource(service: string): Span['resource'] {
  if (!resources.has(service)) resources.set(service, { attributes: { 'service.name': service }, droppedAttributesCount: 0, schemaUrl: '', serviceName: service });
  return resources.get(service)!;
}

let nextId = 1;
function span(traceId: string, name: string, parent: string, kind: number, extra: Partial<Span> = {}): Span {
  const spanId = (extra.spanId ?? (nextId++).toString(16)).padStart(16, '0');
  return testSpan({
    resource: resource('svc'),
    scope: { name: '', version: '', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' },
    traceId,
    spanId,
    parentSpanId: parent,
    name,
    kind,
    startTimeUnixNano: 1_000_000_000n,
    endTimeUnixNano: 1_010_000_000n, // 10 ms
    ...extra,
  });
}

function setup(config: unknown) {
  const registry = new Registry();
  const drops = new RecordedDrops();
  const context = { logger: pino({ level: 'silent' }), registry, drops } as unknown as ProcessorContext;
  const next = new Recorder();
  const filter = new FilterProcessor(filterConfigSchema.parse(config), next, context);
  return { filter, next, registry, drops };
}

/** A server span with two method spans under it, one of which calls out to another service. */
function trace(traceId: string, extra: { error?: boolean; durationMs?: number } = {}): Span[] {
  const root = span(traceId, 'GET /orders', '', SpanKind.SERVER, extra.durationMs ? { endTimeUnixNano: 1_000_000_000n + BigInt(extra.durationMs) * 1_000_000n } : {});
  const method = span(traceId, 'OrderService.list', root.spanId, SpanKind.INTERNAL);
  const inner = span(traceId, 'OrderRepo.find', method.spanId, SpanKind.INTERNAL, extra.error ? { statusCode: StatusCode.ERROR } : {});
  const client = span(traceId, 'GET', inner.spanId, SpanKind.CLIENT);
  return [root, method, inner, client];
}

describe('filter processor', () => {
  it('passes spans through untouched when nothing is configured', async () => {
    const { filter, next } = setup({});
    const spans = trace('a'.repeat(32));
    await filter.consume(spans);
    expect(next.got).toEqual([spans]);
  });

  it('applies include and exclude rules per span', async () => {
    const { filter, next, registry, drops } = setup({
      include: [{ service: { prefix: 'shop-' } }],
      exclude: [{ span_name: { regex: '^health' } }, { span_kind: ['CLIENT'], attributes: [{ key: 'db.system', value: 'redis' }] }],
    });
    const t = 'b'.repeat(32);
    await filter.consume([
      span(t, 'GET /x', '', SpanKind.SERVER, { resource: resource('shop-api') }),
      span(t, 'healthcheck', '', SpanKind.SERVER, { resource: resource('shop-api') }),
      span(t, 'GET', '', SpanKind.CLIENT, { resource: resource('shop-api'), attributes: { 'db.system': 'redis' } }),
      span(t, 'GET', '', SpanKind.CLIENT, { resource: resource('shop-api'), attributes: { 'db.system': 'postgresql' } }),
      span(t, 'GET /y', '', SpanKind.SERVER, { resource: resource('billing') }),
    ]);
    expect(next.all.map((s) => `${s.resource.serviceName}:${s.name}:${s.attributes['db.system'] ?? ''}`)).toEqual(['shop-api:GET /x:', 'shop-api:GET:postgresql']);
    const metrics = await registry.getSingleMetricAsString('flowtrace_processor_filter_spans_dropped_total');
    expect(metrics).toContain('reason="include"} 1');
    expect(metrics).toContain('reason="exclude"} 2');
    expect(drops.dropped).toEqual({ 'filter/filtered': 3 });
  });

  it('keeps method spans only for traces that meet the condition, re-parenting the rest', async () => {
    const { filter, next } = setup({ conditional: { enabled: true, keep_when: { error: true, min_duration_ms: 500 } }, decision_wait_ms: 100 });
    const plain = trace('c'.repeat(32));
    const failing = trace('d'.repeat(32), { error: true });
    const slow = trace('e'.repeat(32), { durationMs: 800 });
    await filter.consume([...plain, ...failing, ...slow]);
    await filter.tick(Date.now() - 1000); // nothing is complete yet in the past
    expect(next.all).toEqual([]);
    await filter.tick(Date.now() + 200);
    const byTrace = (t: string) => next.all.filter((s) => s.traceId === t);
    // Plain trace: the method spans go, the client span now hangs under the server span.
    expect(byTrace(plain[0]!.traceId).map((s) => s.name)).toEqual(['GET /orders', 'GET']);
    expect(byTrace(plain[0]!.traceId)[1]!.parentSpanId).toBe(plain[0]!.spanId);
    expect(plain[0]!.attributes['flowtrace.filtered_spans']).toBe('2');
    // Error and slow traces stay whole.
    expect(byTrace(failing[0]!.traceId)).toHaveLength(4);
    expect(byTrace(slow[0]!.traceId)).toHaveLength(4);
    expect(failing[3]!.parentSpanId).toBe(failing[2]!.spanId);
  });

  it('keeps traces with a given attribute whole', async () => {
    const { filter, next } = setup({ conditional: { enabled: true, keep_when: { error: false, attributes: [{ key: 'user.tier', value: 'gold' }] } } });
    const gold = trace('f'.repeat(32));
    gold[2]!.attributes['user.tier'] = 'gold';
    const other = trace('1'.repeat(32));
    await filter.consume([...gold, ...other]);
    await filter.shutdown();
    expect(next.all.filter((s) => s.traceId === gold[0]!.traceId)).toHaveLength(4);
    expect(next.all.filter((s) => s.traceId === other[0]!.traceId)).toHaveLength(2);
  });

  it('samples calls of busy methods by span ID, the same way on every instance', async () => {
    const config = { method_sampling: [{ span_name: { prefix: 'Cache.' }, percentage: 25 }] };
    const spans: Span[] = [];
    const t = '2'.repeat(32);
    const root = span(t, 'GET /', '', SpanKind.SERVER);
    spans.push(root);
    for (let i = 0; i < 4000; i++) {
      const id = ((i * 2654435761) % 0xffffffff).toString(16).padStart(8, '0') + 'abcdabcd';
      spans.push(span(t, 'Cache.get', root.spanId, SpanKind.INTERNAL, { spanId: id }));
    }
    spans.push(span(t, 'Order.total', root.spanId, SpanKind.INTERNAL));
    const runs = await Promise.all(
      [0, 1].map(async () => {
        const { filter, next } = setup(config);
        await filter.consume(spans.map((s) => ({ ...s, attributes: { ...s.attributes } })));
        await filter.shutdown();
        return next.all;
      }),
    );
    const kept = runs[0]!.filter((s) => s.name === 'Cache.get').length;
    expect(kept).toBeGreaterThan(900);
    expect(kept).toBeLessThan(1100);
    expect(runs[0]!.map((s) => s.spanId)).toEqual(runs[1]!.map((s) => s.spanId));
    expect(runs[0]!.some((s) => s.name === 'Order.total')).toBe(true);
  });

  it('holds released spans while the next stage is full, then hands them on; refuses when too many wait', async () => {
    const { filter, next } = setup({ conditional: { enabled: true }, decision_wait_ms: 1, max_spans: 4 });
    next.full = true;
    await filter.consume(trace('3'.repeat(32)));
    await filter.consume(trace('4'.repeat(32)));
    await filter.tick(Date.now() + 10);
    expect(next.all).toEqual([]);
    await expect(filter.consume(trace('5'.repeat(32)))).rejects.toBeInstanceOf(QueueFullError);
    next.full = false;
    await filter.tick(Date.now() + 10);
    expect(next.all.map((s) => s.traceId)).toEqual(['3'.repeat(32), '3'.repeat(32), '4'.repeat(32), '4'.repeat(32)]);
  });

  it('reports bad rules with the key that is wrong', () => {
    const bad = filterConfigSchema.safeParse({ exclude: [{ span_name: { regex: '(' } }] });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.path.join('.')).toBe('exclude.0.span_name.regex');
    const empty = filterConfigSchema.safeParse({ include: [{}] });
    expect(empty.error!.issues[0]!.message).toBe('a rule needs at least one condition');
    const kind = filterConfigSchema.safeParse({ include: [{ span_kind: ['SERVERS'] }] });
    expect(kind.error!.issues[0]!.path.join('.')).toBe('include.0.span_kind.0');
  });
});

export type { FilterConfig };
