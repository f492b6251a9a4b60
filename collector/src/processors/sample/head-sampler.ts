import type { Span } from '../../model/span.js';
import {
  ALWAYS_SAMPLE,
  maxThreshold,
  probabilityToThreshold,
  randomness,
  readOtSampling,
  shouldSample,
  type Threshold,
} from './consistent-probability.js';
import { recordAdjustedCount, setThreshold } from './marks.js';

/**
 * Head sampling: each span on its own, kept when its trace's randomness passes the threshold
 * for `percentage` — the same answer for every span of a trace, on every collector.
 *
 * A span that arrives with `ot=th:` was already sampled upstream: the effective threshold is
 * the higher of the two (sampling twice keeps the smaller fraction). An upstream threshold its
 * own randomness fails is inconsistent — the specification says to erase it — and is ignored.
 */
export class HeadSampler {
  /** Undefined at 0 %: nothing is kept. */
  private readonly threshold: Threshold | undefined;
  /** At 100 % only spans carrying an upstream threshold need a look. */
  private readonly passThrough: boolean;

  constructor(percentage: number) {
    this.threshold = probabilityToThreshold(percentage / 100);
    this.passThrough = this.threshold === ALWAYS_SAMPLE;
  }

  /**
   * False drops the span. A kept span's tracestate carries the effective threshold; with
   * `record` it also gets its adjusted count (off when tail sampling records the final one).
   */
  keep(span: Span, record: boolean): boolean {
    if (this.passThrough && span.traceState.length === 0) return true; // the hot path: nothing to read
    const ot = readOtSampling(span.traceState);
    if (this.passThrough && ot.th === undefined) return true;
    if (this.threshold === undefined) return false;
    const r = randomness(span.traceId, ot.rv);
    const upstream = ot.th !== undefined && shouldSample(r, ot.th) ? ot.th : undefined;
    const t = upstream === undefined ? this.threshold : maxThreshold(this.threshold, upstream);
    if (!shouldSample(r, t)) return false;
    // No th is written for 100 % unless one was there: `th:0` on every span would say nothing new.
    setThreshold(span, ot.th, upstream === undefined && t === ALWAYS_SAMPLE ? undefined : t);
    if (record) recordAdjustedCount(span, t);
    return true;
  }

  /** The kept spans; the same array when all are kept. */
  sample(spans: Span[], record: boolean): Span[] {
    let kept: Span[] | undefined;
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i]!;
      const keep = this.keep(span, record);
      if (!keep && kept === undefined) kept = spans.slice(0, i);
      else if (keep && kept !== undefined) kept.push(span);
    }
    return kept ?? spans;
  }
}
