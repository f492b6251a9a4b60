import { PipelineUnavailableError, QueueFullError, type Consumer } from '../pipeline/stage.js';
import type { DropRecorder } from '../pipeline/drops.js';
import type { Principal } from '../auth/principal.js';
import type { CollectorMetrics } from '../telemetry.js';
import type { DecodedTraces } from './otlp/proto-decoder.js';
import type { IngestQuotas } from './quota.js';
import type { SenderClocks } from './sender-clocks.js';

export type Transport = 'grpc' | 'http';

/** Who sent a request and how big it was: what ingest quotas are counted against. */
export interface IngestContext {
  /** The verified sender when ingest auth is on; absent for unauthenticated ingest. */
  principal?: Principal;
  /** The client's address (quota key for unauthenticated ingest). */
  remoteAddress?: string;
  /** Request size in bytes as received (after decompression). */
  bytes: number;
}

/** What ingest reports to besides its metrics. */
export interface IngestObservers {
  /** The drop ledger: spans refused here, by service and reason. */
  drops?: DropRecorder;
  /** The clock skew of recent senders (`/api/status`). */
  clocks?: SenderClocks;
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
    private readonly observers: IngestObservers = {},
  ) {}

  async accept(transport: Transport, decoded: DecodedTraces, context?: IngestContext): Promise<void> {
    const received = decoded.spans.length + decoded.rejectedSpans;
    this.metrics.spansReceived.inc({ transport }, received);
    if (decoded.rejectedSpans > 0) {
      this.metrics.spansRefused.inc({ transport, reason: 'invalid' }, decoded.rejectedSpans);
      this.recordRejections(decoded);
    }
    if (decoded.spans.length === 0) return;
    this.observers.clocks?.observe(decoded.spans);
    try {
      // Over a quota the request is refused whole: nothing of it enters the pipeline.
      this.quotas?.admit(decoded.spans, context);
    } catch (err) {
      this.metrics.spansRefused.inc({ transport, reason: 'quota' }, decoded.spans.length);
      this.observers.drops?.spans('receiver', 'refused', decoded.spans);
      this.metrics.requestsRefused.inc({ transport, reason: 'quota' });
      throw err;
    }
    try {
      await this.pipeline.consume(decoded.spans);
    } catch (err) {
      const reason = err instanceof QueueFullError ? 'backpressure' : 'unavailable';
      this.metrics.spansRefused.inc({ transport, reason }, decoded.spans.length);
      this.metrics.requestsRefused.inc({ transport, reason });
      // Backpressure or a failed pipeline: the client is told to retry, and these are not stored.
      this.observers.drops?.spans('receiver', 'refused', decoded.spans);
      if (err instanceof QueueFullError) throw err;
      throw new PipelineUnavailableError(`could not keep the spans: ${err instanceof Error ? err.message : String(err)}; retry later`, UNAVAILABLE_RETRY_SECONDS);
    }
    this.metrics.spansAccepted.inc({ transport }, decoded.spans.length);
    // Values cut to storage.max_attribute_value_bytes: alterations of spans now kept.
    for (const t of decoded.truncations ?? []) this.observers.drops?.values('receiver', 'truncated', t.service, t.values);
  }

  /** Per service and reason when the decoder said so; else all as invalid, service unknown. */
  private recordRejections(decoded: DecodedTraces): void {
    const drops = this.observers.drops;
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
