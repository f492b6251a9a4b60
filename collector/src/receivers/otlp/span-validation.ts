/**
 * The per-span time rules both OTLP decoders apply once a span's IDs are known to be good:
 * a span is refused (partial success, counted for the drop ledger) rather than acknowledged
 * when the store could not keep it as sent.
 *
 * - Older than the retention: the store's TTL (`toDateTime(Timestamp) + retention_days`)
 *   deletes an expired part as it is inserted, so the span would vanish unseen.
 * - No start time (0, i.e. 1970): the same TTL, and a span without a start is no span.
 * - A start after 2106-02-07T06:28:15Z: the store orders and expires rows by
 *   `toDateTime(Timestamp)`, a 32-bit count of seconds; such an insert fails.
 * - An event time ≥ 2^63 ns: DateTime64(9) is a signed 64-bit count of nanoseconds.
 *
 * End times need no rule: the duration (end − start) or, for an end before the start, how far
 * before (start − end) is stored, and both fit 64 bits once the start is within the above.
 */
import type { InstrumentationScope, Resource, SpanEvent } from '../../model/span.js';
import type { RejectionLog } from './decoded-traces.js';

export interface DecodeOptions {
  /**
   * `storage.retention_days`: spans started earlier than this (less {@link RETENTION_MARGIN_MS})
   * and spans without a start time are refused. Absent: no age check (tools, unit tests).
   */
  retentionDays?: number;
  /** The clock in ms since the epoch (tests); Date.now by default. */
  now?: () => number;
}

/**
 * Spans are refused this long before their retention runs out, so that one accepted just in
 * time is not deleted by the TTL while it waits in the journal and the exporter queue.
 */
export const RETENTION_MARGIN_MS = 60 * 60 * 1000;

const NANOS_PER_MS = 1_000_000n;
/** The first start time the store cannot hold: 2^32 seconds (DateTime's range) in nanoseconds. */
export const START_TIME_LIMIT_NANOS = 4_294_967_296n * 1_000_000_000n;
/** The first event time the store cannot hold: DateTime64(9) is an Int64 of nanoseconds. */
export const EVENT_TIME_LIMIT_NANOS = 1n << 63n;

const DAY_MS = 86_400_000;

/** The rules for one request: the age limit is fixed when the request is decoded. */
export class SpanTimeRules {
  /** Spans starting before this (ns since the epoch) are too old; 0n when there is no age check. */
  readonly oldestStart: bigint;
  private readonly tooOldSummary: string;
  private readonly checkAge: boolean;

  constructor(options: DecodeOptions = {}) {
    const days = options.retentionDays;
    this.checkAge = days !== undefined;
    if (days === undefined) {
      this.oldestStart = 0n;
      this.tooOldSummary = '';
      return;
    }
    const now = (options.now ?? Date.now)();
    const oldestMs = Math.max(0, Math.floor(now - days * DAY_MS + RETENTION_MARGIN_MS));
    this.oldestStart = BigInt(oldestMs) * NANOS_PER_MS;
    this.tooOldSummary =
      `older than retention_days=${days} less a ${RETENTION_MARGIN_MS / 3_600_000} h margin (started before ${new Date(oldestMs).toISOString()}): ` +
      'the store would delete them before they were stored';
  }

  /** Checks a decoded span's times; a span that fails is recorded in `log` and false returned. */
  admit(
    log: RejectionLog,
    spanIndex: number,
    resource: Resource,
    scope: InstrumentationScope,
    startTimeUnixNano: bigint,
    events: readonly SpanEvent[],
  ): boolean {
    if (startTimeUnixNano === 0n) {
      if (!this.checkAge) return this.admitEvents(log, spanIndex, resource, scope, events);
      log.rejectSummarized(resource, 'invalid', 'without a start time (start_time_unix_nano is 0)');
      return false;
    }
    if (startTimeUnixNano < this.oldestStart) {
      log.rejectSummarized(resource, 'too_old', this.tooOldSummary);
      return false;
    }
    if (startTimeUnixNano >= START_TIME_LIMIT_NANOS) {
      log.reject(spanIndex, scope, 'start_time_unix_nano is after 2106-02-07T06:28:15Z, the latest start the store can hold', resource);
      return false;
    }
    return this.admitEvents(log, spanIndex, resource, scope, events);
  }

  private admitEvents(
    log: RejectionLog,
    spanIndex: number,
    resource: Resource,
    scope: InstrumentationScope,
    events: readonly SpanEvent[],
  ): boolean {
    for (let i = 0; i < events.length; i++) {
      if (events[i]!.timeUnixNano >= EVENT_TIME_LIMIT_NANOS) {
        log.reject(spanIndex, scope, `events[${i}].time_unix_nano is 2^63 or more, beyond what the store can hold`, resource);
        return false;
      }
    }
    return true;
  }
}
