import { describe, expect, it } from 'vitest';
import { anomalyBands, operationSeries, serviceSeries, timeGrid, topOperations } from './red-series';
import type { Anomaly, RedAnswer, RedPoint } from './types';

const S = 1_000_000_000n;
const ns = (s: number) => (BigInt(s) * S).toString();
const T0 = 1_800_000_000 - (1_800_000_000 % 60);

function point(operation: string, spanKind: string, startS: number, requests: number, errors: number, p99Ms: number, service = 'orders'): RedPoint {
  return {
    service,
    operation,
    spanKind,
    startTimeUnixNano: ns(startS),
    seconds: 60,
    requests,
    errors,
    rate: requests / 60,
    errorRatio: requests === 0 ? 0 : errors / requests,
    avgMs: p99Ms / 2,
    minMs: 1,
    maxMs: p99Ms,
    p50Ms: p99Ms / 4,
    p90Ms: p99Ms / 2,
    p99Ms,
  };
}

const answer = (points: RedPoint[], steps = 5): RedAnswer => ({ startTimeUnixNano: ns(T0), endTimeUnixNano: ns(T0 + steps * 60), stepSeconds: 60, points });

describe('timeGrid', () => {
  it('lists every step start of the window', () => {
    expect(timeGrid(answer([], 3))).toEqual([T0, T0 + 60, T0 + 120]);
  });

  it('is one point for a window without a step, and never runs away', () => {
    expect(timeGrid({ startTimeUnixNano: ns(T0), endTimeUnixNano: ns(T0 + 600), stepSeconds: 0 })).toEqual([T0]);
    expect(timeGrid({ startTimeUnixNano: ns(0), endTimeUnixNano: ns(10_000_000), stepSeconds: 60 })).toHaveLength(1440);
  });
});

describe('operationSeries', () => {
  it('lays each operation on the full grid, busiest first, with gaps where there was no request', () => {
    const series = operationSeries(
      answer([point('GET /a', 'Server', T0, 60, 6, 100), point('GET /a', 'Server', T0 + 120, 120, 0, 50), point('SELECT', 'Client', T0 + 60, 30, 0, 5), point('GET /a', 'Client', T0, 600, 0, 1)]),
    );
    expect(series.map((s) => [s.operation, s.spanKind, s.requests])).toEqual([
      ['GET /a', 'Client', 600],
      ['GET /a', 'Server', 180],
      ['SELECT', 'Client', 30],
    ]);
    const server = series[1]!;
    expect(server.x).toEqual([T0, T0 + 60, T0 + 120, T0 + 180, T0 + 240]);
    expect(server.rate).toEqual([1, 0, 2, 0, 0]);
    expect(server.errorPct).toEqual([10, null, 0, null, null]);
    expect(server.p99Ms).toEqual([100, null, 50, null, null]);
    expect(server.p50Ms).toEqual([25, null, 12.5, null, null]);
    expect(server.errors).toBe(6);
  });

  it('drops points off the grid rather than misplacing them', () => {
    const [s] = operationSeries(answer([point('x', 'Server', T0 + 30, 6, 0, 1), point('x', 'Server', T0 + 60, 6, 0, 1)]));
    expect(s!.rate).toEqual([0, 0.1, 0, 0, 0]);
    expect(s!.requests).toBe(6);
  });
});

