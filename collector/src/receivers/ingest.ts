import { PipelineUnavailableError, QueueFullError, type Consumer } from '../pipeline/stage.js';
import type { DropRecorder } from '../pipeline/drops.js';
import type { Principal } from '../auth/principal.js';
import type { CollectorMetrics } from '../telemetry.js';
import type { Span } from '../model/span.js';
import { takesRows, type RowBatch, type RowConsumer } from '../pipeline/row-batch.js';
import { RequestTooLargeError } from './otlp/errors.js';
import type { DecodedTraces, DecodeOptions } from './otlp/proto-decoder.js';
import type { TranscodedTraces } from './otlp/rowbinary-transcoder.js';
import { decodeTraceRequestInSlices, SLICE_BYTES, transcodeTraceRequestInSlices } from './otlp/sliced-decoder.js';
import { checkRowBytes } from './row-size.js';
import type { IngestQuotas } from './quota.js';
import type { SenderClocks } from './sender-clocks.js';

/** Where a request came from: the OTLP receivers, or `receivers.kafka` (the `process` tier). */
export type Transport = 'grpc' | 'http' | 'kafka';

/** Who sent a request and how big it was: what ingest quotas are counted against. */
export interface IngestContext {
  /** The verified sender when ingest auth is on; absent for unauthenticated ingest. */
  principal?: Principal;
  /** The client's address (quota key for unauthenticated ingest). */
  remoteAddress?: string;
  /** Request size in bytes as received (after decompression). */
  bytes: number;
}

/** What ingest reports to besides its metrics, and its limits. */
export interface IngestOptions {
  /**
   * The most bytes one request may take as storage rows (`receivers.otlp.max_in_flight_mib`):
   * checked on the object path here (row-size.ts), by the transcoder on the rows path
   * (`DecodeOptions.maxRowBytes`). Unbounded when absent.
   */
  maxRowBytes?: number;
  /** The drop ledger: spans refused here, by service and reason. */
  drops?: DropRecorder;
  /** The clock skew of recent senders (`/api/status`). */
  clocks?: SenderClocks;
}

/** A protobuf request made into storage rows, with the request kept to decode it again on demand. */
export interface TranscodedRequest extends Omit<TranscodedTraces, 'spans' | 'rowBinary' | 'summary'> {
  batch: RowBatch;
}

/** What a receiver hands to ingest: spans as objects, or rows when the pipeline takes them. */
export type IngestRequest = DecodedTraces | TranscodedRequest;

function isTranscoded(request: IngestRequest): request is TranscodedRequest {
  return 'batch' in request;
}

/** The retry hint when the pipeline failed for a reason other than capacity. */
const UNAVAILABLE_RETRY_SECONDS = 5;

/**
 * What both OTLP receivers do with a decoded request: count it, check it against the ingest
 * quotas, hand the valid spans to the pipeline (which may refuse them for backpressure by
 * throwing QueueFullError), and count the outcome. Only a resolved call may be acknowledged.
 */
export class Ingest {
  constructor(
    private readonly pipeline: Consumer,
    private readonly metrics: CollectorMetrics,
    private readonly quotas?: IngestQuotas,
    private readonly options: IngestOptions = {},
  ) {}

  /**
   * Reads an OTLP protobuf request (in slices when large): straight into storage rows when the
   * pipeline takes rows (no processors, storage the only exporter: pipeline/row-batch.ts),
   * else into spans. Throws OtlpDecodeError for a malformed request, whichever path, and
   * RequestTooLargeError when its rows would pass `maxRowBytes`.
   */
  async readProtobuf(transport: Transport, bytes: Uint8Array, options?: DecodeOptions): Promise<IngestRequest> {
    if (!takesRows(this.pipeline)) return decodeTraceRequestInSlices(bytes, SLICE_BYTES, options);
    let transcoded;
    try {
      transcoded = await transcodeTraceRequestInSlices(bytes, SLICE_BYTES, { ...options, maxRowBytes: this.options.maxRowBytes });
    } catch (err) {
      if (err instanceof RequestTooLargeError) this.metrics.requestsRefused.inc({ transport, reason: 'too_large' });
      throw err;
    }
    const { rowBinary, spans: _count, summary, ...outcome } = transcoded;
    // Only the live tail with a client asks for objects; by the transcoder's contract they are the rows' spans.
    const decodeSpans = async (): Promise<Span[]> => (await decodeTraceRequestInSlices(bytes, SLICE_BYTES, options)).spans;
    return { ...outcome, batch: { rows: rowBinary, summary, decodeSpans } };
  }

