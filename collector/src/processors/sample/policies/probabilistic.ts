import { probabilityToThreshold, shouldSample } from '../consistent-probability.js';
import { NOT_SAMPLED, type Policy } from './policy.js';

/**
 * Keeps `percentage` % of traces, consistently: the trace's randomness R against the threshold
 * for that probability, the same draw head sampling and every other collector make. (The
 * Collector's policy hashes the trace ID with a salt instead; a consistent draw lets the kept
 * spans say what they stand for, and two tiers agree on what they keep.)
 */
export function probabilistic(name: string, percentage: number): Policy {
  const threshold = probabilityToThreshold(percentage / 100);
  return {
    name,
    spendsBudget: false,
    evaluate: (trace) => (threshold !== undefined && shouldSample(trace.randomness, threshold) ? threshold : NOT_SAMPLED),
  };
}
