import { Counter, Gauge, type Registry } from 'prom-client';

export type Decision = 'sampled' | 'not_sampled';

export function decision(sampled: boolean): Decision {
  return sampled ? 'sampled' : 'not_sampled';
}

/** The sample processor's metrics, `flowtrace_processor_sample_…` on the collector's registry. */
export class SampleMetrics {
  readonly spans: Counter<'stage' | 'decision'>;
  readonly traces: Counter<'decision'>;
  readonly policyTraces: Counter<'policy' | 'decision'>;
  readonly policySpans: Counter<'policy' | 'decision'>;
  readonly lateSpans: Counter<'decision'>;
  readonly earlyDecisions: Counter;
  readonly policyFailures: Counter;
  readonly held: Gauge<'what'>;
  readonly decisionCache: Gauge<'cache'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.spans = new Counter({
      name: 'flowtrace_processor_sample_spans_total',
      help: 'Spans sampled or not, by stage: head (per span, by trace ID) or tail (whole traces, when decided).',
      labelNames: ['stage', 'decision'],
      registers,
    });
    this.traces = new Counter({
      name: 'flowtrace_processor_sample_traces_total',
      help: 'Traces decided by tail sampling, sampled or not.',
      labelNames: ['decision'],
      registers,
    });
    this.policyTraces = new Counter({
      name: 'flowtrace_processor_sample_policy_traces_total',
      help: 'Traces each top-level tail policy was asked about, by its answer (a trace is kept when any policy keeps it).',
      labelNames: ['policy', 'decision'],
      registers,
    });
    this.policySpans = new Counter({
      name: 'flowtrace_processor_sample_policy_spans_total',
      help: 'Spans of the traces each top-level tail policy was asked about, by its answer.',
      labelNames: ['policy', 'decision'],
      registers,
    });
    this.lateSpans = new Counter({
      name: 'flowtrace_processor_sample_late_spans_total',
      help: 'Spans that arrived after their trace was decided and followed the remembered decision.',
      labelNames: ['decision'],
      registers,
    });
    this.earlyDecisions = new Counter({
      name: 'flowtrace_processor_sample_early_decisions_total',
      help: 'Traces decided before decision_wait_ms was over because max_traces or max_spans was reached.',
      registers,
    });
    this.policyFailures = new Counter({
      name: 'flowtrace_processor_sample_policy_failures_total',
      help: 'Traces whose policy evaluation threw; they are kept.',
      registers,
    });
    this.held = new Gauge({
      name: 'flowtrace_processor_sample_held',
      help: 'What tail sampling holds: traces and spans waiting for a decision, kept spans waiting for the next stage (pending_spans).',
      labelNames: ['what'],
      registers,
    });
    this.decisionCache = new Gauge({
      name: 'flowtrace_processor_sample_decision_cache_entries',
      help: 'Trace decisions remembered for late spans, by cache.',
      labelNames: ['cache'],
      registers,
    });
  }
}
