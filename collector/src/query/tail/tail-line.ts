import type { ReadRules } from '../../auth/principal.js';
import { StatusCode, type Span } from '../../model/span.js';

/** What one tail client asked for, and what its read rules let it see. */
export interface TailFilter {
  /** Exact `service.name`; undefined: every service. */
  service?: string;
  /** Exact span name; undefined: every span name. */
  operation?: string;
  /** Spans shorter than this are left out (0: none). */
  minDurationNs: bigint;
  /** Only spans with status ERROR. */
  errorsOnly: boolean;
  /** The principal's read rules, applied to every span before it is queued. */
  rules: ReadRules;
}

/** Per-service and per-environment read rules, on a span in memory (the same rules read-scope.ts applies in SQL). */
export function readable(span: Span, rules: ReadRules): boolean {
  const { services, environments } = rules;
  if (services !== undefined && services.length > 0 && !services.includes(span.resource.serviceName)) return false;
  if (environments !== undefined && environments.length > 0) {
    const attrs = span.resource.attributes;
    const named = attrs['deployment.environment.name'];
    const environment = named !== undefined && named !== '' ? named : (attrs['deployment.environment'] ?? '');
    if (!environments.includes(environment)) return false;
  }
  return true;
}

/** Whether a client with this filter receives the span. Cheapest tests first: this runs per span and client. */
export function matches(span: Span, filter: TailFilter): boolean {
  if (filter.errorsOnly && span.statusCode !== StatusCode.ERROR) return false;
  if (filter.service !== undefined && span.resource.serviceName !== filter.service) return false;
  if (filter.operation !== undefined && span.name !== filter.operation) return false;
  if (filter.minDurationNs > 0n && durationNs(span) < filter.minDurationNs) return false;
  return readable(span, filter.rules);
}

/** 0 for a span whose end was sent before its start (as the query API reports it). */
function durationNs(span: Span): bigint {
  const d = span.endTimeUnixNano - span.startTimeUnixNano;
  return d > 0n ? d : 0n;
}

/** Span kinds as the span table and the query API name them. */
const KINDS = ['Unspecified', 'Internal', 'Server', 'Client', 'Producer', 'Consumer'] as const;
const STATUSES = ['Unset', 'Ok', 'Error'] as const;

/** Longest tail line with attributes; a longer one is sent without them, marked `attributesOmitted`. */
export const MAX_LINE_BYTES = 16 * 1024;

/** One span on the live tail: a compact JSON object (attribute values as stored: strings). */
export interface TailSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  service: string;
  name: string;
  kind: string;
  startTimeUnixNano: string;
  durationNano: string;
  status: { code: string; message: string };
  attributes: Record<string, string>;
  /** Present (true) when the attributes made the line longer than MAX_LINE_BYTES and were left out. */
  attributesOmitted?: true;
}

/** The span as one line of JSON (no newline inside: JSON.stringify escapes them), at most about MAX_LINE_BYTES. */
export function tailLine(span: Span): string {
  const view: TailSpan = {
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: span.parentSpanId,
    service: span.resource.serviceName,
    name: span.name,
    kind: KINDS[span.kind] ?? String(span.kind),
    startTimeUnixNano: span.startTimeUnixNano.toString(),
    durationNano: durationNs(span).toString(),
    status: { code: STATUSES[span.statusCode] ?? String(span.statusCode), message: span.statusMessage },
    attributes: span.attributes,
  };
  const line = JSON.stringify(view);
  // Length in UTF-16 units is at most the UTF-8 length, and at least a third of it.
  if (line.length * 3 <= MAX_LINE_BYTES || Buffer.byteLength(line) <= MAX_LINE_BYTES) return line;
  return JSON.stringify({ ...view, attributes: {}, attributesOmitted: true, status: { ...view.status, message: view.status.message.slice(0, 1024) }, name: view.name.slice(0, 1024) });
}
