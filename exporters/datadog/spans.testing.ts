import type { AttributeKinds, Attributes, InstrumentationScope, Resource, Span } from '../../collector/src/model/span.js';
import { testSpan } from '../../collector/src/model/span.testing.js';

/** Model spans for the datadog exporter's tests. */

export function resource(service: string | undefined, attributes: Attributes = {}, attributeKinds?: AttributeKinds): Resource {
  const all = service === undefined ? { ...attributes } : { 'service.name': service, ...attributes };
  return { attributes: all, attributeKinds, droppedAttributesCount: 0, schemaUrl: '', serviceName: service ?? '' };
}

export const SCOPE: InstrumentationScope = { name: '@opentelemetry/instrumentation-http', version: '0.57.0', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' };

export const T0 = 1_767_225_600_000_000_000n; // 2026-01-01T00:00:00Z in ns

let nextId = 1;

/** A span with a fresh span ID; everything can be overridden. */
export function span(overrides: Partial<Span> = {}): Span {
  return testSpan({
    resource: resource('checkout'),
    scope: SCOPE,
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: (nextId++).toString(16).padStart(16, '0'),
    flags: 1,
    name: 'work',
    kind: 1,
    startTimeUnixNano: T0,
    endTimeUnixNano: T0 + 2_500_000n,
    ...overrides,
  });
}
