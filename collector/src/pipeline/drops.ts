import type { Span } from '../model/span.js';

/**
 * Where a span left the pipeline without being stored, or where a value of a stored span was
 * changed. The drop ledger counts each by stage, reason and service (metrics and the
 * `flowtrace_drops` table), so "where are my spans?" always has an answer.
 */
export type DropStage = 'receiver' | 'filter' | 'redact' | 'stitch' | 'sample' | 'pipeline' | 'exporter' | 'storage' | LogDropStage;

/**
 * The stages of log records (collector/src/logs/): the same ledger, its `droppedSpans` counting
 * log records there, so `/api/drops` and `flowtrace doctor` tell logs from spans by the stage.
 */
export type LogDropStage = 'logs/receiver' | 'logs/redact' | 'logs/exporter' | 'logs/storage';

export type DropReason =
  /** Refused at the receiver: bad IDs, times that cannot be encoded, missing start time. */
  | 'invalid'
  /** Refused at the receiver: older than its retention rule or `storage.retention_days` allows (the store would drop it at insert). */
  | 'too_old'
  /** Stored, then deleted with the oldest day partitions to stay within `storage.max_disk_gb`. */
  | 'disk_budget'
  /** Refused for backpressure or a quota: the client was told to retry. */
  | 'refused'
  /** Dropped by a filter rule or a redaction rule that drops spans. */
  | 'filtered'
  /** Not kept by head or tail sampling (counted, not stored). */
  | 'sampled_out'
  /** An exporter's backend rejected it for good, or it kept failing: in the dead-letter directory. */
  | 'dead_lettered'
  /** An exporter queue was full with `full_policy: drop_oldest`, or its records were damaged on disk. */
  | 'queue_dropped'
  /** Accepted, but could not be encoded for an exporter (a bug or a value the decoder let through). */
  | 'unencodable'
  /** Sent again (a `process` replica replaying after a crash): the embedded-store owner already stored it (pipeline/dedupe/). */
  | 'duplicate';

/** Changes to the values of stored spans. */
export type AlterationReason = 'masked' | 'truncated';

/**
 * The one place drops and alterations are reported. Every stage that does not hand a span on,
 * and every rule that changes a stored value, calls it; it must be cheap (counters in memory,
 * written to the table in the background) and must never throw.
 */
export interface DropRecorder {
  /** Spans not stored, counted under each span's `service.name`. */
  spans(stage: DropStage, reason: DropReason, spans: readonly Span[]): void;
  /** Spans not stored when only a count per service is known (e.g. refused while decoding). */
  count(stage: DropStage, reason: DropReason, service: string, spans: number): void;
  /** Values changed on spans that are stored (masked by redaction, truncated by limits). */
  values(stage: DropStage, reason: AlterationReason, service: string, values: number): void;
}
