import type { PolicyConfig } from '../config.js';
import { numericAttribute, stringAttribute } from './attributes.js';
import { alwaysSample, latency, spanCount, statusCode, traceState } from './basic.js';
import { allocateRates, and, CompositePolicy, not, orderPolicies } from './combinators.js';
import { CorrelationIdPolicy } from './correlation-id.js';
import type { Policy } from './policy.js';
import { probabilistic } from './probabilistic.js';
import { rateLimiting } from './rate-limiting.js';

/** A policy from its (validated) config. */
export function buildPolicy(c: PolicyConfig): Policy {
  switch (c.type) {
    case 'always_sample':
      return alwaysSample(c.name);
    case 'probabilistic':
      return probabilistic(c.name, c.probabilistic.sampling_percentage);
    case 'status_code':
      return statusCode(c.name, c.status_code.status_codes);
    case 'latency':
      return latency(c.name, {
        thresholdMs: c.latency.threshold_ms,
        upperThresholdMs: c.latency.upper_threshold_ms,
        useRootSpan: c.latency.use_root_span,
      });
    case 'string_attribute': {
      const s = c.string_attribute;
      return stringAttribute(c.name, { key: s.key, values: s.values, regex: s.enabled_regex_matching, invert: s.invert_match });
    }
    case 'numeric_attribute': {
      const n = c.numeric_attribute;
      return numericAttribute(c.name, { key: n.key, min: n.min_value, max: n.max_value, invert: n.invert_match });
    }
    case 'span_count':
      return spanCount(c.name, c.span_count.min_spans, c.span_count.max_spans);
    case 'rate_limiting': {
      const r = c.rate_limiting;
      return rateLimiting(c.name, { spansPerSecond: r.spans_per_second, burstCapacity: r.burst_capacity, byService: r.by_service });
    }
    case 'trace_state':
      return traceState(c.name, c.trace_state.key, c.trace_state.values);
    case 'correlation_id': {
      const k = c.correlation_id;
      return new CorrelationIdPolicy(c.name, { attribute: k.attribute, ids: k.ids, flags: k.flag, maxFlagged: k.max_flagged });
    }
    case 'and':
      return and(c.name, c.and.and_sub_policy.map(buildPolicy));
    case 'not':
      return not(c.name, buildPolicy(c.not.not_sub_policy));
    case 'composite': {
      const k = c.composite;
      const byName = new Map(k.composite_sub_policy.map((p) => [p.name, p] as const));
      const names = [...byName.keys()];
      const rates = allocateRates(k.max_total_spans_per_second, names, k.rate_allocation);
      return new CompositePolicy(c.name, {
        maxTotalSpansPerSecond: k.max_total_spans_per_second,
        subs: orderPolicies(names, k.policy_order).map((n) => ({ policy: buildPolicy(byName.get(n)!), spansPerSecond: rates.get(n)! })),
      });
    }
  }
}
