/**
 * The load generator's requests, decoded by the collector's own OTLP protobuf decoder: unique
 * IDs, times inside the spread window, and the shape of the agents' data (services, kinds,
 * method spans, N+1 siblings, errors, correlation IDs).
 */
import { describe, expect, it } from 'vitest';
import { N_PLUS_ONE_MIN_CALLS } from '../analysis/insights.js';
import { SpanKind, StatusCode, type Span } from '../model/span.js';
import { decodeTraceRequest } from '../receivers/otlp/proto-decoder.js';
import { LoadGenerator, RUN_ATTRIBUTE, type GeneratorOptions } from './generator.js';

const NOW_NS = 1_796_000_000_000_000_000n;
const HOUR_NS = 3_600_000_000_000n;

function generator(options: Partial<GeneratorOptions> = {}): LoadGenerator {
  return new LoadGenerator({ services: 5, spansPerRequest: 512, spreadNs: HOUR_NS, runId: 'feed', nowNs: () => NOW_NS, ...options });
}

function decode(g: LoadGenerator, requests: number): { spans: Span[]; declared: number; traces: number } {
  const spans: Span[] = [];
  let declared = 0;
  let traces = 0;
  for (let i = 0; i < requests; i++) {
    const request = g.next();
    const decoded = decodeTraceRequest(request.bytes);
    expect(decoded.rejectedSpans).toBe(0);
    expect(decoded.spans).toHaveLength(request.spans);
    spans.push(...decoded.spans);
    declared += request.spans;
    traces += request.traces;
  }
  return { spans, declared, traces };
}

function byTrace(spans: Span[]): Map<string, Span[]> {
  const out = new Map<string, Span[]>();
  for (const s of spans) {
    const list = out.get(s.traceId) ?? [];
    list.push(s);
    out.set(s.traceId, list);
  }
  return out;
}

describe('LoadGenerator', () => {
  it('gives every trace a new trace ID and every span an ID unique in its trace, with parents inside it', () => {
    const g = generator();
    const { spans, traces } = decode(g, 20); // more requests than templates: templates are reused
    const grouped = byTrace(spans);
    expect(grouped.size).toBe(traces);
    expect(g.tracesMade).toBe(traces);
    for (const [traceId, list] of grouped) {
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      const ids = new Set(list.map((s) => s.spanId));
      expect(ids.size).toBe(list.length);
      expect([...ids].every((id) => id !== '0000000000000000')).toBe(true);
      expect(list.filter((s) => s.parentSpanId === '')).toHaveLength(1);
      for (const s of list) if (s.parentSpanId !== '') expect(ids.has(s.parentSpanId)).toBe(true);
    }
    // Two generators (two clients, or two runs) never share trace IDs.
    const other = byTrace(decode(generator(), 2).spans);
    for (const id of other.keys()) expect(grouped.has(id)).toBe(false);
  });

  it('puts every span inside the spread window, ending by now, spread across it', () => {
    const { spans } = decode(generator(), 20);
    const starts = spans.map((s) => s.startTimeUnixNano);
    for (const s of spans) {
      expect(s.endTimeUnixNano).toBeLessThanOrEqual(NOW_NS);
      expect(s.startTimeUnixNano).toBeGreaterThanOrEqual(NOW_NS - HOUR_NS - 60_000_000_000n); // a trace lasts well under a minute
      expect(s.endTimeUnixNano).toBeGreaterThan(s.startTimeUnixNano);
    }
    const earliest = starts.reduce((a, b) => (a < b ? a : b));
    const latest = starts.reduce((a, b) => (a > b ? a : b));
    expect(latest - earliest).toBeGreaterThan(HOUR_NS / 2n);
    // Children inside their parents, in each trace.
    for (const list of byTrace(spans).values()) {
      const byId = new Map(list.map((s) => [s.spanId, s]));
      for (const s of list) {
        const parent = byId.get(s.parentSpanId);
        if (!parent) continue;
        expect(s.startTimeUnixNano).toBeGreaterThanOrEqual(parent.startTimeUnixNano);
        expect(s.endTimeUnixNano).toBeLessThanOrEqual(parent.endTimeUnixNano);
      }
    }
  });

  it('with no spread, ends every trace at the current time', () => {
    const { spans } = decode(generator({ spreadNs: 0n }), 2);
    const ends = new Map<string, bigint>();
    for (const s of spans) ends.set(s.traceId, (ends.get(s.traceId) ?? 0n) > s.endTimeUnixNano ? ends.get(s.traceId)! : s.endTimeUnixNano);
    for (const end of ends.values()) expect(end).toBe(NOW_NS);
  });

  it('sends at least the spans per request asked for, in whole traces', () => {
    for (const spansPerRequest of [1, 100, 2000]) {
      const g = generator({ spansPerRequest });
      const request = g.next();
      expect(request.spans).toBeGreaterThanOrEqual(spansPerRequest);
      expect(request.spans - spansPerRequest).toBeLessThan(60);
    }
  });

  it('looks like the agents’ data: services, kinds, method spans, N+1 siblings, errors, correlation IDs', () => {
    const { spans } = decode(generator({ services: 6 }), 8);
    expect(new Set(spans.map((s) => s.resource.serviceName)).size).toBe(6);
    expect(spans.every((s) => s.resource.attributes[RUN_ATTRIBUTE] === 'feed')).toBe(true);
    expect(new Set(spans.map((s) => s.kind))).toEqual(new Set([SpanKind.SERVER, SpanKind.CLIENT, SpanKind.INTERNAL]));

    const methods = spans.filter((s) => s.kind === SpanKind.INTERNAL);
    for (const m of methods) {
      const [cls, fn] = m.name.split('.');
      expect(m.attributes['code.function.name']).toBe(fn);
      expect(m.attributes['code.namespace']).toMatch(new RegExp(`^com\\.example\\.\\w+\\.${cls}$`));
      expect(m.attributes['flowtrace.args.0']).toBeDefined();
    }
    expect(methods.some((m) => m.attributes['flowtrace.return'] !== undefined)).toBe(true);

    // N+1: some parent has at least N_PLUS_ONE_MIN_CALLS database children with the same statement.
    const statements = new Map<string, number>();
    for (const s of spans) {
      const statement = s.attributes['db.query.text'];
      if (statement !== undefined) statements.set(`${s.traceId}/${s.parentSpanId}/${statement}`, (statements.get(`${s.traceId}/${s.parentSpanId}/${statement}`) ?? 0) + 1);
    }
    expect(Math.max(...statements.values())).toBeGreaterThanOrEqual(N_PLUS_ONE_MIN_CALLS);

    // Errors: some traces fail, with an exception event on the failing method span.
    const failed = spans.filter((s) => s.statusCode === StatusCode.ERROR);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.length).toBeLessThan(spans.length / 5);
    expect(failed.some((s) => s.events.some((e) => e.name === 'exception' && e.attributes['exception.type'] !== undefined))).toBe(true);

    // One correlation ID per trace, on every span, different between traces.
    const correlation = new Map<string, string>();
    for (const s of spans) {
      const id = s.attributes['flowtrace.correlation_id'];
      expect(id).toMatch(/^req-[0-9a-f]{16}$/);
      if (correlation.has(s.traceId)) expect(correlation.get(s.traceId)).toBe(id);
      else correlation.set(s.traceId, id!);
    }
    expect(new Set(correlation.values()).size).toBe(correlation.size);
  });
});
