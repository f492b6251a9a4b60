/**
 * RED metrics end to end, on the real collector and its embedded engine, with 10 % head
 * sampling: 400 traces (80 of them failing) sent over OTLP/HTTP. RED counts before sampling, so
 * `GET /api/metrics/red` gives the TRUE request and error counts — exactly, not within a
 * tolerance — while only about a tenth of the traces are stored. Also: duration quantiles
 * within the histogram's 9 %, points by step, the cardinality cap's `__other__`, the
 * Prometheus exposition, a token limited to one service, and the migration's no-backfill note.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, newTempDir, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import type { OtlpKeyValue, OtlpRequest, OtlpSpan } from './helpers/otlp-json.js';
import { postTraces } from './helpers/otlp-send.js';
import { inspectStore } from './helpers/store-inspect.js';

const TRACES = 400;
const ERROR_EVERY = 5; // 80 failing traces: 20 %
const NOISY_NAMES = 10;
const MS = 1_000_000n;
const SERVER = 2;
const CLIENT = 3;
const ERROR = 2;
const t0 = BigInt(Date.now() - 120_000) * MS;
const str = (key: string, value: string): OtlpKeyValue => ({ key, value: { stringValue: value } });
/** Well spread, reproducible trace IDs: the head sampler hashes them. */
const traceIdOf = (i: number) => createHash('sha256').update(`red-${i}`).digest('hex').slice(0, 32);
/** Root durations 1…100 ms, four times over. */
const rootMs = (i: number) => (i % 100) + 1;

const CONFIG = `
processors:
  stitch:
    decision_wait_ms: 300
  sample:
    head:
      sampling_percentage: 10
red:
  flush_interval_ms: 200
  max_operations_per_service: 3
`;

function span(traceId: string, spanId: string, parent: string, name: string, kind: number, startMs: number, endMs: number, error = false): OtlpSpan {
  return {
    traceId,
    spanId,
    parentSpanId: parent,
    name,
    kind,
    startTimeUnixNano: String(t0 + BigInt(startMs) * MS),
    endTimeUnixNano: String(t0 + BigInt(endMs) * MS),
    ...(error ? { status: { code: ERROR, message: 'card declined' } } : {}),
  };
}

/** shop GET /checkout (root; fails every 5th) → shop POST /charge client → billing POST /charge server. */
function trace(i: number): Record<string, OtlpSpan[]> {
  const id = traceIdOf(i);
  const ms = rootMs(i);
  return {
    shop: [span(id, 'a'.repeat(16), '', 'GET /checkout', SERVER, 0, ms, i % ERROR_EVERY === 0), span(id, 'b'.repeat(16), 'a'.repeat(16), 'POST /charge', CLIENT, 0, ms)],
    billing: [span(id, 'c'.repeat(16), 'b'.repeat(16), 'POST /charge', SERVER, 0, ms)],
  };
}

function request(byService: Record<string, OtlpSpan[]>): OtlpRequest {
  return {
    resourceSpans: Object.entries(byService).map(([service, spans]) => ({
      resource: { attributes: [str('service.name', service)] },
      scopeSpans: [{ scope: { name: 'red-e2e' }, spans }],
    })),
  };
}

interface Point {
  service: string;
  operation: string;
  spanKind: string;
  startTimeUnixNano: string;
  seconds: number;
  requests: number;
  errors: number;
  rate: number;
  errorRatio: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  minMs: number;
  maxMs: number;
}
interface Answer {
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  stepSeconds: number;
  points: Point[];
  error?: string;
}

let c: RunningCollector;
let admin: string;
let billingOnly: string;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function red(query: string, token?: string): Promise<{ status: number; body: Answer }> {
  const res = await fetch(`${c.apiUrl}/api/metrics/red${query}`, { headers: token ? bearer(token) : {} });
  return { status: res.status, body: (await res.json()) as Answer };
}

async function scrape(token: string): Promise<string> {
  const res = await fetch(`${c.apiUrl}/api/metrics/red/prometheus`, { headers: bearer(token) });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return res.text();
}

async function storedRoots(): Promise<number> {
  const res = await fetch(`${c.apiUrl}/api/sql`, {
    method: 'POST',
    headers: { ...bearer(admin), 'content-type': 'application/json' },
    body: JSON.stringify({ query: "SELECT count() AS n FROM otel_traces WHERE SpanName = 'GET /checkout'" }),
  });
  expect(res.status).toBe(200);
  return Number(((await res.json()) as { rows: Array<{ n: string | number }> }).rows[0]!.n);
}

const find = (a: Answer, service: string, operation: string, kind: string) => a.points.find((p) => p.service === service && p.operation === operation && p.spanKind === kind);

