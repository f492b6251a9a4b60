/**
 * The two-step trace load on the real collector (collector/src/query/skeleton-routes.ts): the
 * skeleton's columns for a method-level trace sent over OTLP/HTTP (parents, orphans, method
 * flags, errors, correlation ID, clock-skew adjustment), one span in full with its captured
 * arguments, return value and exception, the 4xx answers, and a token limited to one service
 * reading another service's trace (its spans never returned, counted as hidden). The dashboard
 * model's self times on that skeleton equal the critical-path route's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTree, computeCriticalPath, decodeSkeleton, selfTimes, type SkeletonJson } from '../dashboard/src/trace/model/index.js';
import { methodLevelTrace, random } from '../dashboard/src/trace/model/skeleton.testing.js';
import { criticalPath } from '../collector/src/analysis/critical-path.js';
import type { SpanView } from '../collector/src/query/span-view.js';
import { cleanup, newTempDir, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import type { OtlpKeyValue, OtlpRequest, OtlpSpan } from './helpers/otlp-json.js';
import { postTraces } from './helpers/otlp-send.js';

const TRACE = '5'.repeat(32);
const SKEWED = '6'.repeat(32);
const MS = 1_000_000n;
const [INTERNAL, SERVER, CLIENT] = [1, 2, 3];
const t0 = BigInt(Date.now() - 60_000) * MS;
const str = (key: string, value: string): OtlpKeyValue => ({ key, value: { stringValue: value } });
const int = (key: string, value: number): OtlpKeyValue => ({ key, value: { intValue: value } });
const id = (n: number) => n.toString(16).padStart(16, '0');
const CORRELATION = str('flowtrace.correlation_id', 'req-7f3a');

function otlpSpan(traceId: string, spanId: number, parent: number, startMs: number, endMs: number, name: string, kind: number, attributes: OtlpKeyValue[] = []): OtlpSpan {
  return {
    traceId,
    spanId: id(spanId),
    parentSpanId: parent === 0 ? '' : id(parent),
    name,
    kind,
    startTimeUnixNano: String(t0 + BigInt(startMs) * MS),
    endTimeUnixNano: String(t0 + BigInt(endMs) * MS),
    attributes: [CORRELATION, ...attributes],
  };
}

const method = (fn: string, ns: string) => [str('code.function.name', fn), str('code.namespace', ns)];

/**
 * front: GET /orders (0-100) → client GET /stock (10-90) → stock: server (12-88) → method
 * StockService.reserve (14-80, args and return captured) → 6 SELECTs, the last failing with an
 * exception; a front method span Audit.record (90-95); a worker span whose parent never arrived.
 */
function orders(): OtlpRequest {
  const front = [
    otlpSpan(TRACE, 1, 0, 0, 100, 'GET /orders', SERVER),
    otlpSpan(TRACE, 2, 1, 10, 90, 'GET /stock', CLIENT, [str('http.request.method', 'GET')]),
    otlpSpan(TRACE, 3, 1, 90, 95, 'Audit.record', INTERNAL, method('record', 'Audit')),
  ];
  const reserve = otlpSpan(TRACE, 5, 4, 14, 80, 'StockService.reserve', INTERNAL, [
    ...method('reserve', 'StockService'),
    str('flowtrace.args.0', '"sku-1"'),
    str('flowtrace.args.1', '3'),
    str('flowtrace.return', '{"reserved":true}'),
    int('stock.items', 6),
  ]);
  const stock = [otlpSpan(TRACE, 4, 2, 12, 88, 'GET /stock', SERVER), reserve];
  for (let i = 0; i < 6; i++) stock.push(otlpSpan(TRACE, 16 + i, 5, 15 + 10 * i, 22 + 10 * i, `SELECT qty FROM stock WHERE sku = ${1000 + i}`, CLIENT));
  const failing = stock[stock.length - 1]!;
  failing.status = { code: 2, message: 'deadlock' };
  failing.events = [{ timeUnixNano: failing.endTimeUnixNano, name: 'exception', attributes: [str('exception.type', 'PSQLException'), str('exception.message', 'deadlock detected')] }];
  const worker = [otlpSpan(TRACE, 30, 99, 40, 50, 'process', INTERNAL)];
  return request({ front, stock, worker });
}

