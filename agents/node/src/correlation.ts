import { randomUUID } from 'node:crypto';
import {
  propagation,
  trace,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from '@opentelemetry/api';
import type { ReadableSpan, Span as SdkSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { baggageOf } from './context-keys.js';
import { CORRELATION_ATTRIBUTE, MethodSpan } from './method-span.js';

/** The baggage entry (and span attribute) that carries the correlation ID. */
export const CORRELATION_BAGGAGE_KEY = 'flowtrace.correlation_id';
/** Incoming headers that name a request, in order of preference (Envoy and Istio set x-request-id). */
export const CORRELATION_HEADERS = ['x-request-id', 'x-correlation-id'] as const;
// What a client may name its request with (agents/conformance/correlation/ids.json): anything else
// (spaces, quotes, commas, `<`, CR/LF, non-ASCII) would be propagated into other services'
// headers, baggage and logs, so it is replaced with a new ID.
const VALID_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The ID `raw` names once trimmed, or undefined when it is not an acceptable ID. */
export function acceptCorrelationId(raw: string | undefined): string | undefined {
  const v = raw?.trim();
  return v !== undefined && VALID_ID.test(v) ? v : undefined;
}

export function newCorrelationId(): string {
  return randomUUID();
}

/** The correlation ID a context carries: its baggage entry, else the one on its active span. */
export function correlationOf(ctx: Context): string | undefined {
  const fromBaggage = acceptCorrelationId(baggageOf(ctx)?.getEntry(CORRELATION_BAGGAGE_KEY)?.value);
  if (fromBaggage !== undefined) return fromBaggage;
  return correlationOfSpan(trace.getSpan(ctx));
}

export function correlationOfSpan(span: Span | undefined): string | undefined {
  if (span === undefined) return undefined;
  if (span instanceof MethodSpan) return span.correlationId;
  const attrs = (span as Partial<ReadableSpan>).attributes;
  const v = attrs?.[CORRELATION_ATTRIBUTE];
  return typeof v === 'string' ? v : undefined;
}

/** The context with the correlation ID in its baggage, next to whatever baggage it had. */
export function withCorrelation(ctx: Context, id: string): Context {
  const baggage = propagation.getBaggage(ctx) ?? propagation.createBaggage();
  return propagation.setBaggage(ctx, baggage.setEntry(CORRELATION_BAGGAGE_KEY, { value: id }));
}

function headerValue(getter: TextMapGetter, carrier: unknown, name: string): string | undefined {
  const raw = getter.get(carrier, name);
  return acceptCorrelationId(Array.isArray(raw) ? raw[0] : raw);
}

function carrierHas(carrier: unknown, name: string): boolean {
  if (carrier === null || typeof carrier !== 'object') return false;
  return Object.keys(carrier).some((k) => k.toLowerCase() === name);
}

/**
 * Reads the correlation ID from `x-request-id` / `x-correlation-id` or from the
 * baggage already extracted, creates one when a request arrives without any (the
 * edge), and writes `x-request-id` on outgoing calls. Runs after the W3C baggage
 * propagator, which carries the same ID as baggage.
 */
export class CorrelationPropagator implements TextMapPropagator {
  extract(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    let id: string | undefined;
    for (const header of CORRELATION_HEADERS) {
      id = headerValue(getter, carrier, header);
      if (id !== undefined) break;
    }
    id ??= acceptCorrelationId(baggageOf(ctx)?.getEntry(CORRELATION_BAGGAGE_KEY)?.value) ?? newCorrelationId();
    return withCorrelation(ctx, id);
  }

  inject(ctx: Context, carrier: unknown, setter: TextMapSetter): void {
    const id = correlationOf(ctx);
    // An x-request-id the application set itself wins.
    if (id !== undefined && !carrierHas(carrier, 'x-request-id')) setter.set(carrier, 'x-request-id', id);
  }

  fields(): string[] {
    return [...CORRELATION_HEADERS];
  }
}

/**
 * Puts the correlation ID on every span the SDK starts (HTTP, Express, Fastify…):
 * from the parent context's baggage, else from the parent span, else a new one
 * for a span that starts a trace outside any request.
 */
export class CorrelationSpanProcessor implements SpanProcessor {
  onStart(span: SdkSpan, parentContext: Context): void {
    const id = correlationOf(parentContext) ?? (span.parentSpanContext === undefined ? newCorrelationId() : undefined);
    if (id !== undefined) span.setAttribute(CORRELATION_ATTRIBUTE, id);
  }

  onEnd(): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
