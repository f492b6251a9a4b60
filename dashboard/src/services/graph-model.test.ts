import { describe, expect, it } from 'vitest';
import { buildServiceMap, edgeId, edgeLabel, edgeWidth, errorBand, formatMs, formatPercent, formatRate, NODE_MAX_PX, NODE_MIN_PX, neighbours, nodeSize } from './graph-model';
import type { GraphEdge, RedPoint } from './types';

const edge = (caller: string, callee: string, operation: string, calls: number, errors: number, p99Ms: number): GraphEdge => ({
  caller,
  callee,
  operation,
  calls,
  errors,
  avgMs: p99Ms / 2,
  p50Ms: p99Ms / 3,
  p90Ms: p99Ms / 1.5,
  p99Ms,
});

const red = (service: string, spanKind: string, requests: number, errors: number): RedPoint => ({
  service,
  operation: 'op',
  spanKind,
  startTimeUnixNano: '0',
  seconds: 3600,
  requests,
  errors,
  rate: requests / 3600,
  errorRatio: requests === 0 ? 0 : errors / requests,
  avgMs: 1,
  minMs: 1,
  maxMs: 1,
  p50Ms: 1,
  p90Ms: 1,
  p99Ms: 1,
});

describe('buildServiceMap', () => {
  const edges = [
    edge('gateway', 'orders', 'POST /orders', 90, 9, 120),
    edge('gateway', 'orders', 'GET /orders', 10, 0, 300),
    edge('orders', 'payments', 'POST /pay', 50, 0, 80),
  ];

  it('sums the operations of a pair, keeps the slowest p99, and bands its error rate', () => {
    const { edges: pairs } = buildServiceMap(edges, [], 3600);
    expect(pairs.map((e) => [e.caller, e.callee, e.calls, e.errors, e.p99Ms, e.band])).toEqual([
      ['gateway', 'orders', 100, 9, 300, 'high'],
      ['orders', 'payments', 50, 0, 80, 'none'],
    ]);
    expect(pairs[0]!.errorRatio).toBeCloseTo(0.09);
    expect(pairs[0]!.operations.map((o) => o.operation)).toEqual(['POST /orders', 'GET /orders']);
    expect(pairs[0]!.id).toBe(edgeId('gateway', 'orders'));
  });

  it('rates a node by the requests it served (RED), else by the calls into it, else out of it', () => {
    const model = buildServiceMap(edges, [red('orders', 'Server', 360, 36), red('orders', 'Client', 5000, 0), red('batch', 'Internal', 20, 0)], 3600);
    const byName = Object.fromEntries(model.nodes.map((n) => [n.service, n]));
    expect(byName.orders).toMatchObject({ requests: 360, errors: 36, rate: 0.1, errorRatio: 0.1, callers: 1, callees: 1 });
    expect(byName.payments).toMatchObject({ requests: 50, errors: 0, callers: 1, callees: 0 });
    expect(byName.gateway).toMatchObject({ requests: 100, errors: 9, callers: 0, callees: 1 });
    // A service seen only in RED, with no served spans and no edges: a node without traffic.
    expect(byName.batch).toMatchObject({ requests: 0, rate: 0, size: NODE_MIN_PX });
    // Busiest first, the busiest at full size.
    expect(model.nodes.map((n) => n.service)).toEqual(['orders', 'gateway', 'payments', 'batch']);
    expect(byName.orders!.size).toBe(NODE_MAX_PX);
    expect(byName.gateway!.size).toBeLessThan(NODE_MAX_PX);
    expect(byName.gateway!.size).toBeGreaterThan(byName.payments!.size);
  });

  it('is empty without edges or RED', () => {
    expect(buildServiceMap([], [], 3600)).toEqual({ nodes: [], edges: [] });
  });

  it('lists the edges into and out of a service', () => {
    const model = buildServiceMap(edges, [], 3600);
    const { incoming, outgoing } = neighbours(model, 'orders');
    expect(incoming.map((e) => e.caller)).toEqual(['gateway']);
    expect(outgoing.map((e) => e.callee)).toEqual(['payments']);
  });
});

describe('sizes, bands and labels', () => {
  it('sizes nodes by the square root of the rate, within bounds', () => {
    expect(nodeSize(0, 10)).toBe(NODE_MIN_PX);
    expect(nodeSize(10, 10)).toBe(NODE_MAX_PX);
    expect(nodeSize(2.5, 10)).toBe(Math.round(NODE_MIN_PX + (NODE_MAX_PX - NODE_MIN_PX) * 0.5));
    expect(nodeSize(5, 0)).toBe(NODE_MIN_PX);
    expect(nodeSize(50, 10)).toBe(NODE_MAX_PX);
  });

  it('widens edges by the log of their calls', () => {
    expect(edgeWidth(1, 1000)).toBe(1.5);
    expect(edgeWidth(1000, 1000)).toBe(8);
    expect(edgeWidth(5, 1)).toBe(1.5);
    expect(edgeWidth(0, 100)).toBe(1.5);
  });

  it('bands error rates', () => {
    expect([0, 0.005, 0.01, 0.049, 0.05, 1].map(errorBand)).toEqual(['none', 'low', 'medium', 'medium', 'high', 'high']);
    expect(errorBand(Number.NaN)).toBe('none');
  });

  it('formats rates, percentages and milliseconds', () => {
    expect([0, 0.5, 2, 1234.5].map(formatRate)).toEqual(['0 req/s', '30 req/min', '2 req/s', '1230 req/s']);
    expect([0, 0.0012, 0.045, 1].map(formatPercent)).toEqual(['0 %', '0.12 %', '4.5 %', '100 %']);
    expect([0, 0.25, 12.345, 1500, -1].map(formatMs)).toEqual(['0 ms', '250 µs', '12.3 ms', '1.5 s', '–']);
  });

  it('labels an edge with its calls, error rate and p99', () => {
    const [pair] = buildServiceMap([edge('a', 'b', 'x', 1, 0, 12.5)], [], 60).edges;
    expect(edgeLabel(pair!)).toBe('1 call · 0 % err\np99 12.5 ms');
    const [busy] = buildServiceMap([edge('a', 'b', 'x', 40, 2, 1500)], [], 60).edges;
    expect(edgeLabel(busy!)).toBe('40 calls · 5 % err\np99 1.5 s');
  });
});
