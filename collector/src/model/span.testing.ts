import type { Span } from './span.js';

/** What every test span must say; everything else defaults to empty. */
export type SpanEssentials = Pick<Span, 'resource' | 'scope' | 'traceId' | 'spanId' | 'name' | 'kind' | 'startTimeUnixNano' | 'endTimeUnixNano'>;

/**
 * For tests: a span with the given essentials and no parent, trace state, flags, attributes,
 * events, links or status unless `fields` sets them.
 */
export function testSpan(fields: SpanEssentials & Partial<Span>): Span {
  return {
    parentSpanId: '',
    traceState: '',
    flags: 0,
    attributes: {},
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    statusCode: 0,
    statusMessage: '',
    ...fields,
  };
}