beforeAll(async () => {
  const tokenFile = join(newTempDir('ft-red-boot-'), 'admin.token');
  c = await startCollector({ config: CONFIG, args: ['--api', '0.0.0.0:0', '--bootstrap-token-file', tokenFile] });
  c.apiUrl = c.apiUrl.replace('0.0.0.0', '127.0.0.1');
  admin = readFileSync(tokenFile, 'utf8').trim();
  const res = await fetch(`${c.apiUrl}/api/tokens`, {
    method: 'POST',
    headers: { ...bearer(admin), 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'billing-only', scopes: ['read'], services: ['billing'] }),
  });
  expect(res.status).toBe(201);
  billingOnly = ((await res.json()) as { token: string }).token;

  // 50 traces a request; then one service with more operation names than the cap (3) allows.
  for (let from = 0; from < TRACES; from += 50) {
    const batch: Record<string, OtlpSpan[]> = { shop: [], billing: [] };
    for (let i = from; i < from + 50; i++) for (const [service, spans] of Object.entries(trace(i))) batch[service]!.push(...spans);
    expect(await postTraces(c.httpEndpoint, JSON.stringify(request(batch)), 'application/json')).toMatchObject({ status: 200, rejected: 0 });
  }
  const noisy = Array.from({ length: NOISY_NAMES }, (_, i) => span(traceIdOf(10_000 + i), 'd'.repeat(16), '', `GET /users/${i}`, SERVER, 0, 5));
  expect(await postTraces(c.httpEndpoint, JSON.stringify(request({ noisy })), 'application/json')).toMatchObject({ status: 200, rejected: 0 });

  await waitFor(async () => {
    const { body } = await red('', admin);
    const noisyTotal = body.points.filter((p) => p.service === 'noisy').reduce((s, p) => s + p.requests, 0);
    return find(body, 'shop', 'GET /checkout', 'Server')?.requests === TRACES && find(body, 'billing', 'POST /charge', 'Server')?.requests === TRACES && noisyTotal === NOISY_NAMES ? true : undefined;
  }, 'RED to count every span sent');
}, 180_000);
afterAll(cleanup);

describe('GET /api/metrics/red', () => {
  it('counts every request and error, though only about 10 % of the traces are stored', async () => {
    const { status, body } = await red('', admin);
    expect(status).toBe(200);
    const checkout = find(body, 'shop', 'GET /checkout', 'Server')!;
    expect(checkout.requests).toBe(TRACES);
    expect(checkout.errors).toBe(TRACES / ERROR_EVERY);
    expect(checkout.errorRatio).toBe(0.2);
    expect(checkout.rate).toBeCloseTo(TRACES / checkout.seconds, 9);
    expect(find(body, 'shop', 'POST /charge', 'Client')).toMatchObject({ requests: TRACES, errors: 0 });
    expect(find(body, 'billing', 'POST /charge', 'Server')).toMatchObject({ requests: TRACES, errors: 0 });
    // Sampling did run: the stored traces are a sample (binomial, 400 × 10 %: 40 ± 6).
    const stored = await waitFor(async () => {
      const n = await storedRoots();
      return n > 0 ? n : undefined;
    }, 'sampled traces to be stored');
    expect(stored).toBeGreaterThan(10);
    expect(stored).toBeLessThan(100);
  });

  it('gives duration quantiles within 9 % of the exact ones', async () => {
    const checkout = find((await red('?service=shop&spanKind=Server', admin)).body, 'shop', 'GET /checkout', 'Server')!;
    // Durations 1…100 ms, four times each: exact p50 50 ms, p90 90 ms, p99 99 ms.
    expect(Math.abs(checkout.p50Ms - 50) / 50).toBeLessThanOrEqual(0.09);
    expect(Math.abs(checkout.p90Ms - 90) / 90).toBeLessThanOrEqual(0.09);
    expect(Math.abs(checkout.p99Ms - 99) / 99).toBeLessThanOrEqual(0.09);
    expect(checkout.minMs).toBe(1);
    expect(checkout.maxMs).toBe(100);
  });

  it('splits the window into points by step, which add up to the whole', async () => {
    const { status, body } = await red('?service=shop&operation=GET%20%2Fcheckout&lookback=30m&step=5m', admin);
    expect(status).toBe(200);
    expect(body.stepSeconds).toBe(300);
    expect(body.points.every((p) => p.operation === 'GET /checkout' && p.seconds <= 300)).toBe(true);
    expect(body.points.reduce((s, p) => s + p.requests, 0)).toBe(TRACES);
    expect(body.points.reduce((s, p) => s + p.errors, 0)).toBe(TRACES / ERROR_EVERY);
    // Outside the window: nothing.
    const before = await red(`?start=${encodeURIComponent(new Date(Date.now() - 7_200_000).toISOString())}&lookback=1h&end=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}`, admin);
    expect(before.body.points).toEqual([]);
  });

  it('counts operations beyond the per-service cap under __other__', async () => {
    const noisy = (await red('?service=noisy', admin)).body.points;
    expect(noisy.map((p) => p.operation).sort()).toEqual(['GET /users/0', 'GET /users/1', 'GET /users/2', '__other__']);
    expect(noisy.find((p) => p.operation === '__other__')!.requests).toBe(NOISY_NAMES - 3);
  });

  it('shows a token limited to one service only that service', async () => {
    const { status, body } = await red('', billingOnly);
    expect(status).toBe(200);
    expect(body.points.length).toBeGreaterThan(0);
    expect(body.points.every((p) => p.service === 'billing')).toBe(true);
    expect((await red('?service=shop', billingOnly)).body.points).toEqual([]);
  });

  it('refuses callers without a token and bad parameters, naming the parameter', async () => {
    expect((await red('')).status).toBe(401);
    const cases: Array<[string, RegExp]> = [
      ['?step=90s', /^step: must be a whole number of minutes/],
      ['?step=1m&start=2026-01-01T00:00:00Z&end=2026-01-03T00:00:00Z', /^step: at most 1440 points per series; use a step of at least 2m for this window$/],
      ['?lookback=800h', /^lookback: the window is at most 31 days/],
      ['?spanKind=server', /^spanKind: expected one of Unspecified, Internal, Server, Client, Producer, Consumer/],
      ['?limit=0', /^limit:/],
    ];
    for (const [query, message] of cases) {
      const { status, body } = await red(query, admin);
      expect(status, query).toBe(400);
      expect(body.error, query).toMatch(message);
    }
  });
});

