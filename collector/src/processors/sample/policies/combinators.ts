import { both, NOT_SAMPLED, SAMPLED, type Policy, type TraceView, type Verdict } from './policy.js';

/**
 * Keeps a trace when every sub-policy keeps it, asking until one says no. Sub-policies that
 * spend a rate budget are asked last, so they spend it only on traces the others passed.
 */
export function and(name: string, subs: readonly Policy[]): Policy {
  const ordered = [...subs.filter((p) => !p.spendsBudget), ...subs.filter((p) => p.spendsBudget)];
  return {
    name,
    spendsBudget: subs.some((p) => p.spendsBudget),
    evaluate: (trace, nowMs) => {
      let verdict: Verdict = SAMPLED;
      for (const p of ordered) {
        verdict = both(verdict, p.evaluate(trace, nowMs));
        if (verdict === NOT_SAMPLED) return NOT_SAMPLED;
      }
      return verdict;
    },
  };
}

/**
 * Keeps a trace when the sub-policy does not. Its keeps count as deterministic (factor 1),
 * even over a probabilistic sub-policy: "R below T" is no consistent sample.
 */
export function not(name: string, sub: Policy): Policy {
  return {
    name,
    spendsBudget: false, // config rejects budget policies under not
    evaluate: (trace, nowMs) => (sub.evaluate(trace, nowMs) === NOT_SAMPLED ? SAMPLED : NOT_SAMPLED),
  };
}

export interface CompositeOptions {
  maxTotalSpansPerSecond: number;
  /** In evaluation order. */
  subs: ReadonlyArray<{ policy: Policy; spansPerSecond: number }>;
}

/**
 * The Collector's composite policy: sub-policies in order, each with its share of
 * `maxTotalSpansPerSecond`, counted per clock second. The first sub-policy that keeps the trace
 * owns it: kept if the trace's spans still fit that sub-policy's share (and the total) this
 * second, otherwise not kept — it does not fall through to later sub-policies.
 */
export class CompositePolicy implements Policy {
  readonly spendsBudget = true;
  private readonly used: number[];
  private totalUsed = 0;
  private second = Number.NaN;

  constructor(
    readonly name: string,
    private readonly options: CompositeOptions,
  ) {
    this.used = options.subs.map(() => 0);
  }

  evaluate(trace: TraceView, nowMs: number): Verdict {
    const second = Math.floor(nowMs / 1000);
    if (second !== this.second) {
      this.second = second;
      this.used.fill(0);
      this.totalUsed = 0;
    }
    const n = trace.spanCount;
    for (let i = 0; i < this.options.subs.length; i++) {
      const sub = this.options.subs[i]!;
      const verdict = sub.policy.evaluate(trace, nowMs);
      if (verdict === NOT_SAMPLED) continue;
      if (this.used[i]! + n > sub.spansPerSecond || this.totalUsed + n > this.options.maxTotalSpansPerSecond) return NOT_SAMPLED;
      this.used[i]! += n;
      this.totalUsed += n;
      return verdict;
    }
    return NOT_SAMPLED;
  }
}

/**
 * Each sub-policy's spans per second: its `rate_allocation` percent of the total; sub-policies
 * without one split the unallocated rest equally. (The Collector gives them 0, which makes its
 * README's advice — put always_sample last to fill the remaining capacity — keep nothing.)
 */
export function allocateRates(
  total: number,
  names: readonly string[],
  allocation: ReadonlyArray<{ policy: string; percent: number }>,
): Map<string, number> {
  const rates = new Map<string, number>();
  let allocated = 0;
  for (const a of allocation) {
    rates.set(a.policy, (a.percent / 100) * total);
    allocated += a.percent;
  }
  const rest = names.filter((n) => !rates.has(n));
  const share = rest.length === 0 ? 0 : (Math.max(0, 100 - allocated) / 100 / rest.length) * total;
  for (const n of rest) rates.set(n, share);
  return rates;
}

/** Sub-policy names in evaluation order: `policy_order` first, the others after in their order. */
export function orderPolicies(names: readonly string[], policyOrder: readonly string[]): string[] {
  const listed = policyOrder.filter((n, i) => names.includes(n) && policyOrder.indexOf(n) === i);
  return [...listed, ...names.filter((n) => !listed.includes(n))];
}