describe('serviceSeries', () => {
  it('sums the served requests per step, and takes the slowest operation for latency', () => {
    const s = serviceSeries(answer([point('GET /a', 'Server', T0, 60, 6, 100), point('GET /b', 'Server', T0, 60, 0, 400), point('SELECT', 'Client', T0, 6000, 6000, 9000)]));
    expect(s.requests).toBe(120);
    expect(s.errors).toBe(6);
    expect(s.rate[0]).toBe(2);
    expect(s.errorPct[0]).toBe(5);
    expect(s.p99Ms[0]).toBe(400);
    expect(s.p50Ms[0]).toBe(100);
    expect(s.rate.slice(1)).toEqual([0, 0, 0, 0]);
    expect(s.p99Ms.slice(1)).toEqual([null, null, null, null]);
  });

  it('uses every kind for a service that serves nothing', () => {
    const s = serviceSeries(answer([point('tick', 'Internal', T0 + 60, 30, 3, 10)]));
    expect([s.requests, s.errors, s.rate[1], s.errorPct[1], s.spanKind]).toEqual([30, 3, 0.5, 10, '']);
  });

  it('is all gaps without points', () => {
    const s = serviceSeries(answer([], 2));
    expect([s.requests, s.rate, s.errorPct, s.p99Ms]).toEqual([0, [0, 0], [null, null], [null, null]]);
  });
});

describe('topOperations', () => {
  it('lists what the service serves, or every kind when it serves nothing', () => {
    const points = [point('GET /a', 'Server', T0, 5, 0, 1), point('SELECT', 'Client', T0, 500, 0, 1), point('tick', 'Internal', T0, 9, 0, 1, 'cron'), point('q', 'Consumer', T0, 7, 0, 1)];
    expect(topOperations(points, 'orders', 10).map((o) => o.operation)).toEqual(['q', 'GET /a']);
    expect(topOperations(points, 'cron', 10).map((o) => o.operation)).toEqual(['tick']);
  });

  it("lists the service's operations with traffic, busiest first, at most the limit", () => {
    const points = [point('a', 'Server', T0, 10, 1, 5), point('b', 'Server', T0, 50, 0, 9), point('c', 'Server', T0, 0, 0, 0), point('d', 'Server', T0, 99, 0, 1, 'other'), point('e', 'Server', T0, 10, 0, 50)];
    expect(topOperations(points, 'orders', 10).map((o) => o.operation)).toEqual(['b', 'e', 'a']);
    expect(topOperations(points, 'orders', 1)).toEqual([{ operation: 'b', spanKind: 'Server', requests: 50, rate: 50 / 60, errorRatio: 0, p50Ms: 2.25, p99Ms: 9 }]);
  });
});

describe('anomalyBands', () => {
  const anomaly = (operation: string, metric: Anomaly['metric'], startS: number, current: number, median: number): Anomaly => ({
    service: 'orders',
    operation,
    spanKind: 'Server',
    metric,
    startTimeUnixNano: ns(startS),
    seconds: 300,
    requests: 100,
    errors: 5,
    current,
    baseline: { median, mad: 1, windows: 12 },
    score: 12.345,
    exampleTraceIds: ['t1'],
  });
  const found = [anomaly('GET /a', 'error_rate', T0 + 300, 0.25, 0.01), anomaly('GET /a', 'latency_p99', T0, 950, 40), anomaly('GET /b', 'latency_p99', T0, 10, 1)];

  it("marks one operation's windows, oldest first, saying what rose and from what", () => {
    expect(anomalyBands(found, 'GET /a', 'Server')).toEqual([
      { from: T0, to: T0 + 300, metric: 'latency_p99', label: 'p99 950 ms against a usual 40 ms (score 12.3)', exampleTraceIds: ['t1'] },
      { from: T0 + 300, to: T0 + 600, metric: 'error_rate', label: 'errors 25 % against a usual 1 % (score 12.3)', exampleTraceIds: ['t1'] },
    ]);
    expect(anomalyBands(found, 'GET /a', 'Client')).toEqual([]);
  });

  it('marks every operation for a whole service, naming each', () => {
    expect(anomalyBands(found, '', '').map((b) => b.label)).toEqual([
      'GET /a: p99 950 ms against a usual 40 ms (score 12.3)',
      'GET /b: p99 10 ms against a usual 1 ms (score 12.3)',
      'GET /a: errors 25 % against a usual 1 % (score 12.3)',
    ]);
  });
});
