import type { SpanView } from '../query/span-view.js';

/** Hand-built traces for the analysis tests: times in milliseconds from a fixed origin. */

export const ORIGIN_NS = 1_700_000_000_000_000_000n;
export const MS = 1_000_000n;

export interface SpanSpec {
  service?: string;
  kind?: 'Internal' | 'Server' | 'Client' | 'Producer' | 'Consumer';
  name?: string;
  attributes?: Record<string, unknown>;
  error?: string;
  exception?: { type: string; message: string };
  traceId?: string;
  flags?: number;
}

export const TRACE_A = 'a'.repeat(32);

/** A span `id` under `parent` ('' for a root) from `startMs` to `endMs` after the origin. */
export function span(id: string, parent: string, startMs: number, endMs: number, spec: SpanSpec = {}): SpanView {
  const start = ORIGIN_NS + BigInt(Math.round(startMs * 1000)) * 1000n;
  const end = ORIGIN_NS + BigInt(Math.round(endMs * 1000)) * 1000n;
  return {
    traceId: spec.traceId ?? TRACE_A,
    spanId: id,
    parentSpanId: parent,
    traceState: '',
    flags: spec.flags ?? 0x01,
    name: spec.name ?? id,
    kind: spec.kind ?? 'Internal',
    serviceName: spec.service ?? 'svc',
    startTimeUnixNano: start.toString(),
    endTimeUnixNano: end.toString(),
    durationNano: (end - start).toString(),
    attributes: spec.attributes ?? {},
    droppedAttributesCount: 0,
    resource: { attributes: { 'service.name': spec.service ?? 'svc' }, droppedAttributesCount: 0, schemaUrl: '' },
    scope: { name: 'test', version: '', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' },
    events: spec.exception
      ? [{ timeUnixNano: end.toString(), name: 'exception', attributes: { 'exception.type': spec.exception.type, 'exception.message': spec.exception.message }, droppedAttributesCount: 0 }]
      : [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: spec.error !== undefined || spec.exception ? { code: 'Error', message: spec.error ?? '' } : { code: 'Unset', message: '' },
  };
}

/** Nanoseconds after the origin, for expectations. */
export function at(ms: number): bigint {
  return ORIGIN_NS + BigInt(Math.round(ms * 1000)) * 1000n;
}
