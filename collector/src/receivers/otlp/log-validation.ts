/**
 * What both OTLP logs decoders produce, and the per-record rules they apply once a record's IDs
 * are good — the logs' side of span-validation.ts, with the same options (DecodeOptions) and the
 * same way of refusing (partial success, counted for the drop ledger):
 *
 * - IDs: trace_id 16 bytes and span_id 8, or absent (a log need not belong to a trace); a span_id
 *   without a trace_id is refused.
 * - Time: stored under time_unix_nano, or observed_time_unix_nano when that is 0 (as the
 *   OpenTelemetry exporter does). With an age check (a retention given): refused when both are 0
 *   or when older than the first retention rule that applies to logs (log-matcher.ts), else
 *   `retention_days`, less the same margin as spans; always refused past 2106-02-07 (TimestampTime
 *   is a 32-bit DateTime) and with an observed time ≥ 2^63 ns (DateTime64(9)).
 */
import type { LogRecord } from '../../model/log-record.js';
import type { InstrumentationScope, Resource } from '../../model/span.js';
import { compileLogRules, type CompiledLogRule } from '../../storage/retention/log-matcher.js';
import type { RejectionLog, SpanRejection } from './decoded-traces.js';
import { EVENT_TIME_LIMIT_NANOS, RETENTION_MARGIN_MS, START_TIME_LIMIT_NANOS, type DecodeOptions } from './span-validation.js';
import type { ValueTruncation } from './value-limit.js';

export interface DecodedLogs {
  /** The valid records, in request order. */
  records: LogRecord[];
  /** Records refused; goes to ExportLogsPartialSuccess.rejected_log_records. */
  rejectedRecords: number;
  /** Why ('' when none were); ExportLogsPartialSuccess.error_message. */
  rejectionMessage: string;
  /** The refused records by service and reason, for the drop ledger (`spans` counts records). */
  rejections?: SpanRejection[];
  /** Attribute values cut to `storage.max_attribute_value_bytes`, by service. */
  truncations?: ValueTruncation[];
}

/** The noun RejectionLog uses in the logs decoders' messages. */
export const LOG_RECORD = 'log record';

const NANOS_PER_MS = 1_000_000n;
const DAY_MS = 86_400_000;

/** The per-request rules (the age limits are fixed when the request is decoded). */
export class LogTimeRules {
  private readonly checkAge: boolean;
  private readonly oldest: bigint;
  private readonly defaultSummary: string;
  private readonly rules: Array<CompiledLogRule & { oldest: bigint; summary: string }>;
  /** Records at or after this are young enough under every rule (one comparison for the usual record). */
  private readonly youngEnough: bigint;
  /** Some rule names services: a ResourceLogs' resource must be read before its records are judged. */
  readonly needsServiceName: boolean;

  constructor(options: DecodeOptions = {}) {
    const policy = options.retention ?? (options.retentionDays === undefined ? undefined : { defaultDays: options.retentionDays, rules: [] });
    this.checkAge = policy !== undefined;
    const now = (options.now ?? Date.now)();
    const oldestFor = (days: number) => BigInt(Math.max(0, Math.floor(now - days * DAY_MS + RETENTION_MARGIN_MS))) * NANOS_PER_MS;
    const margin = `less a ${RETENTION_MARGIN_MS / 3_600_000} h margin`;
    const before = (oldest: bigint) => `(timestamp before ${new Date(Number(oldest / NANOS_PER_MS)).toISOString()}): the store would delete them before they were stored`;
    this.oldest = policy ? oldestFor(policy.defaultDays) : 0n;
    this.defaultSummary = policy ? `older than retention_days=${policy.defaultDays} ${margin} ${before(this.oldest)}` : '';
    this.rules = policy
      ? compileLogRules(policy).map((c) => {
          const oldest = oldestFor(c.rule.days);
          return { ...c, oldest, summary: `older than retention rule '${c.rule.name}' (${c.rule.days} days) ${margin} ${before(oldest)}` };
        })
      : [];
    this.needsServiceName = this.rules.some((r) => r.rule.match.services !== undefined);
    this.youngEnough = this.rules.reduce((max, r) => (r.oldest > max ? r.oldest : max), this.oldest);
  }

  /** Checks a record's times; one that fails is recorded in `log` and false returned. */
  admit(log: RejectionLog, index: number, resource: Resource, scope: InstrumentationScope, time: bigint, observed: bigint, severity: number): boolean {
    const stored = time !== 0n ? time : observed;
    if (stored === 0n && this.checkAge) {
      log.rejectSummarized(resource, 'invalid', 'without a time (time_unix_nano and observed_time_unix_nano are 0)');
      return false;
    }
    if (this.checkAge && stored < this.youngEnough) {
      const tooOld = this.tooOld(stored, resource, severity);
      if (tooOld !== undefined) {
        log.rejectSummarized(resource, 'too_old', tooOld);
        return false;
      }
    }
    if (stored >= START_TIME_LIMIT_NANOS) {
      log.reject(index, scope, `${time !== 0n ? 'time_unix_nano' : 'observed_time_unix_nano'} is after 2106-02-07T06:28:15Z, the latest time the store can hold`, resource);
      return false;
    }
    if (observed >= EVENT_TIME_LIMIT_NANOS) {
      log.reject(index, scope, 'observed_time_unix_nano is 2^63 or more, beyond what the store can hold', resource);
      return false;
    }
    return true;
  }

  private tooOld(stored: bigint, resource: Resource, severity: number): string | undefined {
    for (const rule of this.rules) {
      if (rule.matches(resource, severity)) return stored < rule.oldest ? rule.summary : undefined;
    }
    return stored < this.oldest ? this.defaultSummary : undefined;
  }
}

/** SeverityNumber is 0–24 in OTLP; the store keeps a UInt8, so up to 255 is kept as sent and more refused. */
export function severityProblem(severityNumber: number): string {
  return severityNumber >= 0 && severityNumber <= 255 ? '' : `severity_number ${severityNumber} is outside 0–255 (OTLP defines 0–24)`;
}

/** `trace_id`/`span_id` of a log record: both the right length, or empty (span without trace refused). */
export function logIdProblem(traceIdBytes: number, spanIdBytes: number, traceIdZero: boolean, spanIdZero: boolean): string {
  if (traceIdBytes !== 0 && traceIdBytes !== 16) return `trace_id has ${traceIdBytes} bytes, want 16 or none`;
  if (spanIdBytes !== 0 && spanIdBytes !== 8) return `span_id has ${spanIdBytes} bytes, want 8 or none`;
  const hasTrace = traceIdBytes !== 0 && !traceIdZero;
  const hasSpan = spanIdBytes !== 0 && !spanIdZero;
  if (hasSpan && !hasTrace) return 'span_id without a trace_id';
  return '';
}
