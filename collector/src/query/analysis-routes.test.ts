/**
 * The analysis routes through Fastify's inject, over an in-memory trace store: answers, 400 /
 * 404 / 413 with messages, and the principal's read rules (the store a restricted principal
 * reads through holds only its services' spans, as the filtered views do). test/analysis.e2e.test.ts
 * runs them on the real collector with real tokens.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { span, TRACE_A } from '../analysis/trace-fixture.testing.js';
import { LOOPBACK_ANONYMOUS, type ReadRules } from '../auth/principal.js';
import '../auth/request-principal.js';
import { MAX_ANALYSIS_SPANS, registerAnalysisRoutes } from './analysis-routes.js';
import { QueryParamError } from './params.js';
import type { ReadScopes, ScopedReads } from './read-scope.js';
import type { SpanView } from './span-view.js';
import type { TraceLocation, TraceSearch, TraceStore, TraceSummary } from './trace-store.js';

const TRACE_B = 'b'.repeat(32);
const BIG = 'c'.repeat(32);

const traces = new Map<string, SpanView[]>([
  [
    TRACE_A,
    [
      span('0000000000000001', '', 0, 100, { service: 'front', kind: 'Server', name: 'GET /orders' }),
      span('0000000000000002', '0000000000000001', 10, 90, { service: 'front', kind: 'Client', name: 'GET /stock', attributes: { 'http.request.method': 'GET', 'server.address': 'stock' } }),
      span('0000000000000003', '0000000000000002', 12, 88, { service: 'stock', kind: 'Server', name: 'GET /stock' }),
      ...Array.from({ length: 6 }, (_, i) =>
        span(`00000000000001${i}0`, '0000000000000003', 13 + 10 * i, 20 + 10 * i, {
          service: 'stock',
          kind: 'Client',
          name: 'SELECT stock',
          attributes: { 'db.system.name': 'postgresql', 'db.query.text': `SELECT * FROM stock WHERE sku = ${i}` },
        }),
      ),
    ],
  ],
  [TRACE_B, [span('0000000000000001', '', 0, 80, { traceId: TRACE_B, service: 'front', kind: 'Server', name: 'GET /orders' })]],
  [BIG, Array.from({ length: MAX_ANALYSIS_SPANS + 1 }, (_, i) => span(i.toString(16).padStart(16, '0'), '', 0, 1, { traceId: BIG }))],
]);

/** Traces the fake store loaded in full (getTrace), in order: an oversized one must never be. */
const loaded: string[] = [];

/** The store as a principal reads it: only the spans of the services its rules allow. */
function storeFor(rules: ReadRules): TraceStore {
  const visible = (spans: SpanView[]) => spans.filter((s) => !rules.services?.length || rules.services.includes(s.serviceName));
  const fake = {
    async locate(traceId: string): Promise<TraceLocation | undefined> {
      const spans = visible(traces.get(traceId) ?? []);
      return spans.length === 0 ? undefined : { traceId, start: '', end: '', spans: spans.length };
    },
    async getTrace(traceId: string) {
      loaded.push(traceId);
      const spans = visible(traces.get(traceId) ?? []);
      return spans.length === 0 ? undefined : spans;
    },
    /** Every visible trace whose root matches the service and operation (the typical-shape search). */
    async searchTraces(search: TraceSearch): Promise<TraceSummary[]> {
      const out: TraceSummary[] = [];
      for (const [traceId, all] of traces) {
        const spans = visible(all);
        const root = spans.find((s) => s.parentSpanId === '');
        if (!root || root.serviceName !== search.service || root.name !== search.operation) continue;
        const services = [...new Set(spans.map((s) => s.serviceName))];
        out.push({ traceId, rootServiceName: root.serviceName, rootSpanName: root.name, startTimeUnixNano: root.startTimeUnixNano, durationNano: root.durationNano, spanCount: spans.length, errorCount: 0, services });
      }
      return out;
    },
  };
  return fake as unknown as TraceStore;
}

const readScopes = {
  async readsFor(rules: ReadRules): Promise<ScopedReads> {
    return { store: storeFor(rules), table: (name: string) => `\`db\`.\`${name}\`` };
  },
} as unknown as ReadScopes;

/** No side tables yet: the clock-skew and drop reads find nothing, as before the stitch processor ran. */
const reader = {
  async query() {
    throw Object.assign(new Error('no table'), { type: 'UNKNOWN_TABLE' });
  },
} as unknown as ClickHouseClient;

let app: FastifyInstance;

beforeAll(async () => {
  app = Fastify();
  // The query API's auth hook resolves the principal; here a test header stands for a token limited to one service.
  app.decorateRequest('principal', null as unknown as typeof LOOPBACK_ANONYMOUS);
  app.addHook('onRequest', async (req) => {
    const only = req.headers['x-test-service'];
    req.principal = typeof only === 'string' ? { ...LOOPBACK_ANONYMOUS, id: 'token:t', kind: 'token', rules: { services: [only] } } : LOOPBACK_ANONYMOUS;
  });
  // As api.ts answers them.
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) =>
    reply.code(err instanceof QueryParamError ? 400 : (err.statusCode ?? 500)).send({ error: err.message }),
  );
  registerAnalysisRoutes(app, { reader, database: 'db', store: storeFor({}), readScopes });
  await app.ready();
});
afterAll(async () => app?.close());

async function get(url: string, service?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await app.inject({ method: 'GET', url, headers: service ? { 'x-test-service': service } : {} });
  return { status: res.statusCode, body: res.json() };
}

