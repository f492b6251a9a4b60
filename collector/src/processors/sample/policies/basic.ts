import { StatusCode } from '../../../model/span.js';
import { traceStateValue } from '../consistent-probability.js';
import type { StatusCodeName } from '../config.js';
import { NOT_SAMPLED, SAMPLED, type Policy, type TraceView, type Verdict } from './policy.js';

/** Policies that look at the trace's shape: always, status, latency, span count, tracestate. */

export function alwaysSample(name: string): Policy {
  return { name, spendsBudget: false, evaluate: () => SAMPLED };
}

/** Keeps traces with a span whose status is one of `codes`. */
export function statusCode(name: string, codes: readonly StatusCodeName[]): Policy {
  const wanted = new Set<number>(codes.map((c) => StatusCode[c]));
  return {
    name,
    spendsBudget: false,
    evaluate: (trace) => (trace.spans.some((s) => wanted.has(s.statusCode)) ? SAMPLED : NOT_SAMPLED),
  };
}

export interface LatencyOptions {
  thresholdMs: number;
  upperThresholdMs?: number;
  useRootSpan: boolean;
}

/**
 * Keeps traces lasting at least `thresholdMs` — or, with an upper bound, more than
 * `thresholdMs` and at most `upperThresholdMs` (the Collector's bounds). The duration is the
 * trace's (earliest start to latest end) or, with `useRootSpan`, the root span's when it arrived.
 */
export function latency(name: string, o: LatencyOptions): Policy {
  const lower = msToNs(o.thresholdMs);
  const upper = o.upperThresholdMs === undefined ? undefined : msToNs(o.upperThresholdMs);
  return {
    name,
    spendsBudget: false,
    evaluate: (trace) => {
      const d = duration(trace, o.useRootSpan);
      const kept = upper === undefined ? d >= lower : d > lower && d <= upper;
      return kept ? SAMPLED : NOT_SAMPLED;
    },
  };
}

function duration(trace: TraceView, useRootSpan: boolean): bigint {
  const root = useRootSpan ? trace.rootSpan : undefined;
  return root ? root.endTimeUnixNano - root.startTimeUnixNano : trace.durationNs;
}

function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms * 1e6));
}

/** Keeps traces of `min`…`max` spans, inclusive (no upper bound when `max` is undefined). */
export function spanCount(name: string, min: number, max: number | undefined): Policy {
  return {
    name,
    spendsBudget: false,
    evaluate: (trace): Verdict => (trace.spanCount >= min && (max === undefined || trace.spanCount <= max) ? SAMPLED : NOT_SAMPLED),
  };
}

/** Keeps traces with a span whose W3C tracestate has `key` set to one of `values`. */
export function traceState(name: string, key: string, values: readonly string[]): Policy {
  const wanted = new Set(values);
  return {
    name,
    spendsBudget: false,
    evaluate: (trace) => {
      for (const s of trace.spans) {
        if (s.traceState.length === 0) continue;
        const v = traceStateValue(s.traceState, key);
        if (v !== undefined && wanted.has(v)) return SAMPLED;
      }
      return NOT_SAMPLED;
    },
  };
}
