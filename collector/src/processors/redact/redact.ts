import { Counter } from 'prom-client';
import type { AttributeKinds, Attributes, InstrumentationScope, Resource, Span } from '../../model/span.js';
import type { DropRecorder } from '../../pipeline/drops.js';
import type { Consumer } from '../../pipeline/stage.js';
import type { Processor, ProcessorContext } from '../processor.js';
import type { Action, RedactConfig } from './config.js';
import { REDACTED_ATTRIBUTE, REDACTED_KEYS_ATTRIBUTE } from './key-rules.js';
import { applyEdits, Redactor, type Tally } from './redactor.js';
import { StructuredValueKeys } from './structured-value-keys.js';

/** What redacting a shared object (resource, scope) gave: the copy to use and what was done. */
interface SharedResult<T> {
  value: T;
  count: number;
  keys: string[];
}

/**
 * The `redact` processor: personal data and secrets are masked, hashed or dropped before
 * spans reach storage or an exporter. Runs inline and synchronously, then hands the same
 * batch on. Shared resources and scopes are never changed: a span gets a redacted copy, made
 * once per original object. A span with redactions records them in `flowtrace.redacted`
 * (how many, an int) and `flowtrace.redacted.keys` (where, comma-separated), and the drop
 * ledger counts them as masked values per service. No rule drops spans: a batch that cannot be
 * redacted is refused whole (fail closed), never handed on in part.
 */
export class RedactProcessor implements Processor {
  private readonly redactor: Redactor | undefined;
  /** The key rules inside kvlist and array values, which the Redactor searches only as text. */
  private readonly valueKeys: StructuredValueKeys;
  private readonly resources = new WeakMap<Resource, SharedResult<Resource>>();
  private readonly scopes = new WeakMap<InstrumentationScope, SharedResult<InstrumentationScope>>();
  private readonly metrics: MetricsBatch;
  private readonly tally: Recorder;
  private readonly masked: MaskedValues;

  constructor(
    private readonly config: RedactConfig,
    private readonly next: Consumer,
    context: ProcessorContext,
  ) {
    this.redactor = config.enabled ? new Redactor(config) : undefined;
    this.valueKeys = new StructuredValueKeys(config);
    this.metrics = new MetricsBatch(context);
    this.tally = new Recorder(this.metrics);
    this.masked = new MaskedValues(context.drops);
  }

  async start(): Promise<void> {}

  consume(spans: Span[]): Promise<void> {
    if (this.redactor) {
      try {
        for (const span of spans) this.redactSpan(span, this.redactor);
      } catch (err) {
        // Fail closed: spans that could not be redacted are not handed on.
        return Promise.reject(err);
      } finally {
        this.metrics.flush();
        this.masked.flush();
      }
    }
    return this.next.consume(spans);
  }

  async shutdown(): Promise<void> {}

  private redactSpan(span: Span, redactor: Redactor): void {
    const tally = this.tally.reset();
    const resource = this.shared(this.resources, span.resource, 'resource.', redactor, (r) => {
      r.serviceName = r.attributes['service.name'] ?? '';
    });
    span.resource = resource.value;
    tally.merge(resource);
    const scope = this.shared(this.scopes, span.scope, 'scope.', redactor);
    span.scope = scope.value;
    tally.merge(scope);

    this.redactAttributes(span, '', redactor, tally);
    if (this.config.span_names) span.name = redactor.text(span.name, 'span.name', tally) ?? span.name;
    span.statusMessage = redactor.text(span.statusMessage, 'status.message', tally) ?? span.statusMessage;
    for (const event of span.events) {
      event.name = redactor.text(event.name, 'event.name', tally) ?? event.name;
      this.redactAttributes(event, `event[${event.name}].`, redactor, tally);
    }
    for (const link of span.links) {
      this.redactAttributes(link, 'link.', redactor, tally);
    }
    if (tally.count > 0) {
      this.mark(span, tally);
      // Resource and scope redactions count once per span: each stored span carries them.
      this.masked.add(span.resource.serviceName, tally.count);
    }
  }

  /**
   * Redacts attributes the span owns: key rules inside kvlist/array values first (as for log
   * records: `drop` masks there, and the value keeps its kind), then the Redactor's plan.
   */
  private redactAttributes(holder: { attributes: Attributes; attributeKinds?: AttributeKinds }, prefix: string, redactor: Redactor, tally: Tally): void {
    const nested = this.valueKeys.attributes(holder.attributes, holder.attributeKinds, prefix, tally);
    if (nested) holder.attributes = nested;
    const edits = redactor.planAttributes(holder.attributes, holder.attributeKinds, prefix, tally);
    if (edits) applyEdits(holder, edits);
  }

