import { PipelineUnavailableError, QueueFullError, type Consumer } from '../pipeline/stage.js';
import type { CollectorMetrics } from '../telemetry.js';
import type { DecodedTraces } from './otlp/proto-decoder.js';

export type Transport = 'grpc' | 'http';

/** The retry hint when the pipeline failed for a reason other than capacity. */
const UNAVAILABLE_RETRY_SECONDS = 5;

/**
 * What both OTLP receivers do with a decoded request: count it, hand the valid spans to
 * the pipeline (which may refuse them for backpressure by throwing QueueFullError), and
 * count the outcome. Only a resolved call may be acknowledged to the client.
 */
export class Ingest {
  constructor(
    private readonly pipeline: Consumer,
    private readonly metrics: CollectorMetrics,
  ) {}

  async accept(transport: Transport, decoded: DecodedTraces): Promise<void> {
    const received = decoded.spans.length + decoded.rejectedSpans;
    this.metrics.spansReceived.inc({ transport }, received);
    if (decoded.rejectedSpans > 0) this.metrics.spansRefused.inc({ transport, reason: 'invalid' }, decoded.rejectedSpans);
    if (decoded.spans.length === 0) return;
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

  refused(transport: Transport, reason: 'malformed' | 'too_large' | 'unsupported_media_type'): void {
    this.metrics.requestsRefused.inc({ transport, reason });
  }
}
