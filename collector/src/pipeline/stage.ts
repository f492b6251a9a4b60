import type { Span } from '../model/span.js';

/**
 * A pipeline stage receives a batch of spans and hands a batch on (the OpenTelemetry
 * Collector's consumer contract). `consume` resolves once the stage has taken
 * responsibility for the spans — not necessarily once they are stored — and rejects
 * with {@link QueueFullError} when it cannot take them now.
 */
export interface Consumer {
  consume(spans: Span[]): Promise<void>;
}

/** A component with a life cycle: processors, exporters, queues. */
export interface Component {
  start(): Promise<void>;
  /** Flush what was accepted, then release resources. */
  shutdown(): Promise<void>;
}

export interface Stage extends Consumer, Component {}

/**
 * The pipeline failed to take spans for a reason other than capacity (a disk error writing a
 * queue, a processor failing closed): receivers answer 503 / UNAVAILABLE, which OTLP clients
 * retry — a 500 would make them drop the data.
 */
export class PipelineUnavailableError extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
    this.name = 'PipelineUnavailableError';
  }
}

/** Thrown by a stage that is at capacity; receivers answer 429 / RESOURCE_EXHAUSTED. */
export class QueueFullError extends Error {
  constructor(
    message: string,
    /** How long the client should wait before retrying, in seconds. */
    readonly retryAfterSeconds: number,
  ) {
    super(message);
    this.name = 'QueueFullError';
  }
}