describe('GET /api/traces/:traceId/critical-path', () => {
  it('answers the path and self times as nanosecond strings', async () => {
    const { status, body } = await get(`/api/traces/${TRACE_A}/critical-path?limit=2`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ traceId: TRACE_A, rootSpanId: '0000000000000001', durationNano: '100000000', spanCount: 9, asyncSpanIds: [] });
    const segments = body.segments as Array<{ spanId: string; durationNano: string }>;
    expect(segments.reduce((s, x) => s + BigInt(x.durationNano), 0n)).toBe(100_000_000n);
    expect(body.selfTimes).toHaveLength(2);
  });

  it('refuses a bad ID, a bad limit, an unknown trace and a trace beyond the span cap, naming the problem', async () => {
    expect(await get('/api/traces/xyz/critical-path')).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^trace ID: /) } });
    expect(await get(`/api/traces/${TRACE_A}/critical-path?limit=0`)).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^limit: /) } });
    expect(await get(`/api/traces/${'d'.repeat(32)}/critical-path`)).toMatchObject({ status: 404, body: { error: `trace ${'d'.repeat(32)} not found` } });
    const big = await get(`/api/traces/${BIG}/critical-path`);
    expect(big.status).toBe(413);
    expect(big.body.error).toBe(`trace ${BIG} has ${MAX_ANALYSIS_SPANS + 1} spans; analysis is limited to ${MAX_ANALYSIS_SPANS} spans per trace`);
  });

  it('refuses an oversized trace from its count, without loading it', async () => {
    loaded.length = 0;
    expect((await get(`/api/traces/${BIG}/insights`)).status).toBe(413);
    expect((await get(`/api/traces/${BIG}/critical-path`)).status).toBe(413);
    expect(loaded).toEqual([]);
    expect((await get(`/api/traces/${TRACE_A}/critical-path`)).status).toBe(200);
    expect(loaded).toEqual([TRACE_A]);
  });
});

describe('GET /api/traces/:traceId/insights', () => {
  it('answers the insights and the completeness of the trace', async () => {
    const { status, body } = await get(`/api/traces/${TRACE_A}/insights`);
    expect(status).toBe(200);
    const insights = body.insights as Array<{ rule: string; spanCount: number; parentSpanId: string; impactNano: string }>;
    expect(insights.filter((i) => i.rule === 'n-plus-one')).toEqual([expect.objectContaining({ spanCount: 6, parentSpanId: '0000000000000003', impactNano: '42000000' })]);
    expect(body.completeness).toEqual({ complete: true, orphans: [], unansweredClientSpans: [], missingRemoteParents: [] });
    expect(body.readRestricted).toBe(false);
  });
});

describe('GET /api/compare', () => {
  it('compares two traces by path', async () => {
    const { status, body } = await get(`/api/compare?a=${TRACE_A}&b=${TRACE_B}`);
    expect(status).toBe(200);
    expect(body.onlyInA).toEqual([expect.objectContaining({ path: 'front:GET /orders > front:GET /stock', pathsBelow: 2 })]);
    expect(body.changed).toEqual([expect.objectContaining({ path: 'front:GET /orders', deltaNano: '-20000000' })]);
  });

  it('compares a trace with the typical shape of its root operation', async () => {
    const { status, body } = await get(`/api/compare?a=${TRACE_A}&b=typical&n=5`);
    expect(status).toBe(200);
    expect(body.b).toEqual({ traceId: 'typical', traces: 1, spanCount: 1 });
    expect(body.onlyInA).toEqual([expect.objectContaining({ path: 'front:GET /orders > front:GET /stock', pathsBelow: 2 })]);
    // The other way round, A is B's typical shape.
    expect((await get(`/api/compare?a=${TRACE_B}&b=typical`)).body.onlyInB).toEqual([expect.objectContaining({ path: 'front:GET /orders > front:GET /stock' })]);
    // Seen by a principal reading only `stock`, the trace has no root and no like of it exists.
    expect(await get(`/api/compare?a=${TRACE_A}&b=typical`, 'stock')).toMatchObject({ status: 404, body: { error: expect.stringContaining('no other trace') } });
  });

  it('refuses missing parameters and names the trace not found', async () => {
    expect(await get(`/api/compare?a=${TRACE_A}`)).toMatchObject({ status: 400, body: { error: 'b: required' } });
    expect(await get(`/api/compare?a=${TRACE_A}&b=${'e'.repeat(32)}`)).toMatchObject({ status: 404, body: { error: `b: trace ${'e'.repeat(32)} not found` } });
    expect(await get(`/api/compare?a=${TRACE_A}&b=typical&n=99`)).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^n: /) } });
  });
});

describe('read rules', () => {
  it('a principal limited to one service sees only its spans in every answer', async () => {
    const path = await get(`/api/traces/${TRACE_A}/critical-path?limit=100`, 'front');
    expect(path.status).toBe(200);
    const named = (body: Record<string, unknown>) => JSON.stringify(body);
    expect(named(path.body)).not.toContain('0000000000000003');
    expect((path.body.selfTimes as Array<{ serviceName: string }>).every((s) => s.serviceName === 'front')).toBe(true);

    const insights = await get(`/api/traces/${TRACE_A}/insights`, 'front');
    expect(insights.body.readRestricted).toBe(true);
    expect(insights.body.insights).toEqual([]);
    // Its call's server span is hidden: reported, with the read rules as the likely reason.
    expect((insights.body.completeness as { unansweredClientSpans: unknown[] }).unansweredClientSpans).toEqual([
      expect.objectContaining({ spanId: '0000000000000002', reason: 'not-readable' }),
    ]);
    expect(named(insights.body)).not.toContain('stock WHERE');

    // A trace with no span of its services does not exist for it.
    expect((await get(`/api/traces/${TRACE_A}/insights`, 'billing')).status).toBe(404);
    expect((await get(`/api/compare?a=${TRACE_A}&b=${TRACE_B}`, 'stock')).status).toBe(404);
  });
});
