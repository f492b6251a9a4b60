import type { Logger } from 'pino';
import { Counter, Gauge } from 'prom-client';
import type { Span } from '../../model/span.js';
import { QueueFullError, type Consumer } from '../../pipeline/stage.js';
import { HandOff } from '../hand-off.js';
import { startTicker } from '../ticker.js';
import type { Processor, ProcessorContext } from '../processor.js';
import { TraceBuffer, type BufferedTrace } from '../trace-buffer.js';
import type { FilterConfig } from './config.js';
import { anyRule, type SpanTest } from './rules.js';
import { TraceFilter } from './trace-filter.js';

const SHUTDOWN_TIMEOUT_MS = 30_000;

/**
 * The `filter` processor: include/exclude rules per span, inline; conditional tracing and
 * method sampling per trace, on traces held in a bounded buffer until complete. Released
 * spans the next stage cannot take yet (a full queue) wait here and are offered again;
 * while too many wait, new spans are refused with backpressure rather than held unbounded.
 */
export class FilterProcessor implements Processor {
  private readonly include: SpanTest | undefined;
  private readonly exclude: SpanTest | undefined;
  private readonly traceFilter: TraceFilter;
  private readonly buffer: TraceBuffer | undefined;
  private readonly handOff: HandOff;
  private timer: NodeJS.Timeout | undefined;
  private readonly dropped: Counter<'reason'>;
  private readonly held: Gauge<'what'>;
  private readonly logger: Logger;

  constructor(
    private readonly config: FilterConfig,
    private readonly next: Consumer,
    private readonly context: ProcessorContext,
  ) {
    this.logger = context.logger;
    this.handOff = new HandOff(next, context.logger);
    this.include = anyRule(config.include);
    this.exclude = anyRule(config.exclude);
    this.traceFilter = new TraceFilter(config);
    if (this.traceFilter.needsTraces) {
      this.buffer = new TraceBuffer(
        { decisionWaitMs: config.decision_wait_ms, maxTraces: config.max_traces, maxSpans: config.max_spans },
        (trace) => this.decide(trace),
      );
    }
    this.dropped = new Counter({
      name: 'flowtrace_processor_filter_spans_dropped_total',
      help: 'Spans the filter dropped, by reason: include, exclude, conditional, method_sampling.',
      labelNames: ['reason'],
      registers: [context.registry],
    });
    this.held = new Gauge({
      name: 'flowtrace_processor_filter_held',
      help: 'Traces and spans the filter holds until their traces are complete.',
      labelNames: ['what'],
      registers: [context.registry],
    });
  }

  async start(): Promise<void> {
    if (!this.buffer) return;
    this.timer = startTicker(this.config.decision_wait_ms, () => this.tick(Date.now()), this.logger, 'filter');
  }

  consume(spans: Span[]): Promise<void> {
    const kept = this.applyRules(spans);
    if (!this.buffer) return kept.length === 0 ? Promise.resolve() : this.next.consume(kept);
    if (this.handOff.size >= this.config.max_spans) {
      return Promise.reject(new QueueFullError(`filter: ${this.handOff.size} spans wait for the next stage; retry later`, 5));
    }
    this.buffer.add(kept, Date.now());
    this.updateGauges();
    return Promise.resolve();
  }

  /** Releases complete traces at `nowMs` and offers what waits to the next stage. */
  tick(nowMs: number): Promise<void> {
    this.buffer?.release(nowMs);
    this.updateGauges();
    return this.handOff.offer();
  }

  async shutdown(): Promise<void> {
    clearInterval(this.timer);
    this.buffer?.releaseAll();
    await this.handOff.drain(SHUTDOWN_TIMEOUT_MS);
  }

  private applyRules(spans: Span[]): Span[] {
    if (!this.include && !this.exclude) return spans;
    const kept: Span[] = [];
    const dropped: Span[] = [];
    for (const s of spans) {
      if (this.include && !this.include(s)) this.dropped.inc({ reason: 'include' });
      else if (this.exclude && this.exclude(s)) this.dropped.inc({ reason: 'exclude' });
      else {
        kept.push(s);
        continue;
      }
      dropped.push(s);
    }
    this.context.drops.spans('filter', 'filtered', dropped);
    return kept;
  }

  private decide(trace: BufferedTrace): void {
    const { kept, droppedByCondition, droppedBySampling } = this.traceFilter.decide(trace.spans);
    if (droppedByCondition > 0) this.dropped.inc({ reason: 'conditional' }, droppedByCondition);
    if (droppedBySampling > 0) this.dropped.inc({ reason: 'method_sampling' }, droppedBySampling);
    if (kept.length < trace.spans.length) {
      const keptSet = new Set(kept);
      this.context.drops.spans('filter', 'filtered', trace.spans.filter((s) => !keptSet.has(s)));
    }
    this.handOff.push(kept);
  }

  private updateGauges(): void {
    this.held.set({ what: 'traces' }, this.buffer?.traceCount ?? 0);
    this.held.set({ what: 'spans' }, (this.buffer?.heldSpans ?? 0) + this.handOff.size);
  }
}
