import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The collector's own Prometheus metrics, served at `GET /metrics` on the API port. */
export class CollectorMetrics {
  readonly registry = new Registry();

  readonly spansReceived = new Counter({
    name: 'flowtrace_receiver_spans_received_total',
    help: 'Spans decoded from OTLP requests, before validation and backpressure.',
    labelNames: ['transport'] as const,
    registers: [this.registry],
  });
  readonly spansAccepted = new Counter({
    name: 'flowtrace_receiver_spans_accepted_total',
    help: 'Spans accepted into the pipeline and acknowledged to the client.',
    labelNames: ['transport'] as const,
    registers: [this.registry],
  });
  readonly spansRefused = new Counter({
    name: 'flowtrace_receiver_spans_refused_total',
    help: 'Spans refused: invalid (bad IDs), backpressure (queue full).',
    labelNames: ['transport', 'reason'] as const,
    registers: [this.registry],
  });
  readonly requestsRefused = new Counter({
    name: 'flowtrace_receiver_requests_refused_total',
    help: 'Requests refused whole: malformed, too_large, unsupported_media_type, backpressure.',
    labelNames: ['transport', 'reason'] as const,
    registers: [this.registry],
  });
  readonly spansExported = new Counter({
    name: 'flowtrace_exporter_spans_sent_total',
    help: 'Spans an exporter delivered.',
    labelNames: ['exporter'] as const,
    registers: [this.registry],
  });
  readonly exportFailures = new Counter({
    name: 'flowtrace_exporter_send_failed_total',
    help: 'Failed export attempts (each is retried).',
    labelNames: ['exporter'] as const,
    registers: [this.registry],
  });
  readonly queueSpans = new Gauge({
    name: 'flowtrace_exporter_queue_spans',
    help: 'Spans held for an exporter: batching, in flight or waiting to retry.',
    labelNames: ['exporter'] as const,
    registers: [this.registry],
  });
  readonly queueCapacity = new Gauge({
    name: 'flowtrace_exporter_queue_capacity_spans',
    help: 'Spans an exporter queue holds before receivers answer 429 / RESOURCE_EXHAUSTED.',
    labelNames: ['exporter'] as const,
    registers: [this.registry],
  });
  readonly exportLatency = new Histogram({
    name: 'flowtrace_exporter_send_duration_seconds',
    help: 'Time to deliver one batch.',
    labelNames: ['exporter'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'flowtrace_' });
  }
}
