import { BoundedMap } from '../decision-cache.js';
import { anyAttributeIn } from './attributes.js';
import { NOT_SAMPLED, SAMPLED, type Policy, type TraceView, type Verdict } from './policy.js';

export interface CorrelationIdOptions {
  /** The span attribute with the correlation ID (`flowtrace.correlation_id`, set by the agents). */
  attribute: string;
  /** Always kept. */
  ids: readonly string[];
  /** Attribute values that flag a trace (span or resource attributes, any kind by its string form). */
  flags: ReadonlyArray<{ key: string; values: readonly string[] }>;
  maxFlagged: number;
}

/**
 * Keeps every trace of chosen correlation IDs: those listed, and those a span flagged (say
 * `flowtrace.debug=true`). A flag keeps its own trace and remembers the trace's correlation IDs,
 * so that the request's later traces — retries, async work, other services — are kept too.
 * Remembered IDs are bounded by `maxFlagged`.
 */
export class CorrelationIdPolicy implements Policy {
  readonly spendsBudget = false;
  private readonly ids: ReadonlySet<string>;
  private readonly flags: ReadonlyArray<{ key: string; values: ReadonlySet<string> }>;
  private readonly flagged: BoundedMap<true>;

  constructor(
    readonly name: string,
    private readonly options: CorrelationIdOptions,
  ) {
    this.ids = new Set(options.ids);
    this.flags = options.flags.map((f) => ({ key: f.key, values: new Set(f.values) }));
    this.flagged = new BoundedMap(options.maxFlagged);
  }

  /** Correlation IDs remembered as flagged. */
  get flaggedCount(): number {
    return this.flagged.size;
  }

  evaluate(trace: TraceView): Verdict {
    const ids = this.correlationIds(trace);
    if (this.flags.some((f) => anyAttributeIn(trace, f.key, f.values))) {
      for (const id of ids) this.flagged.set(id, true);
      return SAMPLED;
    }
    for (const id of ids) if (this.ids.has(id) || this.flagged.has(id)) return SAMPLED;
    return NOT_SAMPLED;
  }

  private correlationIds(trace: TraceView): Set<string> {
    const ids = new Set<string>();
    for (const s of trace.spans) {
      const id = s.attributes[this.options.attribute];
      if (id !== undefined && id !== '') ids.add(id);
    }
    return ids;
  }
}
