import { BoundedMap } from '../decision-cache.js';
import { NOT_SAMPLED, SAMPLED, type Policy, type TraceView } from './policy.js';

/** Per-service buckets kept at most; a service beyond is forgotten first-in-first-out and starts full again. */
export const MAX_SERVICE_BUCKETS = 10_000;

/**
 * A token bucket on the clock it is given: `ratePerSecond` tokens flow in continuously up to
 * `capacity`; taking n tokens succeeds only when n are there. A clock that goes back adds nothing.
 */
export class TokenBucket {
  private tokens: number;
  private lastMs: number | undefined;

  constructor(
    readonly ratePerSecond: number,
    readonly capacity: number,
  ) {
    this.tokens = capacity;
  }

  take(n: number, nowMs: number): boolean {
    if (this.lastMs === undefined || nowMs > this.lastMs) {
      if (this.lastMs !== undefined) this.tokens = Math.min(this.capacity, this.tokens + ((nowMs - this.lastMs) * this.ratePerSecond) / 1000);
      this.lastMs = nowMs;
    }
    if (n > this.tokens) return false; // refused traces take nothing: a smaller one may still fit
    this.tokens -= n;
    return true;
  }
}

export interface RateLimitingOptions {
  spansPerSecond: number;
  burstCapacity?: number;
  byService: boolean;
}

/**
 * Keeps traces while their spans fit `spansPerSecond` (a token bucket of `burstCapacity`, one
 * second's worth by default), per service of the root span with `byService`. A trace larger
 * than the bucket is never kept by this policy.
 *
 * Its keeps carry no probability (factor 1): which traces fit depends on arrival order and
 * load, not on a draw the spans could record, so an adjusted count would be a guess.
 */
export function rateLimiting(name: string, o: RateLimitingOptions): Policy {
  const capacity = o.burstCapacity ?? o.spansPerSecond;
  const newBucket = () => new TokenBucket(o.spansPerSecond, capacity);
  const single = newBucket();
  const perService = new BoundedMap<TokenBucket>(MAX_SERVICE_BUCKETS);
  const bucketFor = (trace: TraceView): TokenBucket => {
    if (!o.byService) return single;
    let bucket = perService.get(trace.service);
    if (bucket === undefined) {
      bucket = newBucket();
      perService.set(trace.service, bucket);
    }
    return bucket;
  };
  return {
    name,
    spendsBudget: true,
    evaluate: (trace, nowMs) => (bucketFor(trace).take(trace.spanCount, nowMs) ? SAMPLED : NOT_SAMPLED),
  };
}
