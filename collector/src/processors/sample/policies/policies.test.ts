import { describe, expect, it } from 'vitest';
import { StatusCode } from '../../../model/span.js';
import { ALWAYS_SAMPLE, probabilityToThreshold } from '../consistent-probability.js';
import { policySchema, type PolicyConfig } from '../config.js';
import { resource, span, trace, traceIds, traceIdWithRandomness, view } from '../sample-fixtures.js';
import { buildPolicy } from './build.js';
import { allocateRates, orderPolicies } from './combinators.js';
import { CorrelationIdPolicy } from './correlation-id.js';
import { NOT_SAMPLED, SAMPLED, type Policy } from './policy.js';
import { TokenBucket } from './rate-limiting.js';

/** A policy from config as a user writes it (validated, defaults applied). */
function policy(config: unknown): Policy {
  return buildPolicy(policySchema.parse(config) as PolicyConfig);
}

const T = traceIdWithRandomness('80000000000000');
const kept = (p: Policy, spans = trace(T), nowMs = 0) => p.evaluate(view(spans), nowMs) !== NOT_SAMPLED;

describe('always_sample', () => {
  it('keeps every trace deterministically', () => {
    expect(policy({ name: 'all', type: 'always_sample' }).evaluate(view(trace(T)), 0)).toBe(SAMPLED);
  });
});

describe('probabilistic', () => {
  it('keeps by trace randomness against the consistent threshold, returning that threshold', () => {
    const p = policy({ name: 'p', type: 'probabilistic', probabilistic: { sampling_percentage: 25 } });
    expect(p.evaluate(view(trace(traceIdWithRandomness('c0000000000000'))), 0)).toBe('c0000000000000');
    expect(p.evaluate(view(trace(traceIdWithRandomness('bfffffffffffff'))), 0)).toBe(NOT_SAMPLED);
    // rv in a span's tracestate wins over the trace ID.
    expect(kept(p, trace(traceIdWithRandomness('00000000000000'), { traceState: 'ot=rv:ffffffffffffff' }))).toBe(true);
  });

  it('keeps about the fraction asked for, nothing at 0 %', () => {
    const p = policy({ name: 'p', type: 'probabilistic', probabilistic: { sampling_percentage: 1 } });
    const n = traceIds(50_000, 3).filter((id) => kept(p, [span(id)])).length;
    expect(n).toBeGreaterThan(400);
    expect(n).toBeLessThan(600);
    const none = policy({ name: 'p', type: 'probabilistic', probabilistic: { sampling_percentage: 0 } });
    expect(kept(none, trace(traceIdWithRandomness('ffffffffffffff')))).toBe(false);
  });
});

describe('status_code', () => {
  it('keeps traces with a span of a listed status', () => {
    const errors = policy({ name: 'e', type: 'status_code', status_code: { status_codes: ['ERROR'] } });
    const failing = trace(T, { spans: 3 });
    failing[2]!.statusCode = StatusCode.ERROR;
    expect(kept(errors, failing)).toBe(true);
    expect(kept(errors, trace(T, { spans: 3 }))).toBe(false);
    const okOrUnset = policy({ name: 'o', type: 'status_code', status_code: { status_codes: ['OK', 'UNSET'] } });
    expect(kept(okOrUnset, trace(T))).toBe(true);
    expect(kept(okOrUnset, trace(T, { status: StatusCode.ERROR }))).toBe(false);
  });
});

