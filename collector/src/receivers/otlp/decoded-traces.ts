/**
 * What both OTLP decoders (protobuf and JSON) produce, and the pieces they share:
 * attribute insertion, shared resource/scope objects, per-span rejection bookkeeping.
 */
import type { DropReason } from '../../pipeline/drops.js';
import type { AttributeKinds, Attributes, InstrumentationScope, Resource, Span, ValueKind } from '../../model/span.js';
import type { ValueTruncation } from './value-limit.js';

export interface DecodedTraces {
  /** The valid spans, in request order. */
  spans: Span[];
  /** Spans refused (invalid, too old, no start time); goes to ExportTracePartialSuccess.rejected_spans. */
  rejectedSpans: number;
  /** Why they were dropped ('' when none were); goes to ExportTracePartialSuccess.error_message. */
  rejectionMessage: string;
  /** The rejected spans by service and reason, for the drop ledger (sums to `rejectedSpans`). */
  rejections?: SpanRejection[];
  /** Attribute values truncated to `storage.max_attribute_value_bytes`, by service (value-limit.ts); absent when none. */
  truncations?: ValueTruncation[];
}

export interface SpanRejection {
  service: string;
  reason: Extract<DropReason, 'invalid' | 'too_old'>;
  spans: number;
}

/**
 * Sets one attribute and returns the kinds record, created on the first non-string value
 * (`kind` undefined means a string). A repeated key keeps its last value and kind, as the
 * Collector's exporters do when they copy attributes into a map.
 *
 * With `exact` false a string value skips the check that it replaces an earlier non-string
 * value of the same key (one property lookup per string, a notable cost on the hot path).
 * Such a caller must notice repeated keys itself (see {@link hasRepeatedKeys}) and redo the
 * list exactly; OTLP forbids repeated keys, so that is rare.
 */
export function putAttribute(
  attributes: Attributes,
  kinds: AttributeKinds | undefined,
  key: string,
  value: string,
  kind: ValueKind | undefined,
  exact: boolean,
): AttributeKinds | undefined {
  // '__proto__' is a legitimate attribute key; plain assignment would hit the prototype setter.
  if (key === '__proto__') defineOwn(attributes, key, value);
  else attributes[key] = value;
  if (kind !== undefined) {
    if (kinds === undefined) kinds = {};
    if (key === '__proto__') defineOwn(kinds, key, kind);
    else kinds[key] = kind;
  } else if (exact && kinds !== undefined && kinds[key] !== undefined && Object.hasOwn(kinds, key)) {
    // A string replaced an earlier non-string value of the same key.
    delete kinds[key];
    for (const _ in kinds) return kinds;
    return undefined;
  }
  return kinds;
}

/** Whether fewer distinct keys than `puts` ended up in `attributes` (for-in uses V8's enum cache: cheap). */
export function hasRepeatedKeys(attributes: Attributes, puts: number): boolean {
  let keys = 0;
  for (const _ in attributes) keys++;
  return keys !== puts;
}

function defineOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export function newResource(): Resource {
  return { attributes: {}, droppedAttributesCount: 0, schemaUrl: '', serviceName: '' };
}

export function newScope(): InstrumentationScope {
  return { name: '', version: '', attributes: {}, droppedAttributesCount: 0, schemaUrl: '' };
}

/** Attaches or removes `attributeKinds` on a shared resource or scope after (re)filling it. */
export function setKinds(target: Resource | InstrumentationScope, kinds: AttributeKinds | undefined): void {
  if (kinds !== undefined) target.attributeKinds = kinds;
  else if (target.attributeKinds !== undefined) delete target.attributeKinds;
}

/** pdata keeps resource attributes as strings; `service.name` of any kind is its AsString form. */
export function serviceNameOf(attributes: Attributes): string {
  return attributes['service.name'] ?? '';
}

/** How many rejections are spelled out in the message; the rest are counted. */
const MAX_DETAILED_REJECTIONS = 5;
/** Scope names come from the client: cap what is echoed back. */
const MAX_SCOPE_NAME_IN_MESSAGE = 64;

interface Rejection {
  /** The span's index in its scope, or -1 for a group of `count` spans. */
  spanIndex: number;
  count: number;
  scope: InstrumentationScope | undefined;
  reason: string;
}

type RejectionReason = SpanRejection['reason'];

/**
 * Counts rejected spans and keeps the first few reasons; rejections that share one reason
 * (too old, no start time) are summed under it instead. The message and the per-service
 * counts are assembled at the end because a scope's name and a resource's `service.name`
 * may arrive after their spans on the wire.
 */
