/**
 * The analysis routes end to end, on the real collector and its embedded engine: traces sent
 * over OTLP/HTTP come back as a critical path (through an async fan-out), insights (N+1 of 10
 * identical SELECTs, the error's origin) with completeness (an orphan, an unanswered call),
 * and a comparison of two requests; a token limited to one service never sees another
 * service's spans through any of them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, newTempDir, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import type { OtlpKeyValue, OtlpRequest, OtlpSpan } from './helpers/otlp-json.js';
import { postTraces } from './helpers/otlp-send.js';

const SLOW = '1'.repeat(32);
const FAST = '2'.repeat(32);
const BROKEN = '3'.repeat(32);
const SKEWED = '4'.repeat(32);
const MS = 1_000_000n;
const SERVER = 2;
const CLIENT = 3;

const t0 = BigInt(Date.now() - 60_000) * MS;
const str = (key: string, value: string): OtlpKeyValue => ({ key, value: { stringValue: value } });
const id = (n: number) => n.toString(16).padStart(16, '0');

function otlpSpan(traceId: string, spanId: number, parent: number, startMs: number, endMs: number, name: string, kind: number, attributes: OtlpKeyValue[] = []): OtlpSpan {
  return {
    traceId,
    spanId: id(spanId),
    parentSpanId: parent === 0 ? '' : id(parent),
    name,
    kind,
    startTimeUnixNano: String(t0 + BigInt(startMs) * MS),
    endTimeUnixNano: String(t0 + BigInt(endMs) * MS),
    attributes,
  };
}

/**
 * A checkout through `front` (root 0-100 ms) calling `stock` (10-90), which runs `queries`
 * identical SELECTs one after another; `front` also fans out a parallel price lookup (10-40)
 * and fires off an audit call that outlives the request (50-150). With `fail`, the last SELECT
 * throws and the error propagates up.
 */
function checkout(traceId: string, queries: number, fail: boolean): OtlpRequest {
  const front: OtlpSpan[] = [
    otlpSpan(traceId, 1, 0, 0, 100, 'POST /checkout', SERVER),
    otlpSpan(traceId, 2, 1, 10, 90, 'GET /stock', CLIENT, [str('http.request.method', 'GET'), str('server.address', 'stock')]),
    otlpSpan(traceId, 3, 1, 10, 40, 'price lookup', 1, [str('code.function.name', 'Prices.lookup')]),
    otlpSpan(traceId, 4, 1, 50, 150, 'audit', 1, [str('code.function.name', 'Audit.record')]),
  ];
  const stock: OtlpSpan[] = [otlpSpan(traceId, 5, 2, 12, 88, 'GET /stock', SERVER)];
  for (let i = 0; i < queries; i++) {
    stock.push(
      otlpSpan(traceId, 16 + i, 5, 13 + 7 * i, 19 + 7 * i, 'SELECT stock', CLIENT, [
        str('db.system.name', 'postgresql'),
        str('db.query.text', `SELECT qty FROM stock WHERE sku = '${1000 + i}'`),
      ]),
    );
  }
  if (fail) {
    const last = stock[stock.length - 1]!;
    last.status = { code: 2, message: 'deadlock' };
    last.events = [{ timeUnixNano: last.endTimeUnixNano, name: 'exception', attributes: [str('exception.type', 'PSQLException'), str('exception.message', 'deadlock detected')] }];
    stock[0]!.status = { code: 2, message: '' };
    front[1]!.status = { code: 2, message: '' };
  }
  return request({ front, stock });
}

function request(byService: Record<string, OtlpSpan[]>): OtlpRequest {
  return {
    resourceSpans: Object.entries(byService).map(([service, spans]) => ({
      resource: { attributes: [str('service.name', service)] },
      scopeSpans: [{ scope: { name: 'analysis-e2e' }, spans }],
    })),
  };
}

