import { Counter, type Registry } from 'prom-client';
import type { Span } from '../../model/span.js';
import type { AlterationReason, DropReason, DropRecorder, DropStage } from '../drops.js';
import { DropTally, OTHER_SERVICES } from './tally.js';

export interface DropLedgerOptions {
  /** Milliseconds since the epoch: which minute a count belongs to (test seam). */
  clock?: () => number;
  /** Distinct rows waiting for the table at most (see DropTally). */
  maxPendingRows?: number;
  /** Distinct `service` label values on the metrics at most; later services share one label. */
  maxMetricServices?: number;
}

/**
 * The drop ledger: every span FlowTrace does not store, and every value it changes, counted by
 * stage, reason and service as Prometheus counters and as rows for the `flowtrace_drops` table
 * (summed per minute in memory; DropTableWriter writes them in the background). Recording is a
 * few map updates: it never blocks and never throws.
 */
export class DropLedger implements DropRecorder {
  /** Rows not yet written to `flowtrace_drops`. */
  readonly pending: DropTally;
  private readonly dropped: Counter<'stage' | 'reason' | 'service'>;
  private readonly altered: Counter<'stage' | 'reason' | 'service'>;
  private readonly clock: () => number;
  private readonly metricServices = new Set<string>();
  private readonly maxMetricServices: number;

  constructor(registry: Registry, options: DropLedgerOptions = {}) {
    this.clock = options.clock ?? Date.now;
    this.pending = new DropTally(options.maxPendingRows);
    this.maxMetricServices = options.maxMetricServices ?? 1_000;
    this.dropped = new Counter({
      name: 'flowtrace_spans_dropped_by_stage_total',
      help: 'Spans not stored, by pipeline stage, reason and service (the drop ledger).',
      labelNames: ['stage', 'reason', 'service'] as const,
      registers: [registry],
    });
    this.altered = new Counter({
      name: 'flowtrace_values_altered_total',
      help: 'Values of stored spans changed (masked by redaction, truncated), by stage, reason and service.',
      labelNames: ['stage', 'reason', 'service'] as const,
      registers: [registry],
    });
  }

  spans(stage: DropStage, reason: DropReason, spans: readonly Span[]): void {
    if (spans.length === 0) return;
    // One update per run of spans of one service, not per span.
    let service = spans[0].resource.serviceName;
    let run = 0;
    for (const span of spans) {
      if (span.resource.serviceName !== service) {
        this.count(stage, reason, service, run);
        service = span.resource.serviceName;
        run = 0;
      }
      run++;
    }
    this.count(stage, reason, service, run);
  }

  count(stage: DropStage, reason: DropReason, service: string, spans: number): void {
    if (!(spans > 0)) return;
    this.dropped.inc({ stage, reason, service: this.metricService(service) }, spans);
    this.pending.add({ minute: this.minute(), stage, reason, service, droppedSpans: spans, alteredValues: 0 });
  }

  values(stage: DropStage, reason: AlterationReason, service: string, values: number): void {
    if (!(values > 0)) return;
    this.altered.inc({ stage, reason, service: this.metricService(service) }, values);
    this.pending.add({ minute: this.minute(), stage, reason, service, droppedSpans: 0, alteredValues: values });
  }

  private minute(): number {
    return Math.floor(this.clock() / 60_000) * 60;
  }

  /** Service names come from senders: the metrics keep a bounded number of label values. */
  private metricService(service: string): string {
    if (this.metricServices.has(service)) return service;
    if (this.metricServices.size >= this.maxMetricServices) return OTHER_SERVICES;
    this.metricServices.add(service);
    return service;
  }
}
