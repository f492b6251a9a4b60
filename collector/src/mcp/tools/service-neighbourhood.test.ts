import { describe, expect, it } from 'vitest';
import type { ServiceGraphEdge } from '../../query/stitch-routes.js';
import { neighbourhood } from './service-neighbourhood.js';

const edge = (caller: string, callee: string, calls: number): ServiceGraphEdge => ({ caller, callee, operation: `${callee}-op`, calls, errors: 0, avgMs: 1, p50Ms: 1, p90Ms: 1, p99Ms: 1 });

// web → api → orders → db; api → users; batch → orders; an unrelated pair x → y.
const graph = [edge('web', 'api', 100), edge('api', 'orders', 80), edge('orders', 'db', 300), edge('api', 'users', 20), edge('batch', 'orders', 5), edge('x', 'y', 1000)];

describe('neighbourhood', () => {
  it('one hop: the edges touching the service, both directions, busiest first', () => {
    expect(neighbourhood(graph, 'orders', 1).map((n) => `${n.hop}:${n.edge.caller}>${n.edge.callee}`)).toEqual(['1:orders>db', '1:api>orders', '1:batch>orders']);
  });

  it('two hops walks on from every service reached, never into unrelated parts', () => {
    expect(neighbourhood(graph, 'orders', 2).map((n) => `${n.hop}:${n.edge.caller}>${n.edge.callee}`)).toEqual([
      '1:orders>db',
      '1:api>orders',
      '1:batch>orders',
      '2:web>api',
      '2:api>users',
    ]);
  });

  it('an unknown service has no neighbourhood', () => {
    expect(neighbourhood(graph, 'nope', 3)).toEqual([]);
  });
});