describe('latency', () => {
  it('measures the trace from earliest start to latest end', () => {
    const slow = policy({ name: 'l', type: 'latency', latency: { threshold_ms: 500 } });
    expect(kept(slow, [span(T, { startMs: 0, durationMs: 100 }), span(T, { startMs: 300, durationMs: 200 })])).toBe(true); // 500 ms
    expect(kept(slow, [span(T, { startMs: 0, durationMs: 100 }), span(T, { startMs: 300, durationMs: 199 })])).toBe(false);
  });

  it('with an upper bound keeps more than threshold_ms and at most upper_threshold_ms', () => {
    const band = policy({ name: 'l', type: 'latency', latency: { threshold_ms: 100, upper_threshold_ms: 200 } });
    expect(kept(band, [span(T, { durationMs: 100 })])).toBe(false);
    expect(kept(band, [span(T, { durationMs: 150 })])).toBe(true);
    expect(kept(band, [span(T, { durationMs: 200 })])).toBe(true);
    expect(kept(band, [span(T, { durationMs: 201 })])).toBe(false);
  });

  it('can measure the root span instead, falling back to the trace without one', () => {
    const root = span(T, { durationMs: 50 });
    const asyncChild = span(T, { parent: root.spanId, startMs: 40, durationMs: 960 });
    const byRoot = policy({ name: 'l', type: 'latency', latency: { threshold_ms: 500, use_root_span: true } });
    const byTrace = policy({ name: 'l', type: 'latency', latency: { threshold_ms: 500 } });
    expect(kept(byTrace, [root, asyncChild])).toBe(true);
    expect(kept(byRoot, [root, asyncChild])).toBe(false);
    expect(kept(byRoot, [asyncChild])).toBe(true);
  });
});

describe('string_attribute', () => {
  const exact = { name: 's', type: 'string_attribute', string_attribute: { key: 'http.route', values: ['/checkout', '/pay'] } };

  it('matches exact values on span and resource attributes', () => {
    const p = policy(exact);
    expect(kept(p, [span(T), span(T, { attributes: { 'http.route': '/pay' } })])).toBe(true);
    expect(kept(p, [span(T, { attributes: { 'http.route': '/payments' } })])).toBe(false);
    const withResource = span(T);
    withResource.resource = resource('shop', { 'http.route': '/checkout' });
    expect(kept(p, [withResource])).toBe(true);
  });

  it('matches regular expressions anywhere in the value', () => {
    const p = policy({ name: 's', type: 'string_attribute', string_attribute: { key: 'http.route', values: ['^/api/v[0-9]+/orders', 'admin'], enabled_regex_matching: true } });
    expect(kept(p, [span(T, { attributes: { 'http.route': '/api/v2/orders/1' } })])).toBe(true);
    expect(kept(p, [span(T, { attributes: { 'http.route': '/x/admin/y' } })])).toBe(true);
    expect(kept(p, [span(T, { attributes: { 'http.route': '/v2/api/v2/orders' } })])).toBe(false);
  });

  it('inverted, keeps traces where nothing matches, attribute absent included', () => {
    const p = policy({ name: 's', type: 'string_attribute', string_attribute: { key: 'http.route', values: ['/health'], invert_match: true } });
    expect(kept(p, [span(T, { attributes: { 'http.route': '/health' } }), span(T)])).toBe(false);
    expect(kept(p, [span(T, { attributes: { 'http.route': '/orders' } })])).toBe(true);
    expect(kept(p, [span(T)])).toBe(true);
  });

  it('reads only string-valued attributes', () => {
    const p = policy({ name: 's', type: 'string_attribute', string_attribute: { key: 'code', values: ['500'] } });
    expect(kept(p, [span(T, { attributes: { code: '500' }, kinds: { code: 'int' } })])).toBe(false);
    expect(kept(p, [span(T, { attributes: { code: '500' } })])).toBe(true);
  });
});