  async accept(transport: Transport, request: IngestRequest, context?: IngestContext): Promise<void> {
    const rows = isTranscoded(request) ? request.batch : undefined;
    const spans = isTranscoded(request) ? undefined : request.spans;
    const count = rows ? rows.summary.count : spans!.length;
    this.metrics.spansReceived.inc({ transport }, count + request.rejectedSpans);
    if (request.rejectedSpans > 0) {
      this.metrics.spansRefused.inc({ transport, reason: 'invalid' }, request.rejectedSpans);
      this.recordRejections(request);
    }
    if (count === 0) return;
    if (spans) {
      try {
        checkRowBytes(spans, context?.bytes ?? 0, this.options.maxRowBytes);
      } catch (err) {
        this.metrics.requestsRefused.inc({ transport, reason: 'too_large' });
        throw err;
      }
    }
    if (rows) this.options.clocks?.observeRuns(rows.summary.resourceRuns());
    else this.options.clocks?.observe(spans!);
    try {
      // Over a quota the request is refused whole: nothing of it enters the pipeline.
      this.quotas?.admit(rows ? rows.summary : spans!, context);
    } catch (err) {
      this.metrics.spansRefused.inc({ transport, reason: 'quota' }, count);
      this.recordRefused(rows, spans);
      this.metrics.requestsRefused.inc({ transport, reason: 'quota' });
      throw err;
    }
    const asRows = rows !== undefined && takesRows(this.pipeline);
    try {
      if (asRows) await (this.pipeline as RowConsumer).consumeRows(rows);
      else await this.pipeline.consume(spans ?? (await rows!.decodeSpans()));
    } catch (err) {
      const reason = err instanceof QueueFullError ? 'backpressure' : 'unavailable';
      this.metrics.spansRefused.inc({ transport, reason }, count);
      this.metrics.requestsRefused.inc({ transport, reason });
      // Backpressure or a failed pipeline: the client is told to retry, and these are not stored.
      this.recordRefused(rows, spans);
      if (err instanceof QueueFullError) throw err;
      throw new PipelineUnavailableError(`could not keep the spans: ${err instanceof Error ? err.message : String(err)}; retry later`, UNAVAILABLE_RETRY_SECONDS);
    }
    this.metrics.spansAccepted.inc({ transport }, count);
    if (asRows) this.metrics.spansAcceptedAsRows.inc({ transport }, count);
    // Values cut to storage.max_attribute_value_bytes: alterations of spans now kept.
    for (const t of request.truncations ?? []) this.options.drops?.values('receiver', 'truncated', t.service, t.values);
  }

  /** Refused spans in the drop ledger, by service. */
  private recordRefused(rows: RowBatch | undefined, spans: readonly Span[] | undefined): void {
    const drops = this.options.drops;
    if (!drops) return;
    if (spans) drops.spans('receiver', 'refused', spans);
    else for (const [service, n] of rows!.summary.countsByService()) drops.count('receiver', 'refused', service, n);
  }

  /** Per service and reason when the decoder said so; else all as invalid, service unknown. */
  private recordRejections(decoded: IngestRequest): void {
    const drops = this.options.drops;
    if (!drops) return;
    if (decoded.rejections && decoded.rejections.length > 0) {
      for (const r of decoded.rejections) drops.count('receiver', r.reason, r.service, r.spans);
    } else {
      drops.count('receiver', 'invalid', '', decoded.rejectedSpans);
    }
  }

  refused(transport: Transport, reason: 'malformed' | 'too_large' | 'unsupported_media_type' | 'unauthenticated' | 'permission_denied'): void {
    this.metrics.requestsRefused.inc({ transport, reason });
  }
}
