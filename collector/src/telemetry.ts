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
    help: 'Spans refused: invalid (bad IDs), backpressure (queue full), unavailable (the pipeline failed; the client retries).',
    labelNames: ['transport', 'reason'] as const,
    registers: [this.registry],
  });
  readonly requestsRefused = new Counter({
    name: 'flowtrace_receiver_requests_refused_total',
    help: 'Requests refused whole: malformed, too_large, unsupported_media_type, backpressure, unavailable.',
    labelNames: ['transport', 'reason'] as const,
    registers: [this.registry],
  });
  readonly connectionsRefused = new Counter({
    name: 'flowtrace_server_connections_refused_total',
    help: 'Connections closed at once because the port had max_connections open (port: otlp-grpc, otlp-http, api).',
    labelNames: ['port'] as const,
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
    help: 'Failed export attempts (retried unless permanent; see dead-lettered).',
    labelNames: ['exporter'] as const,
    registers: [this.registry],
  });
  readonly exportRetries = new Counter({
    name: 'flowtrace_exporter_send_retries_total',
    help: 'Sends of a batch that had failed before (after a backoff).',
    labelNames: ['exporter'] as const,
    registers: [this.registry],
  });
  readonly queueSpans = new Gauge({
    name: 'flowtrace_exporter_queue_spans',
    help: 'Spans held for an exporter and not yet delivered: waiting, in flight or waiting to retry.',
    labelNames: ['exporter'] as const,
    registers: [this.registry],
  });
  readonly queueRecords = new Gauge({
    name: 'flowtrace_exporter_queue_records',
    help: 'Records (one per accepted request) in an exporter queue and not yet delivered.',
    labelNames: ['exporter'] as const,
    registers: [this.registry],
  });
  readonly queueBytes = new Gauge({
    name: 'flowtrace_exporter_queue_bytes',
    help: 'Bytes of the records in an exporter queue not yet delivered.',
    labelNames: ['exporter'] as const,
    registers: [this.registry],
  });
  readonly queueDiskBytes = new Gauge({
    name: 'flowtrace_exporter_queue_disk_bytes',
    help: 'Bytes of an exporter queue\'s segment files on disk, delivered records included until their segment is deleted: what max_bytes bounds.',
    labelNames: ['exporter'] as const,
    registers: [this.registry],
  });
  readonly queueCapacityBytes = new Gauge({
    name: 'flowtrace_exporter_queue_capacity_bytes',
    help: 'Bytes on disk an exporter queue holds (max_bytes) before it refuses (429 / RESOURCE_EXHAUSTED) or drops its oldest records.',
    labelNames: ['exporter'] as const,
    registers: [this.registry],
  });
  readonly spansDropped = new Counter({
    name: 'flowtrace_exporter_queue_spans_dropped_total',
    help: 'Spans never sent: dropped to make room (full_policy drop_oldest) or unreadable on disk.',
    labelNames: ['exporter', 'reason'] as const,
    registers: [this.registry],
  });
  readonly spansDeadLettered = new Counter({
    name: 'flowtrace_exporter_spans_dead_lettered_total',
    help: 'Spans in batches the backend rejected for good (or retried past max_elapsed_ms), kept in the queue\'s dead-letter directory.',
    labelNames: ['exporter'] as const,
    registers: [this.registry],
  });
  readonly batchesDeadLettered = new Counter({
    name: 'flowtrace_exporter_batches_dead_lettered_total',
    help: 'Batches moved to the dead-letter directory instead of being retried.',
    labelNames: ['exporter'] as const,
    registers: [this.registry],
  });
  readonly exportLatency = new Histogram({
    name: 'flowtrace_exporter_send_duration_seconds',
    help: 'Time to deliver one batch (successful sends).',
    labelNames: ['exporter'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'flowtrace_' });
  }
}
