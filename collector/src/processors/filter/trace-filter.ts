import { StatusCode, type Span } from '../../model/span.js';
import type { FilterConfig } from './config.js';
import { compileMatcher, compileRule, isMethodSpan, type SpanTest } from './rules.js';

export interface TraceDecision {
  kept: Span[];
  droppedByCondition: number;
  droppedBySampling: number;
}

/**
 * The trace-level part of the filter: conditional tracing and per-call method sampling,
 * decided on a whole trace. Dropped method spans' children are re-parented to their nearest
 * kept ancestor, so the trace stays one tree; the first root records how many were dropped
 * (`flowtrace.filtered_spans`).
 */
export class TraceFilter {
  private readonly conditionMet: ((spans: readonly Span[]) => boolean) | undefined;
  private readonly sampling: Array<{ matches: SpanTest; keepBelow: number }>;

  constructor(config: FilterConfig) {
    const c = config.conditional;
    if (c.enabled) {
      const minDurationNs = BigInt(Math.round(c.keep_when.min_duration_ms * 1e6));
      const attributeTests = c.keep_when.attributes.map((a) => ({ key: a.key, test: compileMatcher(a.value) }));
      this.conditionMet = (spans) =>
        (c.keep_when.error && spans.some((s) => s.statusCode === StatusCode.ERROR)) ||
        (minDurationNs > 0n && traceDuration(spans) >= minDurationNs) ||
        spans.some((s) => attributeTests.some((a) => a.test(s.attributes[a.key] ?? s.resource.attributes[a.key])));
    }
    this.sampling = config.method_sampling.map((rule) => ({
      matches: compileRule({ service: rule.service, span_name: rule.span_name }),
      // The decision compares the span ID's first 32 bits with this bound: stable for a span.
      keepBelow: Math.round((rule.percentage / 100) * 0x1_0000_0000),
    }));
  }

  /** True when this filter needs whole traces (otherwise spans pass through). */
  get needsTraces(): boolean {
    return this.conditionMet !== undefined || this.sampling.length > 0;
  }

  decide(spans: Span[]): TraceDecision {
    const dropped = new Map<string, Span>();
    let droppedByCondition = 0;
    let droppedBySampling = 0;
    const trimMethods = this.conditionMet !== undefined && !this.conditionMet(spans);
    for (const s of spans) {
      if (!isMethodSpan(s)) continue;
      if (trimMethods) {
        dropped.set(s.spanId, s);
        droppedByCondition++;
        continue;
      }
      const rule = this.sampling.find((r) => r.matches(s));
      if (rule !== undefined && parseInt(s.spanId.slice(0, 8), 16) >= rule.keepBelow) {
        dropped.set(s.spanId, s);
        droppedBySampling++;
      }
    }
    if (dropped.size === 0) return { kept: spans, droppedByCondition, droppedBySampling };
    const kept = spans.filter((s) => !dropped.has(s.spanId));
    for (const s of kept) {
      let parent = s.parentSpanId;
      while (dropped.has(parent)) parent = dropped.get(parent)!.parentSpanId;
      s.parentSpanId = parent;
    }
    const root = kept.find((s) => s.parentSpanId === '') ?? kept[0];
    if (root) root.attributes['flowtrace.filtered_spans'] = String(dropped.size);
    return { kept, droppedByCondition, droppedBySampling };
  }
}

function traceDuration(spans: readonly Span[]): bigint {
  let start = spans[0]!.startTimeUnixNano;
  let end = spans[0]!.endTimeUnixNano;
  for (const s of spans) {
    if (s.startTimeUnixNano < start) start = s.startTimeUnixNano;
    if (s.endTimeUnixNano > end) end = s.endTimeUnixNano;
  }
  return end - start;
}
