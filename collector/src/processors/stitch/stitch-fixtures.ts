import { SpanKind, StatusCode, type Resource, type Span } from '../../model/span.js';

/** Spans for the stitch tests: times in milliseconds from a fixed origin, IDs from small numbers. */

export const T0_NS = 1_795_000_000_000_000_000n;

export const ms = (n: number): bigint => T0_NS + BigInt(Math.round(n * 1_000_000));
export const traceId = (n: number): string => n.toString(16).padStart(32, '0');
export const spanId = (n: number): string => n.toString(16).padStart(16, '0');

const resources = new Map<string, Resource>();
/** One shared resource per service, as the decoders share them. */
export function resource(service: string): Resource {
  let r = resources.get(service);
  if (!r) {
    r = { attributes: { 'service.name': service }, droppedAttributesCount: 0, schemaUrl: '', serviceName: service };
    resources.set(service, r);
  }
  return r;
}

export interface SpanSpec {
  trace: number;
  id: number;
  /** 0 (or absent): a root span. */
  parent?: number;
  service: string;
  kind?: number;
  name?: string;
  startMs: number;
  endMs: number;
  error?: boolean;
  attributes?: Record<string, string>;
}

export function span(s: SpanSpec): Span {
  return {
    resource: resource(s.service),
    scope: { name: 'test', version: '', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' },
    traceId: traceId(s.trace),
    spanId: spanId(s.id),
    parentSpanId: s.parent ? spanId(s.parent) : '',
    traceState: '',
    flags: 1,
    name: s.name ?? `op${s.id}`,
    kind: s.kind ?? SpanKind.INTERNAL,
    startTimeUnixNano: ms(s.startMs),
    endTimeUnixNano: ms(s.endMs),
    attributes: { ...s.attributes },
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    statusCode: s.error ? StatusCode.ERROR : StatusCode.UNSET,
    statusMessage: '',
  };
}

/**
 * frontend (SERVER 1 → CLIENT 2) calls orders (SERVER 3 → INTERNAL 4 → CLIENT 5), which calls
 * payments (SERVER 6). Every span carries `correlation` when given.
 */
export function threeServiceTrace(trace: number, startMs = 0, correlation?: string): Span[] {
  const attributes = correlation ? { 'flowtrace.correlation_id': correlation } : undefined;
  const base = trace * 100;
  const t = (n: number) => startMs + n;
  return [
    span({ trace, id: base + 1, service: 'frontend', kind: SpanKind.SERVER, name: 'GET /checkout', startMs: t(0), endMs: t(100), attributes }),
    span({ trace, id: base + 2, parent: base + 1, service: 'frontend', kind: SpanKind.CLIENT, name: 'POST', startMs: t(10), endMs: t(90), attributes }),
    span({ trace, id: base + 3, parent: base + 2, service: 'orders', kind: SpanKind.SERVER, name: 'POST /orders', startMs: t(15), endMs: t(85), attributes }),
    span({ trace, id: base + 4, parent: base + 3, service: 'orders', name: 'OrderService.create', startMs: t(20), endMs: t(80), attributes }),
    span({ trace, id: base + 5, parent: base + 4, service: 'orders', kind: SpanKind.CLIENT, name: 'POST', startMs: t(30), endMs: t(70), attributes }),
    span({ trace, id: base + 6, parent: base + 5, service: 'payments', kind: SpanKind.SERVER, name: 'POST /pay', startMs: t(35), endMs: t(65), attributes }),
  ];
}
