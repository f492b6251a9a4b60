import type { Span } from '../model/span.js';
import type { Consumer } from '../pipeline/stage.js';
import { Ingest, type IngestContext, type IngestRequest, type Transport } from './ingest.js';

/** The pipeline as the receiver tests see it: every span handed on. */
export class Capture implements Consumer {
  spans: Span[] = [];
  async consume(spans: Span[]): Promise<void> {
    this.spans.push(...spans);
  }
}

/** Ingest that also records the context each accepted request came with. */
export class RecordingIngest extends Ingest {
  contexts: Array<IngestContext | undefined> = [];
  override async accept(transport: Transport, decoded: IngestRequest, context?: IngestContext): Promise<void> {
    this.contexts.push(context);
    return super.accept(transport, decoded, context);
  }
}
