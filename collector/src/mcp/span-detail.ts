import type { SpanView } from '../query/span-view.js';
import { formatDuration, isoTime, valueText } from './format.js';
import { ToolInputError, truncate } from './paging.js';

/**
 * One span in full as YAML-like lines: identity, timing, status, then attributes, resource,
 * scope, events and links. A value longer than `maxValueChars` is cut and marked with the
 * field name and offset to read the rest with get_span's `field`/`offset` ({@link fieldValue}).
 * Fields are named `attributes:<key>`, `resource:<key>`, `scope:<key>`, `event:<i>:<key>`,
 * `link:<i>:<key>` and `status.message` (a colon, since attribute keys contain dots).
 */
export function spanDetail(span: SpanView, maxValueChars: number): string[] {
  const value = (field: string, v: unknown): string => {
    const text = valueText(v);
    const cut = truncate(text, maxValueChars);
    return cut.totalChars === undefined ? cut.text : `${cut.text}…  [cut at ${maxValueChars} of ${cut.totalChars} chars: get_span field="${field}" offset=${maxValueChars}]`;
  };
  const start = BigInt(span.startTimeUnixNano);
  const lines = [
    `span: ${span.spanId}`,
    `trace: ${span.traceId}`,
    `parent: ${span.parentSpanId || '(none: root)'}`,
    `service: ${valueText(span.serviceName)}`,
    `name: ${valueText(span.name)}`,
    `kind: ${span.kind}`,
    `start: ${isoTime(span.startTimeUnixNano)}`,
    `duration: ${formatDuration(BigInt(span.durationNano))}${span.endBeforeStart ? ' (end was sent before start)' : ''}`,
    `status: ${span.status.code}${span.status.message ? ` ${value('status.message', span.status.message)}` : ''}`,
  ];
  if (span.traceState) lines.push(`trace_state: ${valueText(span.traceState)}`);
  const section = (title: string, prefix: string, attributes: Record<string, unknown>, dropped: number, indent = '') => {
    const keys = Object.keys(attributes).sort();
    lines.push(`${indent}${title}:${keys.length === 0 ? ' {}' : ''}${dropped > 0 ? `  # ${dropped} dropped by the sender` : ''}`);
    for (const key of keys) lines.push(`${indent}  ${key}: ${value(`${prefix}:${key}`, attributes[key])}`);
  };
  section('attributes', 'attributes', span.attributes, span.droppedAttributesCount);
  section('resource', 'resource', span.resource.attributes, span.resource.droppedAttributesCount);
  lines.push(`scope: ${valueText(span.scope.name)}${span.scope.version ? `@${span.scope.version}` : ''}`);
  if (Object.keys(span.scope.attributes).length > 0) section('scope_attributes', 'scope', span.scope.attributes, span.scope.droppedAttributesCount);
  lines.push(`events: ${span.events.length}${span.droppedEventsCount > 0 ? ` (+${span.droppedEventsCount} dropped)` : ''}`);
  span.events.forEach((e, i) => {
    lines.push(`  - ${i}: +${formatDuration(BigInt(e.timeUnixNano) - start)} ${valueText(e.name)}`);
    for (const key of Object.keys(e.attributes).sort()) lines.push(`      ${key}: ${value(`event:${i}:${key}`, e.attributes[key])}`);
  });
  lines.push(`links: ${span.links.length}${span.droppedLinksCount > 0 ? ` (+${span.droppedLinksCount} dropped)` : ''}`);
  span.links.forEach((l, i) => {
    lines.push(`  - ${i}: trace ${l.traceId} span ${l.spanId}`);
    for (const key of Object.keys(l.attributes).sort()) lines.push(`      ${key}: ${value(`link:${i}:${key}`, l.attributes[key])}`);
  });
  return lines;
}

/** The whole text of one field of the span, as spanDetail renders it before cutting. */
export function fieldValue(span: SpanView, field: string): string {
  const missing = () => new ToolInputError(`field ${JSON.stringify(field)} is not on span ${span.spanId}; use the name given in a "[cut at …]" mark, such as attributes:db.statement`);
  if (field === 'status.message') return valueText(span.status.message);
  const m = /^(attributes|resource|scope):(.+)$/s.exec(field) ?? /^(event|link):(\d{1,6}):(.+)$/s.exec(field);
  if (!m) throw missing();
  let attributes: Record<string, unknown> | undefined;
  let key: string;
  if (m[1] === 'event' || m[1] === 'link') {
    const list = m[1] === 'event' ? span.events : span.links;
    attributes = list[Number(m[2])]?.attributes;
    key = m[3]!;
  } else {
    attributes = m[1] === 'attributes' ? span.attributes : m[1] === 'resource' ? span.resource.attributes : span.scope.attributes;
    key = m[2]!;
  }
  if (!attributes || !Object.hasOwn(attributes, key)) throw missing();
  return valueText(attributes[key]);
}