describe('numeric_attribute', () => {
  const status = (value: string, kind: 'int' | 'double' | 'string' = 'int') =>
    [span(T, { attributes: { 'http.response.status_code': value }, kinds: kind === 'string' ? undefined : { 'http.response.status_code': kind } })];

  it('keeps int and double values within [min_value, max_value]', () => {
    const p = policy({ name: 'n', type: 'numeric_attribute', numeric_attribute: { key: 'http.response.status_code', min_value: 500, max_value: 599 } });
    expect(kept(p, status('500'))).toBe(true);
    expect(kept(p, status('599'))).toBe(true);
    expect(kept(p, status('499'))).toBe(false);
    expect(kept(p, status('550.5', 'double'))).toBe(true);
    expect(kept(p, status('500', 'string'))).toBe(false); // a string is not a number
  });

  it('takes one open bound, and inverts', () => {
    const atLeast = policy({ name: 'n', type: 'numeric_attribute', numeric_attribute: { key: 'http.response.status_code', min_value: 400 } });
    expect(kept(atLeast, status('1000000'))).toBe(true);
    expect(kept(atLeast, status('399'))).toBe(false);
    const atMost = policy({ name: 'n', type: 'numeric_attribute', numeric_attribute: { key: 'http.response.status_code', max_value: 299 } });
    expect(kept(atMost, status('-5'))).toBe(true);
    const notErrors = policy({ name: 'n', type: 'numeric_attribute', numeric_attribute: { key: 'http.response.status_code', min_value: 500, invert_match: true } });
    expect(kept(notErrors, status('503'))).toBe(false);
    expect(kept(notErrors, status('200'))).toBe(true);
    expect(kept(notErrors, [span(T)])).toBe(true);
  });
});

describe('span_count', () => {
  it('keeps traces with min_spans…max_spans spans, inclusive', () => {
    const p = policy({ name: 'c', type: 'span_count', span_count: { min_spans: 2, max_spans: 3 } });
    expect([1, 2, 3, 4].map((n) => kept(p, trace(T, { spans: n })))).toEqual([false, true, true, false]);
    const big = policy({ name: 'c', type: 'span_count', span_count: { min_spans: 50 } });
    expect(kept(big, trace(T, { spans: 500 }))).toBe(true);
  });
});

describe('trace_state', () => {
  it('keeps traces with a span whose tracestate entry has a listed value', () => {
    const p = policy({ name: 't', type: 'trace_state', trace_state: { key: 'tenant', values: ['gold', 'platinum'] } });
    expect(kept(p, [span(T), span(T, { traceState: 'ot=th:0, tenant=gold' })])).toBe(true);
    expect(kept(p, [span(T, { traceState: 'tenant=silver,gold=tenant' })])).toBe(false);
  });
});

describe('rate_limiting', () => {
  it('is a token bucket on the clock it is given', () => {
    const b = new TokenBucket(10, 20);
    expect(b.take(20, 0)).toBe(true);
    expect(b.take(1, 0)).toBe(false);
    expect(b.take(5, 500)).toBe(true); // 5 tokens flowed in
    expect(b.take(1, 500)).toBe(false);
    expect(b.take(5, 400)).toBe(false); // a clock going back adds nothing
    expect(b.take(20, 100_000)).toBe(true); // refills only up to capacity
    expect(b.take(1, 100_000)).toBe(false);
  });

  it('keeps traces while their spans fit, and never a trace larger than the burst', () => {
    const p = policy({ name: 'r', type: 'rate_limiting', rate_limiting: { spans_per_second: 10 } });
    expect(p.spendsBudget).toBe(true);
    expect([0, 0, 0].map((t) => kept(p, trace(T, { spans: 4 }), t))).toEqual([true, true, false]);
    expect(kept(p, trace(T, { spans: 2 }), 0)).toBe(true); // a smaller one still fits
    expect(kept(p, trace(T, { spans: 11 }), 60_000)).toBe(false);
  });

  it('by_service gives each root service its own bucket', () => {
    const p = policy({ name: 'r', type: 'rate_limiting', rate_limiting: { spans_per_second: 2, by_service: true } });
    const of = (service: string) => trace(T, { service, spans: 2 });
    expect(kept(p, of('a'), 0)).toBe(true);
    expect(kept(p, of('a'), 0)).toBe(false);
    expect(kept(p, of('b'), 0)).toBe(true);
    expect(kept(p, of('a'), 1000)).toBe(true);
  });
});