  /** The redacted copy of a shared object (or the object itself when nothing changed), made once. */
  private shared<T extends Resource | InstrumentationScope>(
    cache: WeakMap<T, SharedResult<T>>,
    original: T,
    prefix: string,
    redactor: Redactor,
    fix?: (copy: T) => void,
  ): SharedResult<T> {
    let result = cache.get(original);
    if (!result) {
      const recorder = new Recorder(this.metrics);
      const nested = this.valueKeys.attributes(original.attributes, original.attributeKinds, prefix, recorder);
      const edits = redactor.planAttributes(nested ?? original.attributes, original.attributeKinds, prefix, recorder);
      let value = original;
      if (edits || nested) {
        value = { ...original, attributes: nested ?? { ...original.attributes } };
        if (edits) applyEdits(value, edits);
        fix?.(value);
      }
      result = { value, count: recorder.count, keys: [...recorder.keys] };
      cache.set(original, result);
      // A span handed in again already holds the copy: it needs nothing more.
      if (value !== original) cache.set(value, { value, count: 0, keys: [] });
    }
    return result;
  }

  private mark(span: Span, tally: Recorder): void {
    const count = span.attributes[REDACTED_ATTRIBUTE];
    const keys = span.attributes[REDACTED_KEYS_ATTRIBUTE];
    if (count === undefined && keys === undefined) {
      span.attributes[REDACTED_ATTRIBUTE] = String(tally.count);
      span.attributes[REDACTED_KEYS_ATTRIBUTE] = tally.keys.join(',');
    } else {
      // Redacted before (by an agent, or an earlier collector): add to what it recorded.
      const before = Number(count ?? 0);
      const all = new Set((keys ?? '').split(',').filter((k) => k !== ''));
      for (const k of tally.keys) all.add(k);
      span.attributes[REDACTED_ATTRIBUTE] = String((Number.isSafeInteger(before) ? before : 0) + tally.count);
      span.attributes[REDACTED_KEYS_ATTRIBUTE] = [...all].join(',');
    }
    span.attributeKinds = { ...span.attributeKinds, [REDACTED_ATTRIBUTE]: 'int' };
    this.metrics.span();
  }
}

/** Counts redactions and the distinct places they were made. */
class Recorder implements Tally {
  count = 0;
  readonly keys: string[] = [];

  constructor(private readonly metrics: MetricsBatch) {}

  reset(): this {
    this.count = 0;
    this.keys.length = 0;
    return this;
  }

  record(where: string, kind: string, action: Action): void {
    this.count++;
    if (!this.keys.includes(where)) this.keys.push(where);
    this.metrics.add(kind, action);
  }

  /** Adds what was done to a shared object (already counted in the metrics when it was done). */
  merge(shared: SharedResult<unknown>): void {
    if (shared.count === 0) return;
    this.count += shared.count;
    for (const k of shared.keys) if (!this.keys.includes(k)) this.keys.push(k);
  }
}

/** Metric increments gathered over a batch and applied once, off the per-string path. */
class MetricsBatch {
  private readonly redactions: Counter<'kind' | 'action'>;
  private readonly spans: Counter;
  private readonly pending = new Map<string, { kind: string; action: Action; n: number }>();
  private pendingSpans = 0;

  constructor(context: ProcessorContext) {
    this.redactions = new Counter({
      name: 'flowtrace_processor_redact_redactions_total',
      help: 'Values redacted, by kind (detector, custom rule name, or key) and action (mask, hash, drop).',
      labelNames: ['kind', 'action'],
      registers: [context.registry],
    });
    this.spans = new Counter({
      name: 'flowtrace_processor_redact_spans_total',
      help: 'Spans with at least one redaction (their own, or their resource or scope).',
      registers: [context.registry],
    });
  }

  add(kind: string, action: Action): void {
    const id = `${kind}\u0000${action}`;
    const entry = this.pending.get(id);
    if (entry) entry.n++;
    else this.pending.set(id, { kind, action, n: 1 });
  }

  span(): void {
    this.pendingSpans++;
  }

  flush(): void {
    for (const { kind, action, n } of this.pending.values()) this.redactions.inc({ kind, action }, n);
    this.pending.clear();
    if (this.pendingSpans > 0) this.spans.inc(this.pendingSpans);
    this.pendingSpans = 0;
  }
}

/**
 * Values changed by redaction (masked, hashed or removed), per service, reported to the drop
 * ledger once per batch: the ledger's `masked` alteration covers every redaction action.
 */
class MaskedValues {
  private readonly pending = new Map<string, number>();

  constructor(private readonly drops: DropRecorder) {}

  add(service: string, n: number): void {
    this.pending.set(service, (this.pending.get(service) ?? 0) + n);
  }

  flush(): void {
    for (const [service, n] of this.pending) this.drops.values('redact', 'masked', service, n);
    this.pending.clear();
  }
}
