import type { LogRecord } from '../model/log-record.js';
import type { DropRecorder, LogDropStage } from '../pipeline/drops.js';
import { QueueFullError, PipelineUnavailableError } from '../pipeline/stage.js';
import type { IngestContext } from '../receivers/ingest.js';
import { LOG_RECORD, type DecodedLogs } from '../receivers/otlp/log-validation.js';
import { decodeLogsJsonBody } from '../receivers/otlp/logs-json-decoder.js';
import { decodeLogsRequestInSlices, SLICE_BYTES } from '../receivers/otlp/sliced-decoder.js';
import type { DecodeOptions } from '../receivers/otlp/span-validation.js';
import type { IngestQuotas, SpanCounts } from '../receivers/quota.js';
import { checkRowBytes } from '../receivers/row-size.js';
import type { LogMetrics, LogTransport } from './log-metrics.js';
import type { LogQueues } from './log-queues.js';
import type { LogRedaction } from './log-redaction.js';

/** The drop-ledger stage of log records refused at the receivers. */
export const LOGS_RECEIVER_STAGE: LogDropStage = 'logs/receiver';

/** Why a logs request was refused whole before its records were looked at. */
export type LogsRequestRefusal = 'malformed' | 'too_large' | 'unsupported_media_type' | 'unauthenticated' | 'permission_denied' | 'unimplemented';

/** This collector neither stores nor forwards logs (its role, its exporters): HTTP 501 / gRPC UNIMPLEMENTED. */
export class LogsUnimplementedError extends Error {
  override name = 'LogsUnimplementedError';
}

/** The retry hint when the log queues failed for a reason other than capacity. */
const UNAVAILABLE_RETRY_SECONDS = 5;

export interface LogIngestOptions {
  /** Where accepted records go; absent when this collector cannot keep logs (`unavailable` says why). */
  queues?: LogQueues;
  /** Why logs are refused when there are no queues (the 501's message). */
  unavailable?: string;
  /** The ingest quotas shared with spans: a log record counts as one span in the same buckets. */
  quotas?: IngestQuotas;
  drops?: DropRecorder;
  /** The redact processor's rules, when `redact` is in `pipeline.processors`. */
  redaction?: LogRedaction;
  /**
   * The most bytes one request may take as storage rows (`receivers.otlp.max_in_flight_mib`, as
   * for spans: each row repeats its resource's and scope's attributes); unbounded when absent.
   */
  maxRowBytes?: number;
}

/**
 * What both OTLP receivers do with a logs request, as Ingest does with spans: decode, count,
 * check the quotas, redact, put the records in every log queue, and count the outcome; a resolved
 * `accept` may be acknowledged (the records are on disk). Refusals are in the drop ledger under
 * `logs/receiver` (and the queues' under `logs/exporter`), by service and reason.
 */
export class LogIngest {
  constructor(
    private readonly metrics: LogMetrics,
    private readonly options: LogIngestOptions,
  ) {}

  /** Throws LogsUnimplementedError when this collector does not take logs. */
  checkAvailable(transport: LogTransport): void {
    if (this.options.queues) return;
    this.refused(transport, 'unimplemented');
    throw new LogsUnimplementedError(this.options.unavailable ?? 'this collector does not take logs');
  }

  /** In ~256 KB slices (sliced-decoder.ts), so a large request does not hold the event loop. */
  decodeProtobuf(bytes: Uint8Array, options?: DecodeOptions): Promise<DecodedLogs> {
    return decodeLogsRequestInSlices(bytes, SLICE_BYTES, options);
  }

  decodeJson(body: Uint8Array, options?: DecodeOptions): DecodedLogs {
    return decodeLogsJsonBody(body, options);
  }

  async accept(transport: LogTransport, decoded: DecodedLogs, context?: IngestContext): Promise<void> {
    const { records } = decoded;
    const drops = this.options.drops;
    this.metrics.received.inc({ transport }, records.length + decoded.rejectedRecords);
    if (decoded.rejectedRecords > 0) {
      this.metrics.refused.inc({ transport, reason: 'invalid' }, decoded.rejectedRecords);
      if (decoded.rejections?.length) for (const r of decoded.rejections) drops?.count(LOGS_RECEIVER_STAGE, r.reason, r.service, r.spans);
      else drops?.count(LOGS_RECEIVER_STAGE, 'invalid', '', decoded.rejectedRecords);
    }
    if (records.length === 0) return;
    const queues = this.options.queues;
    if (!queues) throw new LogsUnimplementedError(this.options.unavailable ?? 'this collector does not take logs');
    try {
      checkRowBytes(records, context?.bytes ?? 0, this.options.maxRowBytes, LOG_RECORD);
    } catch (err) {
      this.refused(transport, 'too_large');
      throw err;
    }
    try {
      this.options.quotas?.admit(countsOf(records), context);
    } catch (err) {
      this.refuse(transport, 'quota', records);
      throw err;
    }
    try {
      // Before anything is queued: no queue, exporter or table ever holds what the rules mask.
      this.options.redaction?.redact(records);
      await queues.consume(records);
    } catch (err) {
      const reason = err instanceof QueueFullError ? 'backpressure' : 'unavailable';
      this.refuse(transport, reason, records);
      if (err instanceof QueueFullError) throw err;
      throw new PipelineUnavailableError(`could not keep the log records: ${err instanceof Error ? err.message : String(err)}; retry later`, UNAVAILABLE_RETRY_SECONDS);
    }
    this.metrics.accepted.inc({ transport }, records.length);
    for (const t of decoded.truncations ?? []) drops?.values(LOGS_RECEIVER_STAGE, 'truncated', t.service, t.values);
  }

  refused(transport: LogTransport, reason: LogsRequestRefusal): void {
    this.metrics.requestsRefused.inc({ transport, reason });
  }

  private refuse(transport: LogTransport, reason: 'quota' | 'backpressure' | 'unavailable', records: readonly LogRecord[]): void {
    this.metrics.refused.inc({ transport, reason }, records.length);
    this.metrics.requestsRefused.inc({ transport, reason });
    // The client is told to retry: these are not stored.
    for (const [service, n] of countsOf(records).countsByService()) this.options.drops?.count(LOGS_RECEIVER_STAGE, 'refused', service, n);
  }

  async start(): Promise<void> {
    await this.options.queues?.start();
  }

  async shutdown(): Promise<void> {
    await this.options.queues?.shutdown();
  }
}

function countsOf(records: readonly LogRecord[]): SpanCounts {
  return {
    count: records.length,
    countsByService() {
      const byService = new Map<string, number>();
      for (const r of records) byService.set(r.resource.serviceName, (byService.get(r.resource.serviceName) ?? 0) + 1);
      return byService;
    },
  };
}
