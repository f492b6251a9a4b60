import type { Span } from '../../model/span.js';
import { adjustedCount, withThreshold, type Threshold } from './consistent-probability.js';

/**
 * What a kept span records of its sampling: the effective threshold in its tracestate (`ot=th:`)
 * and the adjusted count — how many spans it stands for — as an attribute, so that counts and
 * rates computed from stored spans can be scaled back up.
 */
export const ADJUSTED_COUNT_ATTRIBUTE = 'sampling.adjusted_count';

/** Sets `ot=th:` to `next` (undefined removes it) when it differs from the span's `current`. */
export function setThreshold(span: Span, current: Threshold | undefined, next: Threshold | undefined): void {
  if (next !== current) span.traceState = withThreshold(span.traceState, next);
}

/** The span's attributes (and kinds) are its own: set in place. */
export function recordAdjustedCount(span: Span, t: Threshold): void {
  const count = adjustedCount(t);
  span.attributes[ADJUSTED_COUNT_ATTRIBUTE] = String(count);
  (span.attributeKinds ??= {})[ADJUSTED_COUNT_ATTRIBUTE] = Number.isInteger(count) ? 'int' : 'double';
}
