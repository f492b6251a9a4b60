import type { Span } from '../../model/span.js';
import { TraceBuffer, type BufferedTrace, type ReleaseReason } from '../trace-buffer.js';
import { ALWAYS_SAMPLE, maxThreshold, readOtSampling, type Threshold } from './consistent-probability.js';
import { DecisionCache } from './decision-cache.js';
import { recordAdjustedCount, setThreshold } from './marks.js';
import { either, NOT_SAMPLED, SAMPLED, TraceView, type Policy, type Verdict } from './policies/policy.js';

export interface TailSamplerOptions {
  /** A trace is decided once no span of it arrived for this long. */
  decisionWaitMs: number;
  /** Bounds on what is held; beyond them the least recently updated traces are decided early. */
  maxTraces: number;
  maxSpans: number;
  sampledCacheSize: number;
  nonSampledCacheSize: number;
  /** A trace is kept when any keeps it. */
  policies: readonly Policy[];
}

export interface PolicyOutcome {
  readonly name: string;
  readonly sampled: boolean;
}

export interface TraceDecision {
  readonly traceId: string;
  readonly spanCount: number;
  readonly sampled: boolean;
  /** `evicted`: decided before its wait was over, because the buffer was full. */
  readonly reason: ReleaseReason;
  /** The threshold it was kept at, undefined when not sampled: what late spans follow. */
  readonly verdict: Verdict;
  /** Each top-level policy asked; budget policies are not asked about traces others keep. */
  readonly policies: readonly PolicyOutcome[];
}

export interface TailSamplerEvents {
  /** Kept spans — of decided traces, or late spans of kept ones — marked with their sampling. */
  kept(spans: Span[]): void;
  decided?(decision: TraceDecision): void;
  /** Spans that arrived after their trace was decided, and followed the decision. */
  late?(spans: number, sampled: boolean): void;
  /** Spans not kept: of traces decided against, or late spans of them. */
  dropped?(spans: Span[]): void;
  /** A policy threw: the trace is kept (a bug costs the sampling, never the spans). */
  failed?(traceId: string, err: unknown): void;
}

/**
 * Tail sampling: holds spans per trace until the trace is complete — `decisionWaitMs` after its
 * latest span — then keeps or drops the whole trace by the policies. Decisions are remembered
 * (bounded) so that spans arriving later follow them.
 *
 * Every kept span gets the threshold it was kept at: the higher of the one it carries (head or
 * upstream sampling) and the tail decision's. Both draw on the trace's one randomness R, so the
 * higher threshold *is* the combined probability — the product of the head probability and the
 * tail's conditional one — and its adjusted count is 1/p for the whole chain.
 *
 * Time is passed in: `offer`, `tick` and `flush` take the clock reading, so tests decide it.
 */
export class TailSampler {
  private readonly buffer: TraceBuffer;
  private readonly cache: DecisionCache;
  private readonly freePolicies: readonly Policy[];
  private readonly budgetPolicies: readonly Policy[];
  /** The clock reading of the call in progress: decisions happen inside the buffer's callback. */
  private nowMs = 0;

  constructor(
    options: TailSamplerOptions,
    private readonly events: TailSamplerEvents,
  ) {
    this.buffer = new TraceBuffer(
      { decisionWaitMs: options.decisionWaitMs, maxTraces: options.maxTraces, maxSpans: options.maxSpans },
      (trace, reason) => this.decide(trace, reason),
    );
    this.cache = new DecisionCache(options.sampledCacheSize, options.nonSampledCacheSize);
    this.freePolicies = options.policies.filter((p) => !p.spendsBudget);
    this.budgetPolicies = options.policies.filter((p) => p.spendsBudget);
  }

  get traceCount(): number {
    return this.buffer.traceCount;
  }

  get heldSpans(): number {
    return this.buffer.heldSpans;
  }

  get sampledCacheSize(): number {
    return this.cache.sampledSize;
  }

  get notSampledCacheSize(): number {
    return this.cache.notSampledSize;
  }

  /** A decision taken before a restart (the journal keeps them): later spans of the trace follow it. */
  restoreDecision(traceId: string, verdict: Verdict): void {
    this.cache.remember(traceId, verdict);
  }