describe('correlation_id', () => {
  const cid = (id: string, extra: Record<string, string> = {}) => ({ attributes: { 'flowtrace.correlation_id': id, ...extra } });

  it('keeps traces of listed correlation IDs', () => {
    const p = policy({ name: 'c', type: 'correlation_id', correlation_id: { ids: ['req-1'] } });
    expect(kept(p, [span(T), span(T, cid('req-1'))])).toBe(true);
    expect(kept(p, [span(T, cid('req-2'))])).toBe(false);
  });

  it('a flagged span keeps its trace and every later trace of its correlation ID', () => {
    const p = policy({ name: 'c', type: 'correlation_id', correlation_id: { flag: [{ key: 'flowtrace.debug' }] } });
    expect(kept(p, [span(T, cid('req-9'))])).toBe(false);
    expect(kept(p, [span(T, cid('req-9', { 'flowtrace.debug': 'true' })), span(T, cid('req-9'))])).toBe(true);
    expect(kept(p, [span(T, cid('req-9'))])).toBe(true);
    expect(kept(p, [span(T, cid('req-10'))])).toBe(false);
    // Bool attributes match by their string form.
    expect(kept(p, [span(T, { ...cid('req-11', { 'flowtrace.debug': 'true' }), kinds: { 'flowtrace.debug': 'bool' } })])).toBe(true);
  });

  it('remembers at most max_flagged IDs', () => {
    const p = new CorrelationIdPolicy('c', { attribute: 'flowtrace.correlation_id', ids: [], flags: [{ key: 'debug', values: ['1'] }], maxFlagged: 10 });
    for (let i = 0; i < 100; i++) p.evaluate(view([span(T, cid(`r${i}`, { debug: '1' }))]));
    expect(p.flaggedCount).toBe(10);
    expect(p.evaluate(view([span(T, cid('r99'))]))).toBe(SAMPLED);
    expect(p.evaluate(view([span(T, cid('r0'))]))).toBe(NOT_SAMPLED);
  });
});

describe('and', () => {
  const errorsOfCheckout = {
    name: 'a',
    type: 'and',
    and: {
      and_sub_policy: [
        { name: 'err', type: 'status_code', status_code: { status_codes: ['ERROR'] } },
        { name: 'route', type: 'string_attribute', string_attribute: { key: 'http.route', values: ['/checkout'] } },
      ],
    },
  };

  it('keeps only when every sub-policy keeps', () => {
    const p = policy(errorsOfCheckout);
    const route = { attributes: { 'http.route': '/checkout' } };
    expect(kept(p, [span(T, { ...route, status: StatusCode.ERROR })])).toBe(true);
    expect(kept(p, [span(T, route)])).toBe(false);
    expect(kept(p, [span(T, { status: StatusCode.ERROR })])).toBe(false);
  });

  it('combines probabilistic sub-policies at the higher threshold', () => {
    const p = policy({
      name: 'a',
      type: 'and',
      and: {
        and_sub_policy: [
          { name: 'half', type: 'probabilistic', probabilistic: { sampling_percentage: 50 } },
          { name: 'quarter', type: 'probabilistic', probabilistic: { sampling_percentage: 25 } },
          { name: 'all', type: 'always_sample' },
        ],
      },
    });
    expect(p.evaluate(view(trace(traceIdWithRandomness('d0000000000000'))), 0)).toBe('c0000000000000');
    expect(p.evaluate(view(trace(traceIdWithRandomness('a0000000000000'))), 0)).toBe(NOT_SAMPLED);
  });

  it('asks a rate-limiting sub-policy last, so it spends nothing on traces the others refuse', () => {
    const p = policy({
      name: 'a',
      type: 'and',
      and: {
        and_sub_policy: [
          { name: 'rate', type: 'rate_limiting', rate_limiting: { spans_per_second: 1 } },
          { name: 'err', type: 'status_code', status_code: { status_codes: ['ERROR'] } },
        ],
      },
    });
    expect(p.spendsBudget).toBe(true);
    expect(kept(p, [span(T)], 0)).toBe(false);
    expect(kept(p, [span(T, { status: StatusCode.ERROR })], 0)).toBe(true); // the token was still there
    expect(kept(p, [span(T, { status: StatusCode.ERROR })], 0)).toBe(false);
  });
});

