import { describe, expect, it } from 'vitest';
import { apiPaths, mapQuery, mapStateOf, rangeOf, servicePagePath, stepOf } from './range';

describe('service page URL state', () => {
  it('reads the range and selected node, falling back to the defaults for anything else', () => {
    expect(mapStateOf(new URLSearchParams('range=6h&node=checkout'))).toEqual({ range: '6h', node: 'checkout' });
    expect(mapStateOf(new URLSearchParams('range=7d&node='))).toEqual({ range: '1h', node: undefined });
    expect(rangeOf(new URLSearchParams(''))).toBe('1h');
  });

  it('writes only what differs from the defaults, and round-trips', () => {
    expect(mapQuery({ range: '1h', node: undefined }).toString()).toBe('');
    const query = mapQuery({ range: '24h', node: 'a b/c' });
    expect(query.toString()).toBe('range=24h&node=a+b%2Fc');
    expect(mapStateOf(query)).toEqual({ range: '24h', node: 'a b/c' });
  });

  it('links to a service page keeping the range, its name encoded', () => {
    expect(servicePagePath('orders', '1h')).toBe('/services/orders');
    expect(servicePagePath('a/b?c', '15m')).toBe('/services/a%2Fb%3Fc?range=15m');
  });
});

describe('API calls of a range', () => {
  it('asks for whole-minute steps with at most 96 points', () => {
    expect([stepOf('15m'), stepOf('1h'), stepOf('6h'), stepOf('24h')]).toEqual(['1m', '1m', '5m', '15m']);
  });

  it('builds each call with the range as lookback and the service encoded', () => {
    expect(apiPaths.graph('6h')).toBe('/api/service-graph?lookback=6h&limit=10000');
    expect(apiPaths.redTotals('1h')).toBe('/api/metrics/red?lookback=1h&limit=10000');
    expect(apiPaths.redTotals('1h', 'a&b')).toBe('/api/metrics/red?service=a%26b&lookback=1h&limit=10000');
    expect(apiPaths.redSeries('24h', 'orders')).toBe('/api/metrics/red?service=orders&lookback=24h&step=15m&limit=10000');
    expect(apiPaths.anomalies('6h', 'orders')).toBe('/api/anomalies?service=orders&lookback=6h&window=5m');
    expect(apiPaths.hotspots('15m', 'orders')).toBe('/api/hotspots?service=orders&lookback=15m&limit=10');
    expect(apiPaths.traces('1h', 'orders', false)).toBe('/api/traces?service=orders&lookback=1h&limit=500');
    expect(apiPaths.traces('1h', 'orders', true)).toBe('/api/traces?service=orders&lookback=1h&limit=10&errorsOnly=true');
  });
});
