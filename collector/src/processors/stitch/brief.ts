import { SpanKind, StatusCode, type Span } from '../../model/span.js';

/** What stitching needs of a span once the span itself has been handed on. */
export interface SpanBrief {
  spanId: string;
  parentSpanId: string;
  service: string;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  error: boolean;
}

export function briefOf(span: Span): SpanBrief {
  return {
    spanId: span.spanId,
    parentSpanId: span.parentSpanId,
    service: span.resource.serviceName,
    name: span.name,
    kind: span.kind,
    startNs: span.startTimeUnixNano,
    endNs: span.endTimeUnixNano,
    error: span.statusCode === StatusCode.ERROR,
  };
}

/** The side of a call that leaves a service. */
export function isCaller(kind: number): boolean {
  return kind === SpanKind.CLIENT || kind === SpanKind.PRODUCER;
}

/** The side of a call that enters a service. */
export function isCallee(kind: number): boolean {
  return kind === SpanKind.SERVER || kind === SpanKind.CONSUMER;
}
