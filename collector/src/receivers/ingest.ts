import { PipelineUnavailableError, QueueFullError, type Consumer } from '../pipeline/stage.js';
import type { Principal } from '../auth/principal.js';
import type { CollectorMetrics } from '../telemetry.js';
import type { DecodedTraces } from './otlp/proto-decoder.js';
import type { IngestQuotas } from './quota.js';

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
  ) {}

  async accept(transport: Transport, decoded: DecodedTraces, context?: IngestContext): Promise<void> {
    const received = decoded.spans.length + decoded.rejectedSpans;
    this.metrics.spansReceived.inc({ transport }, received);
    if (decoded.rejectedSpans > 0) this.metrics.spansRefused.inc({ transport, reason: 'invalid' }, decoded.rejectedSpans);
    if (decoded.spans.length === 0) return;
    try {
      // Over a quota the request is refused whole: nothing of it enters the pipeline.
      this.quotas?.admit(decoded.spans, context);
    } catch (err) {
      this.metrics.spansRefused.inc({ transport, reason: 'quota' }, decoded.spans.length);
      this.metrics.requestsRefused.inc({ transport, reason: 'quota' });
      throw err;
    }
    try {
      await this.pipeline.consume(decoded.spans);
    } catch (err) {
      const reason = err instanceof QueueFullError ? 'backpressure' : 'unavailable';
      this.metrics.spansRefused.inc({ transport, reason }, decoded.spans.length);
      this.metrics.requestsRefused.inc({ transport, reason });
      if (err instanceof QueueFullError) throw err;
      throw new PipelineUnavailableError(`could not keep the spans: ${err instanceof Error ? err.message : String(err)}; retry later`, UNAVAILABLE_RETRY_SECONDS);
    }
    this.metrics.spansAccepted.inc({ transport }, decoded.spans.length);
  }

  refused(transport: Transport, reason: 'malformed' | 'too_large' | 'unsupported_media_type' | 'unauthenticated' | 'permission_denied'): void {
    this.metrics.requestsRefused.inc({ transport, reason });
  }
}
