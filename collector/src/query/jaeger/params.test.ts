import { describe, expect, it } from 'vitest';
import { QueryParamError } from '../params.js';
import { DEFAULT_SEARCH_LIMIT, parseDependencies, parseOperations, parseRaw, parseSearch } from './params.js';

const NOW_NS = 1_700_000_000_000_000_000n;
const HOUR_NS = 3_600_000_000_000n;

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof QueryParamError) return err.message;
    throw err; // anything else would be a 500
  }
  throw new Error('accepted');
}

describe('Jaeger query parameters', () => {
  it("raw: Go's ParseBool, with Jaeger's message for anything else", () => {
    for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) expect(parseRaw(t), t).toBe(true);
    for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False', '', undefined]) expect(parseRaw(f), String(f)).toBe(false);
    expect(refusal(() => parseRaw('yes'))).toBe(`unable to parse param 'raw': strconv.ParseBool: parsing "yes": invalid syntax`);
    expect(refusal(() => parseRaw(['true', 'true']))).toMatch(/^raw: expected one value/);
    expect(parseSearch({ service: 's', raw: 'true' }, NOW_NS).raw).toBe(true);
  });

  it('search: Jaeger defaults (2 days back, 100 traces) and every condition', () => {
    expect(parseSearch({ service: 's' }, NOW_NS)).toEqual({
      traceIds: [],
      service: 's',
      operation: undefined,
      tags: [],
      minDurationNs: undefined,
      maxDurationNs: undefined,
      startNs: NOW_NS - 48n * HOUR_NS,
      endNs: NOW_NS,
      limit: DEFAULT_SEARCH_LIMIT,
      raw: false,
    });
    expect(
      parseSearch(
        { service: 's', operation: 'GET /', tags: '{"a":"1"}', tag: ['b:2:3', 'c:'], minDuration: '1.2s', maxDuration: '2s', start: '1000', end: '2000', limit: '5' },
        NOW_NS,
      ),
    ).toMatchObject({ operation: 'GET /', tags: [['a', '1'], ['b', '2:3'], ['c', '']], minDurationNs: 1_200_000_000n, maxDurationNs: 2_000_000_000n, startNs: 1_000_000n, endNs: 2_000_000n, limit: 5 });
  });

  it('search: logfmt tags, lookback as a duration, and the UI\'s lookback=custom beside start/end', () => {
    expect(parseSearch({ service: 's', tags: 'a=1 b="two words"' }, NOW_NS).tags).toEqual([['a', '1'], ['b', 'two words']]);
    expect(parseSearch({ service: 's', lookback: '1h' }, NOW_NS).startNs).toBe(NOW_NS - HOUR_NS);
    expect(parseSearch({ service: 's', lookback: 'custom', start: '5', end: '6' }, NOW_NS)).toMatchObject({ startNs: 5000n, endNs: 6000n });
  });

  it('search by trace IDs needs no service', () => {
    expect(parseSearch({ traceID: ['A'.repeat(32), 'b'.repeat(16)] }, NOW_NS).traceIds).toEqual(['a'.repeat(32), `${'0'.repeat(16)}${'b'.repeat(16)}`]);
  });

  it.each([
    [{}, "parameter 'service' is required"],
    [{ service: 's', minDuration: 'fast' }, /^minDuration: /],
    [{ service: 's', minDuration: '2s', maxDuration: '1s' }, "'maxDuration' should be greater than 'minDuration'"],
    [{ service: 's', tag: 'nocolon' }, /^tag: expected key:value/],
    [{ service: 's', tag: ':v' }, /^tag: expected key:value/],
    [{ service: 's', tags: '{"a":' }, /^tags: /],
    [{ service: 's', limit: '1001' }, /^limit: /],
    [{ service: 's', limit: '0' }, /^limit: /],
    [{ service: 's', start: 'yesterday' }, /^start: /],
    [{ service: 's', start: '10', end: '5' }, /^start: must not be after end/],
    [{ service: 's', lookback: 'ages' }, /^lookback: /],
    [{ service: ['a', 'b'] }, /^service: expected one value/],
    [{ traceID: 'xyz' }, /^trace ID: /],
    [{ service: 's', tag: Array.from({ length: 51 }, (_, i) => `k${i}:v`) }, /^tags: at most 50/],
  ])('search refuses %j', (q, message) => {
    const got = refusal(() => parseSearch(q as Record<string, unknown>, NOW_NS));
    if (typeof message === 'string') expect(got).toBe(message);
    else expect(got).toMatch(message);
  });

  it('operations: service required, span kind one of Jaeger\'s names', () => {
    expect(parseOperations({ service: 's', spanKind: 'server' })).toEqual({ service: 's', spanKind: 'server' });
    expect(parseOperations({ service: 's' })).toEqual({ service: 's', spanKind: undefined });
    expect(refusal(() => parseOperations({}))).toBe("parameter 'service' is required");
    expect(refusal(() => parseOperations({ service: 's', spanKind: 'SERVER' }))).toMatch(/^spanKind: expected one of/);
  });

  it('dependencies: endTs and lookback in milliseconds, a day back by default', () => {
    expect(parseDependencies({}, NOW_NS)).toEqual({ startNs: NOW_NS - 24n * HOUR_NS, endNs: NOW_NS, service: undefined });
    expect(parseDependencies({ endTs: '5000', lookback: '1000', service: 's' }, NOW_NS)).toEqual({ startNs: 4_000_000_000n, endNs: 5_000_000_000n, service: 's' });
    expect(parseDependencies({ endTs: '5', lookback: '10' }, NOW_NS).startNs).toBe(0n);
    for (const bad of [{ endTs: 'soon' }, { lookback: '-1' }, { endTs: '1.5' }, { endTs: '99999999999999999' }]) {
      expect(refusal(() => parseDependencies(bad, NOW_NS))).toMatch(/^(endTs|lookback): /);
    }
  });
});
