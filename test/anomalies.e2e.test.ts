/**
 * Anomalies end to end on the real collector: nine minutes of a steady, slightly noisy
 * `GET /checkout` (30 requests a minute, 10…39 ms) then one minute at 200…229 ms, sent with
 * explicit past timestamps (RED counts a span in the minute it started, so no waiting on the
 * clock). `GET /api/anomalies` with 1m windows flags exactly that minute's p99, with the
 * baseline, score and the three slowest traces of the minute as examples; the steady operation
 * `GET /health` sent alongside is not flagged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, startCollector, waitFor, type RunningCollector } from './helpers/collector.js';
import type { OtlpKeyValue, OtlpSpan } from './helpers/otlp-json.js';
import { postTraces } from './helpers/otlp-send.js';

const MS = 1_000_000n;
const SERVER = 2;
const PER_MINUTE = 30;
const STEADY_MINUTES = 9;
/** The minute before the current one: still judged if the clock crosses a minute during the test (lookback 3m). */
const nowMinuteMs = Math.floor(Date.now() / 60_000) * 60_000;
const spikeMinuteMs = nowMinuteMs - 60_000;
const str = (key: string, value: string): OtlpKeyValue => ({ key, value: { stringValue: value } });
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

const CONFIG = `
processors:
  stitch:
    decision_wait_ms: 200
red:
  flush_interval_ms: 200
`;

function span(name: string, minuteMs: number, i: number, durationMs: number, traceNo: number): OtlpSpan {
  const start = BigInt(minuteMs + 1_000 + i * 100) * MS;
  return {
    traceId: hex(traceNo, 32),
    spanId: hex(traceNo, 16),
    parentSpanId: '',
    name,
    kind: SERVER,
    startTimeUnixNano: String(start),
    endTimeUnixNano: String(start + BigInt(durationMs) * MS),
  };
}

const spikeTraceNo = (i: number) => 1_000_000 + i;

function allSpans(): OtlpSpan[] {
  const spans: OtlpSpan[] = [];
  for (let m = STEADY_MINUTES; m >= 1; m--) {
    const minuteMs = spikeMinuteMs - m * 60_000;
    for (let i = 0; i < PER_MINUTE; i++) {
      // Noise: the slowest request of a minute is 39 ms, ±2 ms from minute to minute.
      spans.push(span('GET /checkout', minuteMs, i, 10 + i + (m % 3) - 1, m * 1_000 + i));
      spans.push(span('GET /health', minuteMs, i, 2 + (i % 3), 500_000 + m * 1_000 + i));
    }
  }
  for (let i = 0; i < PER_MINUTE; i++) {
    spans.push(span('GET /checkout', spikeMinuteMs, i, 200 + i, spikeTraceNo(i)));
    spans.push(span('GET /health', spikeMinuteMs, i, 2 + (i % 3), 600_000 + i));
  }
  return spans;
}

interface Anomaly {
  service: string;
  operation: string;
  spanKind: string;
  metric: string;
  startTimeUnixNano: string;
  seconds: number;
  requests: number;
  current: number;
  baseline: { median: number; mad: number; windows: number };
  score: number;
  exampleTraceIds: string[];
}

let c: RunningCollector;

beforeAll(async () => {
  c = await startCollector({ config: CONFIG });
  const body = { resourceSpans: [{ resource: { attributes: [str('service.name', 'shop')] }, scopeSpans: [{ scope: { name: 'anomalies-e2e' }, spans: allSpans() }] }] };
  expect(await postTraces(c.httpEndpoint, JSON.stringify(body), 'application/json')).toMatchObject({ status: 200, rejected: 0 });
}, 60_000);

afterAll(cleanup);

async function anomalies(query: string): Promise<{ status: number; body: { anomalies: Anomaly[]; error?: string; windowSeconds: number } }> {
  const res = await fetch(`${c.apiUrl}/api/anomalies${query}`);
  return { status: res.status, body: (await res.json()) as { anomalies: Anomaly[]; error?: string; windowSeconds: number } };
}

describe('GET /api/anomalies', () => {
  it('flags the latency spike with its evidence and the slowest traces as examples', async () => {
    const query = '?service=shop&window=1m&lookback=3m&baseline=6&minRequests=20';
    // Wait until the spike's RED rows and its stored spans are both readable.
    const found = await waitFor(async () => {
      const { status, body } = await anomalies(query);
      expect(status).toBe(200);
      const a = body.anomalies.find((x) => x.operation === 'GET /checkout');
      return a && a.exampleTraceIds.length === 3 ? body : undefined;
    }, 'the spike flagged with three example traces');
    expect(found.windowSeconds).toBe(60);
    expect(found.anomalies).toHaveLength(1);
    const [a] = found.anomalies;
    expect(a).toMatchObject({
      service: 'shop',
      operation: 'GET /checkout',
      spanKind: 'Server',
      metric: 'latency_p99',
      startTimeUnixNano: String(BigInt(spikeMinuteMs) * MS),
      seconds: 60,
      requests: PER_MINUTE,
      baseline: { windows: 6 },
    });
    // p99 of 200…229 ms and of 10…40 ms, each within the histogram's ~9 %.
    expect(a!.current).toBeGreaterThan(229 * 0.9);
    expect(a!.current).toBeLessThan(229 * 1.1);
    expect(a!.baseline.median).toBeGreaterThan(38 * 0.9);
    expect(a!.baseline.median).toBeLessThan(40 * 1.1);
    expect(a!.score).toBeGreaterThanOrEqual(5);
    expect(a!.exampleTraceIds).toEqual([29, 28, 27].map((i) => hex(spikeTraceNo(i), 32)));
  });

  it('flags nothing with a threshold above the spike', async () => {
    const { status, body } = await anomalies('?service=shop&window=1m&lookback=3m&baseline=6&threshold=100');
    expect(status).toBe(200);
    expect(body.anomalies).toEqual([]);
  });

  it('skips windows below minRequests', async () => {
    const { body } = await anomalies('?service=shop&window=1m&lookback=3m&baseline=6&minRequests=31');
    expect(body.anomalies).toEqual([]);
  });

  it('refuses bad knobs with a 400 naming the parameter', async () => {
    for (const [query, message] of [
      ['?window=90s', /^window: must be a whole number of minutes/],
      ['?window=2h', /^window: at most 1h/],
      ['?window=5m&lookback=1m', /^lookback: at least one window/],
      ['?baseline=2', /^baseline: expected a number from 4 to 100/],
      ['?threshold=abc', /^threshold: expected a number/],
      ['?minRequests=1.5', /^minRequests: expected a whole number/],
    ] as const) {
      const { status, body } = await anomalies(query);
      expect(status, query).toBe(400);
      expect(body.error, query).toMatch(message);
    }
  });
});
