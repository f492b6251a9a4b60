import type { Span } from '../../model/span.js';
import { QueueFullError, type Consumer } from '../../pipeline/stage.js';
import { HandOff } from '../hand-off.js';
import { startTicker } from '../ticker.js';
import type { Processor, ProcessorContext } from '../processor.js';
import type { SampleConfig } from './config.js';
import { HeadSampler } from './head-sampler.js';
import { decision, SampleMetrics } from './metrics.js';
import { buildPolicy } from './policies/build.js';
import { NOT_SAMPLED, type Verdict } from './policies/policy.js';
import { TailSampler, type TraceDecision } from './tail-sampler.js';

/** The hint given with a refusal, as the other processors give it. */
const RETRY_AFTER_SECONDS = 5;

/** Seams for tests: time, how long shutdown may take. */
export interface SampleOptions {
  clock?: () => number;
  shutdownTimeoutMs?: number;
}

/**
 * The `sample` processor: head sampling inline, span by span; then, when enabled, tail
 * sampling on whole traces held until complete (tail-sampler.ts), decided on its own timer.
 * Kept spans the next stage cannot take yet wait here and are offered again on the next tick;
 * while too many wait, new spans are refused with backpressure rather than held unbounded.
 * With the defaults (100 %, no tail) spans pass straight through.
 */
export class SampleProcessor implements Processor {
  private readonly head: HeadSampler;
  private readonly tail: TailSampler | undefined;
  private readonly metrics: SampleMetrics;
  private readonly handOff: HandOff;
  private timer: NodeJS.Timeout | undefined;
  private readonly clock: () => number;
  private readonly shutdownTimeoutMs: number;

  constructor(
    private readonly config: SampleConfig,
    private readonly next: Consumer,
    private readonly context: ProcessorContext,
    options: SampleOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? 30_000;
    this.metrics = new SampleMetrics(context.registry);
    this.handOff = new HandOff(next, context.logger);
    this.head = new HeadSampler(config.head.sampling_percentage);
    const tail = config.tail;
    if (tail.enabled) {
      this.tail = new TailSampler(
        {
          decisionWaitMs: tail.decision_wait_ms,
          maxTraces: tail.max_traces,
          maxSpans: tail.max_spans,
          sampledCacheSize: tail.decision_cache.sampled_size,
          nonSampledCacheSize: tail.decision_cache.non_sampled_size,
          policies: tail.policies.map(buildPolicy),
        },
        {
          kept: (spans) => this.handOff.push(spans),
          decided: (d) => this.recordDecision(d),
          late: (spans, sampled) => this.metrics.lateSpans.inc({ decision: decision(sampled) }, spans),
          dropped: (spans) => this.context.drops.spans('sample', 'sampled_out', spans),
          failed: (traceId, err) => {
            this.metrics.policyFailures.inc();
            this.context.logger.error({ traceId, err }, 'sampling policy failed; trace kept');
          },
        },
      );
    }
  }

  async start(): Promise<void> {
    if (!this.tail) return;
    const journal = this.context.journal;
    if (journal) {
      // Decisions taken before a crash: replayed and late spans of those traces follow them.
      for (const [traceId, verdict] of journal.recoveredDecisions) this.tail.restoreDecision(traceId, parseVerdict(verdict));
      const tail = this.tail;
      journal.keepDecisionsWhile((traceId) => {
        const remembered = tail.rememberedDecision(traceId);
        return remembered === null ? undefined : formatVerdict(remembered);
      });
    }
    this.timer = startTicker(this.config.tail.decision_wait_ms, () => this.tick(this.clock()), this.context.logger, 'sample');
  }

  consume(spans: Span[]): Promise<void> {
    if (this.tail && this.handOff.size >= this.config.tail.max_spans) {
      return Promise.reject(new QueueFullError(`sample: ${this.handOff.size} spans wait for the next stage; retry later`, RETRY_AFTER_SECONDS));
    }
    // Tail sampling records the final adjusted count; head-only records it here.
    const kept = this.head.sample(spans, this.tail === undefined);
    if (kept.length > 0) this.metrics.spans.inc({ stage: 'head', decision: 'sampled' }, kept.length);
    if (kept.length < spans.length) {
      this.metrics.spans.inc({ stage: 'head', decision: 'not_sampled' }, spans.length - kept.length);
      const keptSet = new Set(kept);
      this.context.drops.spans('sample', 'sampled_out', spans.filter((s) => !keptSet.has(s)));
    }
    if (!this.tail) return kept.length === 0 ? Promise.resolve() : this.next.consume(kept);
    this.tail.offer(kept, this.clock());
    // Traces decided early (bounds) and late spans of kept traces go on now; refused ones wait for the tick.
    if (this.handOff.size > 0) void this.handOff.offer();
    this.updateGauges();
    return Promise.resolve();
  }

  /** Decides the traces complete at `nowMs` and offers what waits to the next stage. */
  async tick(nowMs: number): Promise<void> {
    if (!this.tail) return;
    this.tail.tick(nowMs);
    this.updateGauges();
    await this.handOff.offer();
    this.updateGauges();
  }

  /** Decides every trace held, whatever its wait, and hands all kept spans on. */
  async shutdown(): Promise<void> {
    clearInterval(this.timer);
    if (!this.tail) return;
    this.tail.flush(this.clock());
    await this.handOff.drain(this.shutdownTimeoutMs);
    this.updateGauges();
  }

  private recordDecision(d: TraceDecision): void {
    this.context.journal?.decide(d.traceId, formatVerdict(d.verdict));
    const m = this.metrics;
    const outcome = decision(d.sampled);
    m.traces.inc({ decision: outcome });
    m.spans.inc({ stage: 'tail', decision: outcome }, d.spanCount);
    if (d.reason === 'evicted') m.earlyDecisions.inc();
    for (const p of d.policies) {
      const labels = { policy: p.name, decision: decision(p.sampled) };
      m.policyTraces.inc(labels);
      m.policySpans.inc(labels, d.spanCount);
    }
  }

  private updateGauges(): void {
    if (!this.tail) return;
    const { held, decisionCache } = this.metrics;
    held.set({ what: 'traces' }, this.tail.traceCount);
    held.set({ what: 'spans' }, this.tail.heldSpans);
    held.set({ what: 'pending_spans' }, this.handOff.size);
    decisionCache.set({ cache: 'sampled' }, this.tail.sampledCacheSize);
    decisionCache.set({ cache: 'not_sampled' }, this.tail.notSampledCacheSize);
  }
}

/** A verdict as the journal keeps it: the threshold (hex), or '-' for not sampled. */
function formatVerdict(verdict: Verdict): string {
  return verdict === NOT_SAMPLED ? '-' : verdict;
}

function parseVerdict(text: string): Verdict {
  return text === '-' ? NOT_SAMPLED : text;
}
