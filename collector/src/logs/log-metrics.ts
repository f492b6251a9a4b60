import { Counter, type Registry } from 'prom-client';

/** Where a logs request came from. */
export type LogTransport = 'grpc' | 'http';

/**
 * The receivers' log counters, beside the span ones (telemetry.ts's `flowtrace_receiver_spans_*`):
 * records received, accepted (on disk in every log queue) and refused by reason, and whole
 * requests refused.
 */
export class LogMetrics {
  readonly received: Counter<'transport'>;
  readonly accepted: Counter<'transport'>;
  readonly refused: Counter<'transport' | 'reason'>;
  readonly requestsRefused: Counter<'transport' | 'reason'>;
  readonly redactions: Counter<'kind' | 'action'>;

  constructor(registry: Registry) {
    this.received = new Counter({ name: 'flowtrace_receiver_log_records_received_total', help: 'OTLP log records received, valid or not.', labelNames: ['transport'], registers: [registry] });
    this.accepted = new Counter({ name: 'flowtrace_receiver_log_records_accepted_total', help: 'OTLP log records accepted: on disk in every log queue.', labelNames: ['transport'], registers: [registry] });
    this.refused = new Counter({
      name: 'flowtrace_receiver_log_records_refused_total',
      help: 'OTLP log records refused, by reason (invalid, quota, backpressure, unavailable).',
      labelNames: ['transport', 'reason'],
      registers: [registry],
    });
    this.requestsRefused = new Counter({
      name: 'flowtrace_receiver_log_requests_refused_total',
      help: 'OTLP logs requests refused whole, by reason (malformed, too_large, quota, backpressure, unavailable, unimplemented, unauthenticated…).',
      labelNames: ['transport', 'reason'],
      registers: [registry],
    });
    this.redactions = new Counter({
      name: 'flowtrace_logs_redactions_total',
      help: 'Values of log records redacted, by kind (detector, custom rule or key) and action (mask, hash, drop).',
      labelNames: ['kind', 'action'],
      registers: [registry],
    });
  }
}