export class RejectionLog {
  count = 0;
  /** What the message calls one rejected item: `span`, or `log record` for the logs decoders. */
  constructor(private readonly noun = 'span') {}

  private readonly detailed: Rejection[] = [];
  /** Summary → spans, in first-seen order. */
  private readonly summarized = new Map<string, number>();
  /** Per resource (its service name is read at the end), spans by reason. */
  private readonly byResource = new Map<Resource, Record<RejectionReason, number>>();

  /** One span, for a reason the message spells out (with its index and scope). */
  reject(spanIndex: number, scope: InstrumentationScope, reason: string, resource: Resource): void {
    this.count++;
    this.countFor(resource, 'invalid', 1);
    if (this.detailed.length < MAX_DETAILED_REJECTIONS) this.detailed.push({ spanIndex, count: 1, scope, reason });
  }

  /** All `count` spans of one scope (or of a whole resource: no scope) for one reason. */
  rejectGroup(count: number, scope: InstrumentationScope | undefined, reason: string, resource: Resource): void {
    this.count += count;
    this.countFor(resource, 'invalid', count);
    if (this.detailed.length < MAX_DETAILED_REJECTIONS) this.detailed.push({ spanIndex: -1, count, scope, reason });
  }

  /** One span, counted under a summary shared by many ("N spans <summary>"). */
  rejectSummarized(resource: Resource, reason: RejectionReason, summary: string): void {
    this.count++;
    this.countFor(resource, reason, 1);
    this.summarized.set(summary, (this.summarized.get(summary) ?? 0) + 1);
  }

  private countFor(resource: Resource, reason: RejectionReason, spans: number): void {
    let counts = this.byResource.get(resource);
    if (counts === undefined) this.byResource.set(resource, (counts = { invalid: 0, too_old: 0 }));
    counts[reason] += spans;
  }

  message(): string {
    const parts = this.detailed.map((r) => {
      const scope = r.scope === undefined ? '' : ` of scope '${truncate(r.scope.name, MAX_SCOPE_NAME_IN_MESSAGE)}'`;
      const spans = r.spanIndex >= 0 ? `${this.noun} ${r.spanIndex}` : `${r.count} ${this.noun}${r.count === 1 ? '' : 's'}`;
      return `${spans}${scope}: ${r.reason}`;
    });
    let told = this.detailed.reduce((sum, r) => sum + r.count, 0);
    for (const [summary, count] of this.summarized) {
      parts.push(`${count} ${this.noun}${count === 1 ? '' : 's'} ${summary}`);
      told += count;
    }
    const more = this.count - told;
    if (more > 0) parts.push(`and ${more} more rejected ${this.noun}${more === 1 ? '' : 's'}`);
    return parts.join('; ');
  }

  /** The rejected spans by service and reason, for the drop ledger. */
  rejections(): SpanRejection[] {
    const byKey = new Map<string, SpanRejection>();
    for (const [resource, counts] of this.byResource) {
      for (const reason of ['invalid', 'too_old'] as const) {
        const spans = counts[reason];
        if (spans === 0) continue;
        const key = `${reason}\u0000${resource.serviceName}`;
        const entry = byKey.get(key);
        if (entry) entry.spans += spans;
        else byKey.set(key, { service: resource.serviceName, reason, spans });
      }
    }
    return [...byKey.values()];
  }

  /** What a decoder returns: the kept spans and everything about the rejected ones. */
  result(spans: Span[]): DecodedTraces {
    if (this.count === 0) return { spans, rejectedSpans: 0, rejectionMessage: '' };
    return { spans, rejectedSpans: this.count, rejectionMessage: this.message(), rejections: this.rejections() };
  }
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, max) + '…';
}

/** The reason an ID of `length` bytes is unusable as a span's own trace or span ID, or ''. */
export function idLengthProblem(field: string, length: number, want: number): string {
  if (length === want) return '';
  return length === 0 ? `${field} is missing` : `${field} has ${byteCount(length)}, want ${want}`;
}

/** The reason an optional ID (parent span, link) of `length` bytes is unusable, or ''. */
export function optionalIdLengthProblem(field: string, length: number, want: number): string {
  return length === 0 || length === want ? '' : `${field} has ${byteCount(length)}, want ${want} or none`;
}

function byteCount(n: number): string {
  return n === 1 ? '1 byte' : `${n} bytes`;
}