  /** The decision remembered for a trace: a threshold, NOT_SAMPLED, or null when none is. */
  rememberedDecision(traceId: string): Verdict | null {
    const threshold = this.cache.sampledThreshold(traceId);
    if (threshold !== undefined) return threshold;
    return this.cache.isNotSampled(traceId) ? NOT_SAMPLED : null;
  }

  /** Takes spans at `nowMs`: late ones follow their trace's decision, the rest are held. */
  offer(spans: readonly Span[], nowMs: number): void {
    this.nowMs = nowMs;
    let hold: Span[] | undefined; // only built once some span turns out late
    let lateKept: Span[] | undefined;
    let lateDropped: Span[] | undefined;
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i]!;
      const threshold = this.cache.sampledThreshold(span.traceId);
      const late = threshold !== undefined || this.cache.isNotSampled(span.traceId);
      if (!late) {
        hold?.push(span);
        continue;
      }
      hold ??= spans.slice(0, i);
      if (threshold !== undefined) {
        mark(span, threshold);
        (lateKept ??= []).push(span);
      } else {
        (lateDropped ??= []).push(span);
      }
    }
    if (lateKept) {
      this.events.kept(lateKept);
      this.events.late?.(lateKept.length, true);
    }
    if (lateDropped) {
      this.events.late?.(lateDropped.length, false);
      this.events.dropped?.(lateDropped);
    }
    this.buffer.add(hold ?? spans, nowMs);
  }

  /** Decides the traces complete at `nowMs`. */
  tick(nowMs: number): void {
    this.nowMs = nowMs;
    this.buffer.release(nowMs);
  }

  /** Decides everything held (shutdown). */
  flush(nowMs: number): void {
    this.nowMs = nowMs;
    this.buffer.releaseAll();
  }

  private decide(trace: BufferedTrace, reason: ReleaseReason): void {
    const view = new TraceView(trace.traceId, trace.spans);
    const outcomes: PolicyOutcome[] = [];
    let verdict: Verdict;
    try {
      verdict = this.evaluate(view, outcomes);
    } catch (err) {
      this.events.failed?.(trace.traceId, err);
      verdict = SAMPLED;
    }
    this.cache.remember(trace.traceId, verdict);
    // Decided first: the journal writes the decision before anything that follows from it.
    this.events.decided?.({ traceId: trace.traceId, spanCount: trace.spans.length, sampled: verdict !== NOT_SAMPLED, reason, verdict, policies: outcomes });
    if (verdict !== NOT_SAMPLED) {
      for (const span of trace.spans) mark(span, verdict);
      this.events.kept(trace.spans);
    } else {
      this.events.dropped?.(trace.spans);
    }
  }

  /**
   * Any policy keeps the trace. All free policies are asked (each is counted, stateful ones such
   * as correlation_id see every trace, and the smallest adjusted count wins); budget policies
   * only when none kept it, first keep wins.
   */
  private evaluate(view: TraceView, outcomes: PolicyOutcome[]): Verdict {
    let verdict: Verdict = NOT_SAMPLED;
    for (const p of this.freePolicies) {
      const v = p.evaluate(view, this.nowMs);
      outcomes.push({ name: p.name, sampled: v !== NOT_SAMPLED });
      verdict = either(verdict, v);
    }
    if (verdict !== NOT_SAMPLED) return verdict;
    for (const p of this.budgetPolicies) {
      const v = p.evaluate(view, this.nowMs);
      outcomes.push({ name: p.name, sampled: v !== NOT_SAMPLED });
      if (v !== NOT_SAMPLED) return v;
    }
    return NOT_SAMPLED;
  }
}

/** Marks a kept span: the higher of its own threshold and the tail's, in tracestate and as adjusted count. */
function mark(span: Span, tail: Threshold): void {
  const own = readOtSampling(span.traceState).th;
  const effective = own === undefined ? tail : maxThreshold(own, tail);
  setThreshold(span, own, own === undefined && effective === ALWAYS_SAMPLE ? undefined : effective);
  recordAdjustedCount(span, effective);
}
