import { Counter, Gauge, type Registry } from 'prom-client';

/** The stitch processor's metrics, `flowtrace_processor_stitch_…` on the collector's registry. */
export class StitchMetrics {
  readonly tracesStitched: Counter<'reason'>;
  readonly callsPaired: Counter;
  readonly edgesWritten: Counter;
  readonly orphans: Counter;
  readonly correlationJoins: Counter<'recorded'>;
  readonly clockSkewAdjustments: Counter;
  readonly rowsWritten: Counter<'table'>;
  readonly writeFailures: Counter<'table'>;
  readonly rowsDropped: Counter<'table'>;
  readonly held: Gauge<'what'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.tracesStitched = new Counter({
      name: 'flowtrace_processor_stitch_traces_total',
      help: 'Trace pieces stitched, by why they left the buffer: complete (wait passed), evicted (memory bound), shutdown.',
      labelNames: ['reason'],
      registers,
    });
    this.callsPaired = new Counter({
      name: 'flowtrace_processor_stitch_calls_paired_total',
      help: 'Client/producer spans paired with the server/consumer span they called in another service.',
      registers,
    });
    this.edgesWritten = new Counter({
      name: 'flowtrace_processor_stitch_edges_written_total',
      help: 'Service-graph edges written to flowtrace_service_graph (one row per caller, callee, operation and minute per flush).',
      registers,
    });
    this.orphans = new Counter({
      name: 'flowtrace_processor_stitch_orphan_spans_total',
      help: 'Spans whose parent did not arrive within the wait (flagged flowtrace.orphan).',
      registers,
    });
    this.correlationJoins = new Counter({
      name: 'flowtrace_processor_stitch_correlation_joins_total',
      help: 'Pieces of one correlation ID found under different trace IDs: recorded as a span link, or in flowtrace_correlations only.',
      labelNames: ['recorded'],
      registers,
    });
    this.clockSkewAdjustments = new Counter({
      name: 'flowtrace_processor_stitch_clock_skew_adjustments_total',
      help: 'Server spans found outside their client span in another service, whose offset was stored.',
      registers,
    });
    this.rowsWritten = new Counter({
      name: 'flowtrace_processor_stitch_rows_written_total',
      help: 'Side-table rows written, by table.',
      labelNames: ['table'],
      registers,
    });
    this.writeFailures = new Counter({
      name: 'flowtrace_processor_stitch_write_failures_total',
      help: 'Failed side-table INSERTs (their rows are retried), by table.',
      labelNames: ['table'],
      registers,
    });
    this.rowsDropped = new Counter({
      name: 'flowtrace_processor_stitch_rows_dropped_total',
      help: 'Side-table rows dropped because too many waited for a failing ClickHouse, by table.',
      labelNames: ['table'],
      registers,
    });
    this.held = new Gauge({
      name: 'flowtrace_processor_stitch_held',
      help: 'What the stitch processor holds: traces and spans waiting to be complete, spans waiting for the next stage, span IDs of released traces remembered for late spans, side-table rows waiting to be written.',
      labelNames: ['what'],
      registers,
    });
  }
}
