import type { Span } from '../../../model/span.js';
import { ALWAYS_SAMPLE, maxThreshold, randomness, readOtSampling, type Threshold } from '../consistent-probability.js';

/**
 * A policy's answer for one trace: undefined when it does not keep the trace; when it does,
 * the consistent threshold its keep implies — {@link SAMPLED} (T = 0, factor 1) for policies
 * that keep deterministically (status, latency, attributes…), the policy's own T for a
 * probabilistic keep. The threshold is what the kept spans' adjusted count is computed from.
 */
export type Verdict = Threshold | undefined;

export const SAMPLED: Threshold = ALWAYS_SAMPLE;
export const NOT_SAMPLED = undefined;

export interface Policy {
  readonly name: string;
  /**
   * Keeping a trace spends a rate budget (rate_limiting, composite). Such policies are asked
   * last and only about traces nothing else keeps, so their budget goes to traces that would
   * otherwise be lost.
   */
  readonly spendsBudget: boolean;
  /** `nowMs` is the decision time, for rate budgets; nothing else reads a clock. */
  evaluate(trace: TraceView, nowMs: number): Verdict;
}

/** Keeps when either keeps; of two keeps, the one with the smaller adjusted count (lower threshold). */
export function either(a: Verdict, b: Verdict): Verdict {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a <= b ? a : b;
}

/** Keeps when both keep; under one randomness R, both keep exactly when R passes the higher threshold. */
export function both(a: Verdict, b: Verdict): Verdict {
  if (a === undefined || b === undefined) return undefined;
  return maxThreshold(a, b);
}

/** A whole trace as the policies see it, with what several of them need computed once. */
export class TraceView {
  private r: string | undefined;
  private duration: bigint | undefined;
  private root: Span | null | undefined;

  constructor(
    readonly traceId: string,
    readonly spans: readonly Span[],
  ) {}

  get spanCount(): number {
    return this.spans.length;
  }

  /** The trace's randomness R: an `rv:` of its spans' tracestate, else from the trace ID. */
  get randomness(): string {
    if (this.r === undefined) {
      let rv: string | undefined;
      for (const s of this.spans) {
        rv = readOtSampling(s.traceState).rv;
        if (rv !== undefined) break;
      }
      this.r = randomness(this.traceId, rv);
    }
    return this.r;
  }

  /** Latest end minus earliest start, in nanoseconds. */
  get durationNs(): bigint {
    if (this.duration === undefined) {
      let start = this.spans[0]?.startTimeUnixNano ?? 0n;
      let end = this.spans[0]?.endTimeUnixNano ?? 0n;
      for (const s of this.spans) {
        if (s.startTimeUnixNano < start) start = s.startTimeUnixNano;
        if (s.endTimeUnixNano > end) end = s.endTimeUnixNano;
      }
      this.duration = end - start;
    }
    return this.duration;
  }

  /** The span without a parent, when it has arrived. */
  get rootSpan(): Span | undefined {
    if (this.root === undefined) this.root = this.spans.find((s) => s.parentSpanId === '') ?? null;
    return this.root ?? undefined;
  }

  /** The service the trace belongs to: its root span's, else its first span's. */
  get service(): string {
    return (this.rootSpan ?? this.spans[0])?.resource.serviceName ?? '';
  }
}
