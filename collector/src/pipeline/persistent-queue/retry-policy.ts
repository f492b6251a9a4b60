import type { QueueConfig } from './config.js';

/** The longest timer Node.js supports (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What a failed send says about retrying. */
export interface FailureClass {
  retryable: boolean;
  /** The backend's hint (Retry-After, gRPC RetryInfo), in ms. */
  retryAfterMs?: number;
}

/**
 * Reads {@link ExportError}'s fields by shape rather than by class, so that an error from
 * another copy of the module classifies the same. Anything else is retryable: an unknown
 * failure is more likely a network problem than a bad payload.
 */
export function classify(err: unknown): FailureClass {
  if (typeof err !== 'object' || err === null) return { retryable: true };
  const { retryable, retryAfterMs } = err as { retryable?: unknown; retryAfterMs?: unknown };
  return {
    retryable: retryable !== false,
    retryAfterMs: typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs) && retryAfterMs > 0 ? retryAfterMs : undefined,
  };
}

/**
 * Exponential backoff with jitter (the OpenTelemetry Collector's retry_on_failure shape):
 * initial × multiplier^(n−1), capped at max, then randomised by ± randomization_factor so
 * that many collectors do not retry a recovering backend in step.
 */
export class RetryPolicy {
  constructor(
    private readonly settings: QueueConfig['retry'],
    private readonly random: () => number = Math.random,
  ) {}

  /** Delay before the retry after `failures` consecutive failures (1 for the first), at least the hint. */
  delay(failures: number, hintMs?: number): number {
    const { initial_interval_ms: initial, max_interval_ms: max, multiplier, randomization_factor: r } = this.settings;
    const base = Math.min(max, initial * multiplier ** Math.max(0, failures - 1));
    const jittered = Math.min(max, base * (1 - r + 2 * r * this.random()));
    return Math.round(Math.min(MAX_TIMER_MS, Math.max(jittered, hintMs ?? 0)));
  }

  /** Whether a batch failing since `firstFailureAt` has been retried long enough (never when max_elapsed_ms is 0). */
  exhausted(firstFailureAt: number, now: number): boolean {
    const limit = this.settings.max_elapsed_ms;
    return limit > 0 && now - firstFailureAt >= limit;
  }
}
