import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TailMetrics } from './query/tail/tail-hub.js';

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
  readonly spansAcceptedAsRows = new Counter({
    name: 'flowtrace_receiver_spans_accepted_as_rows_total',
    help: 'Of the accepted spans, those taken from OTLP protobuf straight into storage rows, without span objects (no processors, storage the only exporter).',
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

  // Alerts (alerts/): what the rules did and whether their webhooks heard of it.
  readonly alertTransitions = new Counter({
    name: 'flowtrace_alerts_transitions_total',
    help: 'Alert transitions per rule: state firing (a series started firing) or resolved.',
    labelNames: ['rule', 'state'] as const,
    registers: [this.registry],
  });
  readonly alertsFiring = new Gauge({
    name: 'flowtrace_alerts_firing',
    help: 'Series of a rule firing after the last evaluation round.',
    labelNames: ['rule'] as const,
    registers: [this.registry],
  });
  readonly alertEvaluationErrors = new Counter({
    name: 'flowtrace_alerts_evaluation_errors_total',
    help: 'Rules not evaluated in a round because their source failed (their series keep their state).',
    labelNames: ['rule'] as const,
    registers: [this.registry],
  });
  readonly alertEvaluationSeconds = new Gauge({
    name: 'flowtrace_alerts_last_evaluation_duration_seconds',
    help: 'How long the last evaluation round over every rule took.',
    registers: [this.registry],
  });
  readonly alertLastEvaluation = new Gauge({
    name: 'flowtrace_alerts_last_evaluation_timestamp_seconds',
    help: 'When the last evaluation round ended, seconds since the epoch.',
    registers: [this.registry],
  });
  readonly alertDeliveries = new Counter({
    name: 'flowtrace_alerts_webhook_deliveries_total',
    help: 'Notifications per webhook: outcome ok (delivered) or failed (given up after its retries).',
    labelNames: ['webhook', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly alertDeliveryRetries = new Counter({
    name: 'flowtrace_alerts_webhook_retries_total',
    help: 'Webhook attempts after a failed one (network error, timeout, 429 or 5xx).',
    labelNames: ['webhook'] as const,
    registers: [this.registry],
  });
  readonly alertNotificationsDropped = new Counter({
    name: 'flowtrace_alerts_notifications_dropped_total',
    help: 'Notifications dropped because max_pending_notifications were already waiting.',
    labelNames: ['webhook'] as const,
    registers: [this.registry],
  });
  readonly alertNotificationsPending = new Gauge({
    name: 'flowtrace_alerts_notifications_pending',
    help: 'Notifications waiting for delivery, over every webhook.',
    registers: [this.registry],
  });

  /** Live tail (`/api/tail`, query/tail/): clients, spans sent, spans dropped for slow clients or the rate cap, refusals. */
  readonly tailClients = new Gauge({
    name: 'flowtrace_tail_clients',
    help: 'Live tail clients (/api/tail) connected now (at most api.tail.max_clients).',
    registers: [this.registry],
  });
  readonly tailSpansSent = new Counter({
    name: 'flowtrace_tail_spans_sent_total',
    help: 'Spans written to live tail clients (a span two clients get counts twice).',
    registers: [this.registry],
  });
  readonly tailSpansDropped = new Counter({
    name: 'flowtrace_tail_spans_dropped_total',
    help: 'Spans a live tail client matched but did not get: slow_client (its queue of api.tail.queue_spans was full), rate_limit (over api.tail.max_spans_per_second for all clients). Ingest never waits for a client.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly tailClientsRefused = new Counter({
    name: 'flowtrace_tail_clients_refused_total',
    help: 'Live tail clients answered 429 because api.tail.max_clients were connected.',
    registers: [this.registry],
  });
  /** The live tail hub's view of the four above (query/tail/tail-hub.ts TailMetrics). */
  readonly tail: TailMetrics = {
    clients: (count) => this.tailClients.set(count),
    sent: (count) => this.tailSpansSent.inc(count),
    dropped: (reason, count) => this.tailSpansDropped.inc({ reason }, count),
    refused: () => this.tailClientsRefused.inc(),
  };

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'flowtrace_' });
    // Both reasons show from the start, at 0, so that a rate() over them has a series to work on.
    for (const reason of ['slow_client', 'rate_limit'] as const) this.tailSpansDropped.inc({ reason }, 0);
  }
}