function request(byService: Record<string, OtlpSpan[]>): OtlpRequest {
  return {
    resourceSpans: Object.entries(byService).map(([service, spans]) => ({
      resource: { attributes: [str('service.name', service), str('host.name', `${service}-1`)] },
      scopeSpans: [{ scope: { name: 'skeleton-e2e' }, spans }],
    })),
  };
}

let c: RunningCollector;
let admin: string;
let frontOnly: string;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function api<T = Record<string, unknown>>(path: string, token: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${c.apiUrl}${path}`, { headers: bearer(token) });
  return { status: res.status, body: (await res.json()) as T };
}

beforeAll(async () => {
  const tokenFile = join(newTempDir('ft-skeleton-boot-'), 'admin.token');
  c = await startCollector({ args: ['--api', '0.0.0.0:0', '--bootstrap-token-file', tokenFile] });
  c.apiUrl = c.apiUrl.replace('0.0.0.0', '127.0.0.1');
  admin = readFileSync(tokenFile, 'utf8').trim();
  const res = await fetch(`${c.apiUrl}/api/tokens`, {
    method: 'POST',
    headers: { ...bearer(admin), 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'front-only', scopes: ['read'], services: ['front'] }),
  });
  expect(res.status).toBe(201);
  frontOnly = ((await res.json()) as { token: string }).token;

  // `back`'s clock runs 20 ms late: its server span starts after the client that waited for it ended… almost.
  const skewed = request({
    front: [otlpSpan(SKEWED, 1, 0, 0, 100, 'GET /quote', SERVER), otlpSpan(SKEWED, 2, 1, 10, 50, 'GET /rates', CLIENT, [str('http.request.method', 'GET'), str('server.address', 'back')])],
    back: [otlpSpan(SKEWED, 3, 2, 30, 60, 'GET /rates', SERVER)],
  });
  for (const body of [orders(), skewed]) expect(await postTraces(c.httpEndpoint, JSON.stringify(body), 'application/json')).toMatchObject({ status: 200, rejected: 0 });
  for (const [traceId, spans] of [[TRACE, 12], [SKEWED, 3]] as const) {
    await waitFor(async () => ((await api<{ spanCount?: number }>(`/api/traces/${traceId}/skeleton`, admin)).body.spanCount === spans ? true : undefined), `trace ${traceId} stored`);
  }
}, 180_000);
afterAll(cleanup);

const named = (s: SkeletonJson) => s.spanId.map((spanId, i) => ({ spanId, name: s.names[s.name[i]!]!, service: s.services[s.service[i]!]!, parent: s.parent[i]!, start: s.start[i]!, duration: s.duration[i]!, flags: s.flags[i]!, status: s.statuses[s.status[i]!]!, kind: s.kinds[s.kind[i]!]! }));

describe('GET /api/traces/:traceId/skeleton', () => {
  it('sends every span as columns: parents by index, orphans by missing parent, times from the trace start', async () => {
    const { status, body } = await api<SkeletonJson>(`/api/traces/${TRACE}/skeleton`, admin);
    expect(status).toBe(200);
    expect(body).toMatchObject({ traceId: TRACE, startTimeUnixNano: String(t0), unitNs: 1, adjusted: false, spanCount: 12, hiddenSpanCount: 0, readRestricted: false, correlationId: 'req-7f3a', missingParentIds: [id(99)] });
    const spans = named(body);
    const at = (n: number) => spans.findIndex((s) => s.spanId === id(n));
    expect(spans.map((s) => s.spanId)).toEqual([1, 2, 4, 5, 16, 17, 18, 30, 19, 20, 21, 3].map(id));
    expect(spans[at(1)]).toMatchObject({ parent: -1, start: 0, duration: 100_000_000, kind: 'Server', flags: 0, service: 'front' });
    expect(spans[at(4)]!.parent).toBe(at(2));
    expect(spans[at(5)]).toMatchObject({ parent: at(4), name: 'StockService.reserve', flags: 1, start: 14_000_000, duration: 66_000_000 });
    expect(spans[at(30)]).toMatchObject({ parent: -2, service: 'worker' });
    expect(spans[at(21)]).toMatchObject({ status: 'Error', kind: 'Client', parent: at(5) });
    expect(spans[at(3)]!.flags).toBe(1);
  });

  it('applies the stored clock-skew offsets when asked', async () => {
    const serverStart = async () => {
      const { body } = await api<SkeletonJson>(`/api/traces/${SKEWED}/skeleton?adjust=clock-skew`, admin);
      return body.adjusted ? body.start[body.spanId.indexOf(id(3))] : undefined;
    };
    // The stitch processor stores the offset a few seconds after the trace arrives; the server moves to 15 ms.
    expect(await waitFor(serverStart, 'the clock-skew offset to be stored')).toBe(15_000_000);
    const { body } = await api<SkeletonJson>(`/api/traces/${SKEWED}/skeleton`, admin);
    expect(body.start[body.spanId.indexOf(id(3))]).toBe(30_000_000);
  });

  it('gives a one-service token only its spans, and says how many it may not see', async () => {
    const { status, body } = await api<SkeletonJson>(`/api/traces/${TRACE}/skeleton`, frontOnly);
    expect(status).toBe(200);
    expect(body).toMatchObject({ spanCount: 3, hiddenSpanCount: 9, readRestricted: true, services: ['front'] });
    expect(body.spanId).toEqual([1, 2, 3].map(id));
    expect(body.names).not.toContain('StockService.reserve');
  });

  it('answers 404 for an unknown trace or one the token may not read, 400 for bad input', async () => {
    expect(await api(`/api/traces/${'7'.repeat(32)}/skeleton`, admin)).toEqual({ status: 404, body: { error: `trace ${'7'.repeat(32)} not found` } });
    const onlyOthers = await fetch(`${c.apiUrl}/api/tokens`, {
      method: 'POST',
      headers: { ...bearer(admin), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'billing-only', scopes: ['read'], services: ['billing'] }),
    });
    const billing = ((await onlyOthers.json()) as { token: string }).token;
    expect((await api(`/api/traces/${TRACE}/skeleton`, billing)).status).toBe(404);
    expect(await api(`/api/traces/xyz/skeleton`, admin)).toEqual({ status: 400, body: { error: 'trace ID: expected 32 hex digits, got "xyz"' } });
    expect(await api(`/api/traces/${TRACE}/skeleton?adjust=yes`, admin)).toEqual({ status: 400, body: { error: 'adjust: expected "clock-skew", got "yes"' } });
    expect((await fetch(`${c.apiUrl}/api/traces/${TRACE}/skeleton`)).status).toBe(401);
    const ingestOnly = await fetch(`${c.apiUrl}/api/tokens`, {
      method: 'POST',
      headers: { ...bearer(admin), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ingest-only', scopes: ['ingest'] }),
    });
    const ingest = ((await ingestOnly.json()) as { token: string }).token;
    for (const path of [`/api/traces/${TRACE}/skeleton`, `/api/traces/${TRACE}/spans/${id(1)}`]) expect((await api(path, ingest)).status).toBe(403);
  });

  it("gives the dashboard model the critical-path route's self time for every span", async () => {
    const { body: skeleton } = await api<SkeletonJson>(`/api/traces/${TRACE}/skeleton?adjust=clock-skew`, admin);
    const { body: path } = await api<{ selfTimes: Array<{ spanId: string; selfNano: string }> }>(`/api/traces/${TRACE}/critical-path?limit=1000`, admin);
    const tree = buildTree(decodeSkeleton(skeleton));
    const self = selfTimes(tree);
    const ours = Object.fromEntries(skeleton.spanId.map((spanId, i) => [spanId, String(self[i])]));
    expect(ours).toEqual(Object.fromEntries(path.selfTimes.map((s) => [s.spanId, s.selfNano])));
  });
});

describe("the dashboard model's critical path", () => {
  const segmentsOf = (s: SkeletonJson) => {
    const tree = buildTree(decodeSkeleton(s));
    return computeCriticalPath(tree).segments.map((x) => `${s.spanId[x.node]} ${x.startNs}-${x.endNs}`);
  };

  it("equals the critical-path route's on stored traces (clock skew adjusted)", async () => {
    for (const traceId of [TRACE, SKEWED]) {
      const { body: skeleton } = await api<SkeletonJson>(`/api/traces/${traceId}/skeleton?adjust=clock-skew`, admin);
      const { body: path } = await api<{ segments: Array<{ spanId: string; startTimeUnixNano: string; endTimeUnixNano: string }> }>(`/api/traces/${traceId}/critical-path`, admin);
      const base = BigInt(skeleton.startTimeUnixNano);
      expect(segmentsOf(skeleton)).toEqual(path.segments.map((x) => `${x.spanId} ${BigInt(x.startTimeUnixNano) - base}-${BigInt(x.endTimeUnixNano) - base}`));
    }
  });

  it('equals collector/src/analysis on generated method-level traces with async calls and orphans', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const s = methodLevelTrace(400, seed);
      const rnd = random(seed);
      // Stretch some spans past their parent's end (async) and cut some parents (orphans).
      for (let i = 1; i < s.spanId.length; i++) {
        if (rnd() < 0.05) s.duration[i] = s.duration[i]! * 3 + 1_000_000;
        if (rnd() < 0.01) s.parent[i] = -2 - s.missingParentIds.push(`ff${i.toString(16).padStart(14, '0')}`) + 1;
      }
      const spans = s.spanId.map((spanId, i) => ({
        spanId,
        parentSpanId: s.parent[i]! >= 0 ? s.spanId[s.parent[i]!]! : s.parent[i] === -1 ? '' : s.missingParentIds[-2 - s.parent[i]!]!,
        startTimeUnixNano: String(s.start[i]),
        durationNano: String(s.duration[i]),
        serviceName: s.services[s.service[i]!]!,
        name: s.names[s.name[i]!]!,
        attributes: {},
        status: { code: 'Unset', message: '' },
      })) as unknown as SpanView[];
      const expected = criticalPath(spans)!;
      expect(segmentsOf(s)).toEqual(expected.segments.map((x) => `${x.spanId} ${x.startNs}-${x.endNs}`));
      const self = selfTimes(buildTree(decodeSkeleton(s)));
      expect(Object.fromEntries(s.spanId.map((id, i) => [id, String(self[i])]))).toEqual(Object.fromEntries(expected.selfTimes.map((x) => [x.spanId, String(x.selfNs)])));
    }
  });
});

describe('GET /api/traces/:traceId/spans/:spanId', () => {
  interface Details {
    span: { spanId: string; name: string; attributes: Record<string, unknown>; resource: { attributes: Record<string, unknown> }; events: unknown[]; status: { code: string } };
    arguments: Array<{ index: number; key: string; value: unknown }>;
    returnValue?: unknown;
    exceptions: Array<{ type: string; message: string }>;
  }

  it('returns one span in full, with captured arguments and return value picked out', async () => {
    const { status, body } = await api<Details>(`/api/traces/${TRACE}/spans/${id(5)}`, admin);
    expect(status).toBe(200);
    expect(body.span).toMatchObject({ spanId: id(5), name: 'StockService.reserve', resource: { attributes: { 'service.name': 'stock', 'host.name': 'stock-1' } } });
    expect(body.span.attributes).toMatchObject({ 'code.function.name': 'reserve', 'stock.items': 6 });
    expect(body.arguments).toEqual([{ index: 0, key: 'flowtrace.args.0', value: '"sku-1"' }, { index: 1, key: 'flowtrace.args.1', value: '3' }]);
    expect(body.returnValue).toBe('{"reserved":true}');
    expect(body.exceptions).toEqual([]);
  });

  it('picks out the exception events of a failed span', async () => {
    const { body } = await api<Details>(`/api/traces/${TRACE}/spans/${id(21)}`, admin);
    expect(body.span.status.code).toBe('Error');
    expect(body.exceptions).toMatchObject([{ type: 'PSQLException', message: 'deadlock detected' }]);
    expect(body).not.toHaveProperty('returnValue');
  });

  it("answers 404 for a span a one-service token may not read, and for an unknown span; 400 for a bad ID", async () => {
    expect((await api(`/api/traces/${TRACE}/spans/${id(1)}`, frontOnly)).status).toBe(200);
    expect(await api(`/api/traces/${TRACE}/spans/${id(5)}`, frontOnly)).toEqual({ status: 404, body: { error: `span ${id(5)} of trace ${TRACE} not found` } });
    expect((await api(`/api/traces/${TRACE}/spans/${id(77)}`, admin)).status).toBe(404);
    expect(await api(`/api/traces/${TRACE}/spans/zz`, admin)).toEqual({ status: 400, body: { error: 'span ID: expected 16 hex digits, got "zz"' } });
  });
});
