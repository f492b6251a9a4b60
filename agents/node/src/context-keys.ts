import { propagation, trace, type Baggage, type Context, type Span } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';

/**
 * The API keeps its context keys private; they are learned once by handing the
 * public setters a probe context that records the key it is given.
 */
function learnKey(set: (ctx: Context) => Context): symbol {
  let key: symbol | undefined;
  const probe: Context = {
    getValue: () => undefined,
    setValue(k: symbol) {
      key = k;
      return probe;
    },
    deleteValue: () => probe,
  };
  set(probe);
  if (key === undefined) throw new Error('cannot learn an OpenTelemetry context key');
  return key;
}

export const SPAN_KEY = learnKey((ctx) => trace.setSpan(ctx, trace.wrapSpanContext({ traceId: '', spanId: '', traceFlags: 0 })));
export const BAGGAGE_KEY = learnKey((ctx) => propagation.setBaggage(ctx, propagation.createBaggage()));
export const SUPPRESS_KEY = learnKey((ctx) => suppressTracing(ctx));

/**
 * A context that adds one span to a parent context without copying it (the
 * API's own contexts copy a Map on every setValue). Nested method calls replace
 * the span rather than stacking, so lookups stay one level deep.
 */
export class SpanNode implements Context {
  constructor(
    readonly base: Context,
    readonly span: Span,
  ) {}

  getValue(key: symbol): unknown {
    return key === SPAN_KEY ? this.span : this.base.getValue(key);
  }

  setValue(key: symbol, value: unknown): Context {
    if (key === SPAN_KEY) return new SpanNode(this.base, value as Span);
    return new SpanNode(this.base.setValue(key, value), this.span);
  }

  deleteValue(key: symbol): Context {
    if (key === SPAN_KEY) return this.base.deleteValue(SPAN_KEY);
    return new SpanNode(this.base.deleteValue(key), this.span);
  }
}

export function baggageOf(ctx: Context): Baggage | undefined {
  return ctx.getValue(BAGGAGE_KEY) as Baggage | undefined;
}