describe('GET /api/metrics/red/prometheus', () => {
  it('exposes the same true counts as Prometheus counters and histograms', async () => {
    const text = await scrape(admin);
    const checkout = 'service="shop",operation="GET /checkout",span_kind="Server"';
    expect(text).toContain(`flowtrace_red_requests_total{${checkout}} ${TRACES}`);
    expect(text).toContain(`flowtrace_red_errors_total{${checkout}} ${TRACES / ERROR_EVERY}`);
    // 1…100 ms four times over: 4 at or under 1 ms, 40 under 10 ms, all under 250 ms.
    expect(text).toContain(`flowtrace_red_duration_seconds_bucket{${checkout},le="0.001"} 4`);
    expect(text).toContain(`flowtrace_red_duration_seconds_bucket{${checkout},le="0.01"} 40`);
    expect(text).toContain(`flowtrace_red_duration_seconds_bucket{${checkout},le="0.25"} ${TRACES}`);
    expect(text).toContain(`flowtrace_red_duration_seconds_count{${checkout}} ${TRACES}`);
  });

  it('shows a token limited to one service only that service', async () => {
    const text = await scrape(billingOnly);
    expect(text).toContain(`flowtrace_red_requests_total{service="billing",operation="POST /charge",span_kind="Server"} ${TRACES}`);
    expect(text).not.toContain('service="shop"');
    expect(text).not.toContain('service="noisy"');
  });
});

describe('migration', () => {
  // Last: stops the collector to read its store with full rights, then restarts it on the same data.
  it('creates flowtrace_red with its TTL, says it backfills nothing, keeps what was counted and follows a new retention', async () => {
    expect(c.logs.join('')).toContain('flowtrace_red created: RED metrics are counted from now on; spans stored before are not backfilled');
    expect(await c.stop()).toBe(0);
    const [tables, sums] = await inspectStore<Record<string, string | number>>(c.dataDir, [
      "SELECT engine, engine_full FROM system.tables WHERE name = 'flowtrace_red'",
      "SELECT sum(Requests) AS requests, sum(Errors) AS errors FROM flowtrace_red WHERE ServiceName = 'shop' AND Operation = 'GET /checkout'",
    ]);
    expect(tables![0]!.engine).toBe('AggregatingMergeTree');
    expect(tables![0]!.engine_full).toContain('TTL Minute + toIntervalDay(30)');
    expect([Number(sums![0]!.requests), Number(sums![0]!.errors)]).toEqual([TRACES, TRACES / ERROR_EVERY]);

    const again = await startCollector({ dataDir: c.dataDir, config: `${CONFIG}  retention_days: 7\n` });
    expect(again.logs.join('')).not.toContain('flowtrace_red created');
    expect(await again.stop()).toBe(0);
    const [after] = await inspectStore<{ engine_full: string }>(c.dataDir, ["SELECT engine_full FROM system.tables WHERE name = 'flowtrace_red'"]);
    expect(after![0]!.engine_full).toContain('TTL Minute + toIntervalDay(7)');
  }, 120_000);
});
