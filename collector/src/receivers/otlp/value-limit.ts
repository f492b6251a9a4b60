/**
 * Attribute values above `storage.max_attribute_value_bytes` (UTF-8 bytes) are truncated at
 * ingest, never dropped with their span: cut at a character boundary so that, with the marker
 * `…` appended (the ellipsis the agents end a capped value with, agents/conformance), the value
 * is at most the limit; the original length in bytes goes beside it as an int attribute
 * `flowtrace.truncated.<key>` in the same attribute set (span, resource, scope, event or link).
 * A truncated array, kvlist or bytes value is no longer valid JSON/base64, so it becomes a
 * string (its kind entry is removed): readers then show the cut text as it is.
 *
 * The decoders only compare each value's length with `longValueChars` (a value of n UTF-16
 * units has at most 3n UTF-8 bytes, so a shorter one cannot be over the limit) and raise a flag;
 * this pass runs over the decoded spans only when the flag is up, so normal requests pay one
 * comparison per attribute.
 */
import type { AttributeKinds, Attributes, Span } from '../../model/span.js';

/** The default limit: 64 KiB of UTF-8. */
export const DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES = 64 * 1024;
/** The smallest limit accepted: room for a useful prefix besides the marker. */
export const MIN_MAX_ATTRIBUTE_VALUE_BYTES = 256;
/** Appended to a truncated value (as the agents do). */
export const TRUNCATION_MARK = '…';
const MARK_BYTES = Buffer.byteLength(TRUNCATION_MARK);
/** Key prefix of the attribute that holds a truncated value's original length in UTF-8 bytes. */
export const TRUNCATED_LENGTH_PREFIX = 'flowtrace.truncated.';

/** Values truncated in one request, by the service of the resource they came with (drop ledger). */
export interface ValueTruncation {
  service: string;
  values: number;
}

/** Values no longer than this many UTF-16 units are within `maxBytes` without measuring them. */
export function longValueChars(maxBytes: number): number {
  return Math.floor(maxBytes / 3);
}

/** The longest prefix of `s` of at most `maxBytes` UTF-8 bytes that ends on a character boundary. */
export function cutToUtf8Bytes(s: string, maxBytes: number): string {
  const buf = Buffer.from(s, 'utf8');
  if (buf.length <= maxBytes) return s;
  let end = maxBytes;
  // A continuation byte at `end` means the character starting before it does not fit.
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.toString('utf8', 0, end);
}

/** `value` cut to the limit with the marker, or undefined when it fits. */
export function truncateValue(value: string, maxBytes: number): { value: string; originalBytes: number } | undefined {
  if (value.length <= longValueChars(maxBytes)) return undefined;
  const originalBytes = Buffer.byteLength(value, 'utf8');
  if (originalBytes <= maxBytes) return undefined;
  return { value: cutToUtf8Bytes(value, maxBytes - MARK_BYTES) + TRUNCATION_MARK, originalBytes };
}

export interface AttributeHolder {
  attributes: Attributes;
  attributeKinds?: AttributeKinds;
}

/**
 * Truncates every over-limit value of the spans (and of their resources, scopes, events and
 * links: shared resources and scopes once) in place; returns the count per service.
 */
export function limitAttributeValues(spans: readonly Span[], maxBytes: number): ValueTruncation[] {
  const byService = new Map<string, number>();
  const seen = new Set<AttributeHolder>();
  const add = (service: string, n: number) => {
    if (n > 0) byService.set(service, (byService.get(service) ?? 0) + n);
  };
  for (const span of spans) {
    const service = span.resource.serviceName;
    for (const shared of [span.resource, span.scope]) {
      if (seen.has(shared)) continue;
      seen.add(shared);
      add(service, limitHolder(shared, maxBytes));
    }
    add(service, limitHolder(span, maxBytes));
    for (const event of span.events) add(service, limitHolder(event, maxBytes));
    for (const link of span.links) add(service, limitHolder(link, maxBytes));
  }
  return [...byService].map(([service, values]) => ({ service, values }));
}

export function limitHolder(holder: AttributeHolder, maxBytes: number): number {
  const threshold = longValueChars(maxBytes);
  let long: string[] | undefined;
  for (const key in holder.attributes) {
    if (holder.attributes[key]!.length > threshold) (long ??= []).push(key);
  }
  if (long === undefined) return 0;
  let truncated = 0;
  for (const key of long) {
    const cut = truncateValue(holder.attributes[key]!, maxBytes);
    if (cut === undefined) continue;
    truncated++;
    setOwn(holder.attributes, key, cut.value);
    const lengthKey = TRUNCATED_LENGTH_PREFIX + key;
    setOwn(holder.attributes, lengthKey, String(cut.originalBytes));
    const kinds = holder.attributeKinds ?? {};
    if (Object.hasOwn(kinds, key)) delete kinds[key]; // cut JSON or base64 is text now
    setOwn(kinds, lengthKey, 'int');
    holder.attributeKinds = kinds;
  }
  return truncated;
}

/** '__proto__' is a legitimate attribute key; plain assignment would hit the prototype setter. */
function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}