describe('not', () => {
  it('keeps what its sub-policy does not, deterministically', () => {
    const p = policy({
      name: 'n',
      type: 'not',
      not: { not_sub_policy: { name: 'health', type: 'string_attribute', string_attribute: { key: 'http.route', values: ['/health', '/ready'] } } },
    });
    expect(kept(p, [span(T, { attributes: { 'http.route': '/ready' } })])).toBe(false);
    expect(p.evaluate(view([span(T, { attributes: { 'http.route': '/orders' } })]), 0)).toBe(ALWAYS_SAMPLE);
  });
});

describe('composite', () => {
  const composite = (extra: object = {}) =>
    policy({
      name: 'c',
      type: 'composite',
      composite: {
        max_total_spans_per_second: 100,
        policy_order: ['errors', 'checkout', 'rest'],
        composite_sub_policy: [
          { name: 'rest', type: 'always_sample' },
          { name: 'checkout', type: 'string_attribute', string_attribute: { key: 'http.route', values: ['/checkout'] } },
          { name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } },
        ],
        rate_allocation: [
          { policy: 'errors', percent: 50 },
          { policy: 'checkout', percent: 25 },
        ],
        ...extra,
      },
    });
  const errorTrace = () => trace(T, { spans: 10, status: StatusCode.ERROR });
  const checkoutTrace = () => trace(T, { spans: 10, attributes: { 'http.route': '/checkout' } });
  const otherTrace = () => trace(T, { spans: 10 });

  it('gives each sub-policy its share of the spans per second, in policy_order', () => {
    const p = composite();
    const count = (make: () => ReturnType<typeof trace>, nowMs: number) => {
      let n = 0;
      for (let i = 0; i < 20; i++) if (kept(p, make(), nowMs)) n++;
      return n;
    };
    // errors 50 spans/s, checkout 25 (2 traces of 10), the rest (unallocated 25 %) 25.
    expect(count(errorTrace, 0)).toBe(5);
    expect(count(checkoutTrace, 0)).toBe(2);
    expect(count(otherTrace, 0)).toBe(2);
    // A new second starts every share afresh.
    expect(count(errorTrace, 1000)).toBe(5);
  });

  it('lets the first sub-policy that keeps a trace own it: over its share, the trace is not kept', () => {
    const p = composite();
    for (let i = 0; i < 5; i++) expect(kept(p, errorTrace(), 0)).toBe(true);
    // "rest" would keep it and has room, but errors came first in policy_order.
    expect(kept(p, errorTrace(), 0)).toBe(false);
    expect(kept(p, otherTrace(), 0)).toBe(true);
  });

  it('passes on the threshold of a probabilistic sub-policy', () => {
    const p = policy({
      name: 'c',
      type: 'composite',
      composite: { max_total_spans_per_second: 1000, composite_sub_policy: [{ name: 'p', type: 'probabilistic', probabilistic: { sampling_percentage: 25 } }] },
    });
    expect(p.evaluate(view(trace(traceIdWithRandomness('f0000000000000'))), 0)).toBe('c0000000000000');
  });

  it('allocates listed percents and splits the rest among the others; orders by policy_order', () => {
    expect([...allocateRates(200, ['a', 'b', 'c'], [{ policy: 'a', percent: 50 }])]).toEqual([
      ['a', 100],
      ['b', 50],
      ['c', 50],
    ]);
    expect(allocateRates(200, ['a'], [{ policy: 'a', percent: 0 }]).get('a')).toBe(0);
    expect(orderPolicies(['a', 'b', 'c'], ['c', 'a'])).toEqual(['c', 'a', 'b']);
  });
});

describe('probability arithmetic used by the policies', () => {
  it('1 % is the threshold fd70a3d70a3d71', () => {
    expect(probabilityToThreshold(0.01)).toBe('fd70a3d70a3d71');
  });
});
