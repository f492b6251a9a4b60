/**
 * The per-span time rules both OTLP decoders apply once a span's IDs are known to be good:
 * a span is refused (partial success, counted for the drop ledger) rather than acknowledged
 * when the store could not keep it as sent.
 *
 * - Older than the retention that applies to it — the first of `storage.retention_rules` it
 *   matches, else `retention_days`: the store's TTL deletes an expired part as it is inserted,
 *   so the span would vanish unseen.
 * - No start time (0, i.e. 1970): the same TTL, and a span without a start is no span.
 * - A start after 2106-02-07T06:28:15Z: the store orders and expires rows by
 *   `toDateTime(Timestamp)`, a 32-bit count of seconds; such an insert fails.
 * - An event time ≥ 2^63 ns: DateTime64(9) is a signed 64-bit count of nanoseconds.
 *
 * End times need no rule: the duration (end − start) or, for an end before the start, how far
 * before (start − end) is stored, and both fit 64 bits once the start is within the above.
 */
import type { Attributes, InstrumentationScope, Resource, SpanEvent } from '../../model/span.js';
import type { RetentionPolicy, RetentionRule } from '../../storage/retention/policy.js';
import { compileRules, type CompiledRule } from '../../storage/retention/span-matcher.js';
import type { RejectionLog } from './decoded-traces.js';

export interface DecodeOptions {
  /**
   * `storage.retention_days`: spans started earlier than this (less {@link RETENTION_MARGIN_MS})
   * and spans without a start time are refused. Absent: no age check (tools, unit tests).
   */
  retentionDays?: number;
  /** The default and the rules (`storage.retention_rules`); when given, `retentionDays` is not read. */
  retention?: RetentionPolicy;
  /** The clock in ms since the epoch (tests); Date.now by default. */
  now?: () => number;
  /**
   * `storage.max_attribute_value_bytes`: longer attribute values are truncated (value-limit.ts);
   * DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES when absent.
   */
  maxAttributeValueBytes?: number;
  /**
   * The most bytes one request may take as storage rows (`receivers.otlp.max_in_flight_mib`);
   * the transcoder stops with RequestTooLargeError past it. Unbounded when absent.
   */
  maxRowBytes?: number;
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
  /** Spans no rule matches starting before this (ns since the epoch) are too old; 0n when there is no age check. */
  readonly oldestStart: bigint;
  /**
   * Spans starting at or after this are young enough under every rule: only older ones are
   * matched against the rules, so the usual span costs one comparison, rules or not (the
   * protobuf transcoder makes the same comparison without a BigInt: rowbinary-transcoder.ts).
   */
  readonly youngEnough: bigint;
  private readonly rules: CompiledRule[];
  /**
   * Some rule names services: a decoder must know a resource's `service.name` before its spans
   * are admitted, even when the resource follows them on the wire.
   */
  readonly needsServiceName: boolean;
  private readonly tooOldSummary: string;
  private readonly checkAge: boolean;

  constructor(options: DecodeOptions = {}) {
    const policy = options.retention ?? (options.retentionDays === undefined ? undefined : { defaultDays: options.retentionDays, rules: [] });
    this.checkAge = policy !== undefined;
    if (policy === undefined) {
      this.oldestStart = 0n;
      this.youngEnough = 0n;
      this.rules = [];
      this.needsServiceName = false;
      this.tooOldSummary = '';
      return;
    }
    const now = (options.now ?? Date.now)();
    const oldestMsFor = (days: number) => Math.max(0, Math.floor(now - days * DAY_MS + RETENTION_MARGIN_MS));
    const oldestStartFor = (days: number) => BigInt(oldestMsFor(days)) * NANOS_PER_MS;
    const margin = `less a ${RETENTION_MARGIN_MS / 3_600_000} h margin`;
    const before = (oldestStart: bigint) => `(started before ${new Date(Number(oldestStart / NANOS_PER_MS)).toISOString()}): the store would delete them before they were stored`;
    this.oldestStart = oldestStartFor(policy.defaultDays);
    this.tooOldSummary = `older than retention_days=${policy.defaultDays} ${margin} ${before(this.oldestStart)}`;
    this.rules = compileRules(policy, oldestStartFor, (rule: RetentionRule, oldestStart) => `older than retention rule '${rule.name}' (${rule.days} days) ${margin} ${before(oldestStart)}`);
    this.needsServiceName = policy.rules.some((r) => r.match.services !== undefined);
    this.youngEnough = this.rules.reduce((max, r) => (r.oldestStart > max ? r.oldestStart : max), this.oldestStart);
  }

  /** Checks a decoded span's times; a span that fails is recorded in `log` and false returned. */
  admit(
    log: RejectionLog,
    spanIndex: number,
    resource: Resource,
    scope: InstrumentationScope,
    startTimeUnixNano: bigint,
    events: readonly SpanEvent[],
    kind: number,
    statusCode: number,
    attributes: Attributes,
  ): boolean {
    if (startTimeUnixNano === 0n) {
      if (!this.checkAge) return this.admitEvents(log, spanIndex, resource, scope, events);
      log.rejectSummarized(resource, 'invalid', 'without a start time (start_time_unix_nano is 0)');
      return false;
    }
    if (startTimeUnixNano < this.youngEnough) {
      const tooOld = this.tooOld(startTimeUnixNano, resource, kind, statusCode, attributes);
      if (tooOld !== undefined) {
        log.rejectSummarized(resource, 'too_old', tooOld);
        return false;
      }
    }
    if (startTimeUnixNano >= START_TIME_LIMIT_NANOS) {
      log.reject(spanIndex, scope, 'start_time_unix_nano is after 2106-02-07T06:28:15Z, the latest start the store can hold', resource);
      return false;
    }
    return this.admitEvents(log, spanIndex, resource, scope, events);
  }

  /** The refusal's summary when the span is older than the first rule it matches (else the default) allows. */
  private tooOld(start: bigint, resource: Resource, kind: number, statusCode: number, attributes: Attributes): string | undefined {
    for (const rule of this.rules) {
      if (rule.matches(resource, kind, statusCode, attributes)) return start < rule.oldestStart ? rule.summary : undefined;
    }
    return start < this.oldestStart ? this.tooOldSummary : undefined;
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
