import { RecordedDrops } from '../../pipeline/drops.testing.js';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { SpanKind, StatusCode, type Span } from '../../model/span.js';
import type { ProcessorContext } from '../processor.js';
import { TraceView } from './policies/policy.js';
import { seededRandom } from '../../receivers/otlp/otlp-fixtures.js';

/** Test helpers for the sample processor (not a test file itself). */

const resources = new Map<string, Span['resource']>();

/** One shared resource object per service, as the decoder shares them. */
export function resource(service: string, attributes: Record<string, string> = {}): Span['resource'] {
  const key = service + JSON.stringify(attributes);
  let r = resources.get(key);
  if (!r) {
    r = { attributes: { 'service.name': service, ...attributes }, droppedAttributesCount: 0, schemaUrl: '', serviceName: service };
    resources.set(key, r);
  }
  return r;
}

const scope: Span['scope'] = { name: 'test', version: '', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' };

let nextSpanId = 1;

export interface SpanSpec {
  parent?: string;
  service?: string;
  status?: number;
  /** Start and duration in ms from a fixed epoch. */
  startMs?: number;
  durationMs?: number;
  attributes?: Record<string, string>;
  kinds?: Span['attributeKinds'];
  traceState?: string;
  spanId?: string;
}

export function span(traceId: string, spec: SpanSpec = {}): Span {
  const start = 1_700_000_000_000_000_000n + BigInt(Math.round((spec.startMs ?? 0) * 1e6));
  const s: Span = {
    resource: resource(spec.service ?? 'svc'),
    scope,
    traceId,
    spanId: spec.spanId ?? (nextSpanId++).toString(16).padStart(16, '0'),
    parentSpanId: spec.parent ?? '',
    traceState: spec.traceState ?? '',
    flags: 1,
    name: 'op',
    kind: SpanKind.INTERNAL,
    startTimeUnixNano: start,
    endTimeUnixNano: start + BigInt(Math.round((spec.durationMs ?? 10) * 1e6)),
    attributes: { ...spec.attributes },
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    statusCode: spec.status ?? StatusCode.UNSET,
    statusMessage: '',
  };
  if (spec.kinds) s.attributeKinds = { ...spec.kinds };
  return s;
}

/** A root span and `children - 1` spans under it. */
export function trace(traceId: string, spec: SpanSpec & { spans?: number } = {}): Span[] {
  const root = span(traceId, spec);
  const out = [root];
  for (let i = 1; i < (spec.spans ?? 1); i++) out.push(span(traceId, { ...spec, parent: root.spanId, spanId: undefined, status: StatusCode.UNSET, durationMs: 1 }));
  return out;
}

export function view(spans: Span[]): TraceView {
  return new TraceView(spans[0]!.traceId, spans);
}

/** Deterministic 32-bit pseudo-random numbers (the decoder fixtures' mulberry32): the same trace IDs on every run. */
export function rng(seed: number): () => number {
  const next = seededRandom(seed);
  return () => next() * 4294967296; // back to the 32-bit integer it was divided from, exactly
}

export function traceIds(count: number, seed = 1): string[] {
  const next = rng(seed);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(randomTraceId(next));
  return ids;
}

export function randomTraceId(next: () => number): string {
  return [next(), next(), next(), next()].map((n) => n.toString(16).padStart(8, '0')).join('');
}

/** A trace ID whose randomness (last 14 hex digits) is `r`. */
export function traceIdWithRandomness(r: string): string {
  return '0123456789abcdef01' + r;
}

export function testContext(): { context: ProcessorContext; registry: Registry } {
  const registry = new Registry();
  const context = { logger: pino({ level: 'silent' }), registry, drops: new RecordedDrops() } as unknown as ProcessorContext;
  return { context, registry };
}