let c: RunningCollector;
let admin: string;
let frontOnly: string;
let billingOnly: string;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function api<T = Record<string, unknown>>(path: string, token: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${c.apiUrl}${path}`, { headers: bearer(token) });
  return { status: res.status, body: (await res.json()) as T };
}

async function tokenFor(name: string, services: string[]): Promise<string> {
  const res = await fetch(`${c.apiUrl}/api/tokens`, {
    method: 'POST',
    headers: { ...bearer(admin), 'content-type': 'application/json' },
    body: JSON.stringify({ name, scopes: ['read'], services }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

beforeAll(async () => {
  const tokenFile = join(newTempDir('ft-analysis-boot-'), 'admin.token');
  // Bound beyond loopback so that every request needs a token.
  c = await startCollector({ args: ['--api', '0.0.0.0:0', '--bootstrap-token-file', tokenFile] });
  c.apiUrl = c.apiUrl.replace('0.0.0.0', '127.0.0.1');
  admin = readFileSync(tokenFile, 'utf8').trim();
  frontOnly = await tokenFor('front-only', ['front']);
  billingOnly = await tokenFor('billing-only', ['billing']);

  const broken = request({
    front: [
      otlpSpan(BROKEN, 1, 0, 0, 50, 'GET /cart', SERVER),
      otlpSpan(BROKEN, 2, 1, 5, 45, 'GET /pay', CLIENT, [str('http.request.method', 'GET'), str('server.address', 'payments')]),
    ],
    // Its parent (span 99) was never sent.
    worker: [otlpSpan(BROKEN, 7, 99, 10, 20, 'process', 1)],
  });
  // `back`'s clock runs 20 ms late: as sent, its server span ends after the call that waited for it.
  const skewed = request({
    front: [otlpSpan(SKEWED, 1, 0, 0, 100, 'GET /quote', SERVER), otlpSpan(SKEWED, 2, 1, 10, 50, 'GET /rates', CLIENT, [str('http.request.method', 'GET'), str('server.address', 'back')])],
    back: [otlpSpan(SKEWED, 3, 2, 30, 60, 'GET /rates', SERVER)],
  });
  for (const body of [checkout(SLOW, 10, true), checkout(FAST, 3, false), broken, skewed]) {
    const outcome = await postTraces(c.httpEndpoint, JSON.stringify(body), 'application/json');
    expect(outcome).toMatchObject({ status: 200, rejected: 0 });
  }
  const expected: Array<[string, number]> = [
    [SLOW, 15],
    [FAST, 8],
    [BROKEN, 3],
    [SKEWED, 3],
  ];
  for (const [traceId, spans] of expected) {
    await waitFor(async () => {
      const { status, body } = await api<{ spans?: unknown[] }>(`/api/traces/${traceId}`, admin);
      return status === 200 && body.spans!.length === spans ? true : undefined;
    }, `trace ${traceId} to be stored`);
  }
}, 180_000);
afterAll(cleanup);

interface Segment {
  spanId: string;
  serviceName: string;
  durationNano: string;
}

describe('GET /api/traces/:traceId/critical-path', () => {
  it('follows the call that finished last and leaves the fire-and-forget audit off the path', async () => {
    const { status, body } = await api<{ rootSpanId: string; durationNano: string; segments: Segment[]; asyncSpanIds: string[]; selfTimes: Array<{ spanId: string; selfNano: string }> }>(
      `/api/traces/${SLOW}/critical-path?limit=1000`,
      admin,
    );
    expect(status).toBe(200);
    expect(body.rootSpanId).toBe(id(1));
    expect(body.durationNano).toBe(String(100n * MS));
    expect(body.asyncSpanIds).toEqual([id(4)]);
    // root 0-10, client 10-12, server 12-13, then the SELECTs back to back with the server's gaps, …
    const onPath = [...new Set(body.segments.map((s) => s.spanId))];
    expect(onPath.slice(0, 3)).toEqual([id(1), id(2), id(5)]);
    expect(onPath).toContain(id(16 + 9));
    expect(onPath).not.toContain(id(3));
    expect(body.segments.reduce((s, x) => s + BigInt(x.durationNano), 0n)).toBe(100n * MS);
    // The stock server: 76 ms minus 10 SELECTs of 6 ms each.
    expect(body.selfTimes.find((s) => s.spanId === id(5))!.selfNano).toBe(String(16n * MS));
  });

  it('judges a clock-skewed server span on adjusted times: inside its client, on the path', async () => {
    // The stitch processor stores the span's offset a few seconds after the trace arrives.
    await waitFor(async () => {
      const { body } = await api<{ spans: Array<{ spanId: string; startTimeUnixNano: string }> }>(`/api/traces/${SKEWED}?adjust=clock-skew`, admin);
      return body.spans.find((s) => s.spanId === id(3))!.startTimeUnixNano === String(t0 + 15n * MS) ? true : undefined;
    }, 'the clock-skew offset to be stored');
    const { body } = await api<{ segments: Array<Segment & { startTimeUnixNano: string; endTimeUnixNano: string }>; asyncSpanIds: string[] }>(`/api/traces/${SKEWED}/critical-path`, admin);
    expect(body.asyncSpanIds).toEqual([]);
    const ms = (ns: string) => Number((BigInt(ns) - t0) / MS);
    expect(body.segments.map((s) => `${s.spanId.slice(-1)} ${ms(s.startTimeUnixNano)}-${ms(s.endTimeUnixNano)}`)).toEqual(['1 0-10', '2 10-15', '3 15-45', '2 45-50', '1 50-100']);
  });
});

describe('GET /api/traces/:traceId/insights', () => {
  interface InsightsAnswer {
    insights: Array<{ rule: string; spanIds: string[]; spanCount: number; parentSpanId: string; evidence: Record<string, unknown> }>;
    completeness: { complete: boolean; orphans: Array<{ spanId: string; remoteParent: boolean; reason: string }>; unansweredClientSpans: Array<{ spanId: string; reason: string }> };
  }

  it('finds the N+1 of 10 identical SELECTs and where the error started', async () => {
    const { status, body } = await api<InsightsAnswer>(`/api/traces/${SLOW}/insights`, admin);
    expect(status).toBe(200);
    const nPlusOne = body.insights.filter((i) => i.rule === 'n-plus-one');
    expect(nPlusOne).toHaveLength(1);
    expect(nPlusOne[0]!.spanIds).toEqual(Array.from({ length: 10 }, (_, i) => id(16 + i)));
    expect(nPlusOne[0]!.parentSpanId).toBe(id(5));
    expect(nPlusOne[0]!.evidence).toMatchObject({ operation: 'SELECT qty FROM stock WHERE sku = ?', calls: 10 });
    const [origin] = body.insights.filter((i) => i.rule === 'error-origin');
    expect(origin!.spanIds).toEqual([id(16 + 9), id(5), id(2)]);
    expect(origin!.evidence).toMatchObject({ exceptionType: 'PSQLException', exceptionMessage: 'deadlock detected' });
    expect(body.completeness.complete).toBe(true);
  });

  it('reports the orphan and the call nobody answered', async () => {
    const { body } = await api<InsightsAnswer>(`/api/traces/${BROKEN}/insights`, admin);
    expect(body.completeness.complete).toBe(false);
    expect(body.completeness.orphans).toEqual([expect.objectContaining({ spanId: id(7), remoteParent: false })]);
    expect(body.completeness.unansweredClientSpans).toEqual([expect.objectContaining({ spanId: id(2), reason: 'not-instrumented' })]);
  });
});

describe('GET /api/compare', () => {
  it('aligns two checkouts by path: 10 SELECTs against 3, and the duration they cost', async () => {
    const { status, body } = await api<{ changed: Array<{ path: string; countA: number; countB: number; deltaNano: string }>; onlyInA: unknown[]; onlyInB: unknown[] }>(
      `/api/compare?a=${SLOW}&b=${FAST}`,
      admin,
    );
    expect(status).toBe(200);
    expect(body.onlyInA).toEqual([]);
    expect(body.onlyInB).toEqual([]);
    expect(body.changed).toEqual([
      expect.objectContaining({ path: 'front:POST /checkout > front:GET /stock > stock:GET /stock > stock:SELECT stock', countA: 10, countB: 3, deltaNano: String(-42n * MS) }),
    ]);
  });
});

describe('authentication and read rules', () => {
  it('needs a token', async () => {
    for (const path of [`/api/traces/${SLOW}/critical-path`, `/api/traces/${SLOW}/insights`, `/api/compare?a=${SLOW}&b=${FAST}`]) {
      expect((await fetch(`${c.apiUrl}${path}`)).status).toBe(401);
    }
  });

  it('a token limited to one service never sees another service’s spans through these routes', async () => {
    const stockIds = [id(5), ...Array.from({ length: 10 }, (_, i) => id(16 + i))];
    for (const path of [`/api/traces/${SLOW}/critical-path?limit=1000`, `/api/traces/${SLOW}/insights`, `/api/compare?a=${SLOW}&b=${FAST}`]) {
      const { status, body } = await api(path, frontOnly);
      expect(status, path).toBe(200);
      const text = JSON.stringify(body);
      for (const spanId of stockIds) expect(text, `${path} names ${spanId}`).not.toContain(`"${spanId}"`);
      for (const hidden of ['stock:GET', 'stock:SELECT', 'SELECT qty', 'PSQLException', 'deadlock', '"stock"']) expect(text, path).not.toContain(hidden);
    }
    const { body } = await api<{ readRestricted: boolean; insights: Array<{ rule: string }> }>(`/api/traces/${SLOW}/insights`, frontOnly);
    expect(body.readRestricted).toBe(true);
    expect(body.insights.filter((i) => i.rule === 'n-plus-one')).toEqual([]);
    // No span of its services: the trace does not exist for it.
    for (const path of [`/api/traces/${SLOW}/critical-path`, `/api/traces/${SLOW}/insights`, `/api/compare?a=${SLOW}&b=${FAST}`]) {
      expect((await api(path, billingOnly)).status, path).toBe(404);
    }
  });
});
