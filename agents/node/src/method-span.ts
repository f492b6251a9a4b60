import {
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Attributes,
  type AttributeValue,
  type Exception,
  type HrTime,
  type Link,
  type Span,
  type SpanAttributes,
  type SpanContext,
  type SpanStatus,
  type TimeInput,
  type TraceState,
} from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';
import { exceptionAttributes } from './exception.js';
import { formatText } from './serialize.js';
import { durationHrTime, perfFromTimeInput, toHrTime, type Anchor } from './time.js';

/** What every method span shares: where it goes when it ends, and who made it. */
export interface SpanSink {
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
  onEnd(span: ReadableSpan): void;
}

/** What a wrapped function knows about itself, computed once when it is wrapped. */
export interface CallSite {
  /** `Class.method` or `module.function`. */
  readonly name: string;
  /** The `code.*` attributes, frozen and shared by all its spans. */
  readonly attributes: Readonly<Attributes>;
  /** Per parameter: its name looks secret (`password`, `token`…), so its argument is masked. */
  readonly secretParams: readonly boolean[];
  /** Per parameter: its name ('' when destructured), the key context of its argument's masking. */
  readonly paramNames: readonly string[];
  readonly kind: 'function' | 'generator' | 'asyncGenerator';
  /** The last parameter is a callback (`cb`, `callback`, `done`, `next`): the span ends when it is called. */
  readonly callbackLast: boolean;
}

export const CORRELATION_ATTRIBUTE = 'flowtrace.correlation_id';
const NO_LINKS: Link[] = [];
// The cap of a message recorded through the Span API, which does not know the tracer's setting.
const RECORDED_MAX_BYTES = 512;
const NO_EVENTS: TimedEvent[] = [];

/**
 * A span made for a traced method call: the smallest object that is both an API
 * Span (so instrumentations can parent to it) and a ReadableSpan (so the SDK's
 * batch processor and OTLP exporters take it as is). Work that only export needs
 * — time conversion, merging attributes — waits for export.
 */
export class MethodSpan implements Span, ReadableSpan {
  readonly startPerf: number;
  endPerf = -1;
  private statusCode: SpanStatusCode = SpanStatusCode.UNSET;
  private statusMessage: string | undefined = undefined;
  private extra: Attributes | undefined = undefined;
  private eventList: TimedEvent[] | undefined = undefined;
  private renamed: string | undefined = undefined;
  private context: SpanContext | undefined = undefined;

  constructor(
    readonly sink: SpanSink,
    readonly site: CallSite,
    readonly traceId: string,
    readonly spanId: string,
    readonly parentSpanId: string,
    readonly traceFlags: number,
    readonly traceState: TraceState | undefined,
    readonly correlationId: string | undefined,
    readonly anchor: Anchor,
  ) {
    this.startPerf = performance.now();
  }

  // --- API Span -------------------------------------------------------------

  spanContext(): SpanContext {
    return (this.context ??= { traceId: this.traceId, spanId: this.spanId, traceFlags: this.traceFlags, traceState: this.traceState });
  }

  setAttribute(key: string, value: AttributeValue): this {
    if (this.endPerf < 0 && value != null && key !== '') (this.extra ??= {})[key] = value;
    return this;
  }

  setAttributes(attributes: SpanAttributes): this {
    for (const key of Object.keys(attributes)) {
      const value = attributes[key];
      if (value !== undefined) this.setAttribute(key, value);
    }
    return this;
  }

  addEvent(name: string, attributesOrStartTime?: SpanAttributes | TimeInput, startTime?: TimeInput): this {
    if (this.endPerf >= 0) return this;
    let attributes: Attributes | undefined;
    let time: unknown = startTime;
    if (attributesOrStartTime !== undefined && isTimeInput(attributesOrStartTime)) time = attributesOrStartTime;
    else attributes = attributesOrStartTime as Attributes | undefined;
    const perf = perfFromTimeInput(this.anchor, time) ?? performance.now();
    (this.eventList ??= []).push({ name, attributes, time: toHrTime(this.anchor, perf), droppedAttributesCount: 0 });
    return this;
  }

  addLink(): this {
    return this; // Method spans carry no links; links belong to the spans that cross boundaries.
  }

  addLinks(): this {
    return this;
  }

  setStatus(status: SpanStatus): this {
    if (this.endPerf >= 0 || status.code === SpanStatusCode.UNSET || this.statusCode === SpanStatusCode.OK) return this;
    this.statusCode = status.code;
    this.statusMessage = status.code === SpanStatusCode.ERROR && typeof status.message === 'string' ? status.message : undefined;
    return this;
  }

  updateName(name: string): this {
    if (this.endPerf < 0) this.renamed = name;
    return this;
  }

  end(endTime?: TimeInput): void {
    if (this.endPerf >= 0) return;
    const given = endTime === undefined ? undefined : perfFromTimeInput(this.anchor, endTime);
    this.endPerf = Math.max(this.startPerf, given ?? performance.now());
    this.sink.onEnd(this);
  }

  isRecording(): boolean {
    return this.endPerf < 0;
  }

  /** For instrumentations and application code that record an error on a method span: masked as the agent's own (exception.ts). */
  recordException(exception: Exception, time?: TimeInput): void {
    let attributes: Attributes;
    if (typeof exception === 'string') attributes = { 'exception.message': formatText(exception, RECORDED_MAX_BYTES) };
    else if (exception instanceof Error) attributes = exceptionAttributes(exception, RECORDED_MAX_BYTES);
    else {
      attributes = {};
      const type = exception?.code ?? exception?.name;
      if (type !== undefined) attributes['exception.type'] = String(type);
      if (typeof exception?.message === 'string') attributes['exception.message'] = formatText(exception.message, RECORDED_MAX_BYTES);
    }
    this.addEvent('exception', attributes, time);
  }

  // --- ReadableSpan -----------------------------------------------------------

  get kind(): SpanKind {
    return SpanKind.INTERNAL;
  }

  get name(): string {
    return this.renamed ?? this.site.name;
  }

  get parentSpanContext(): SpanContext {
    return { traceId: this.traceId, spanId: this.parentSpanId, traceFlags: this.traceFlags, isRemote: false };
  }

  get startTime(): HrTime {
    return toHrTime(this.anchor, this.startPerf);
  }

  get endTime(): HrTime {
    return this.endPerf < 0 ? [0, 0] : toHrTime(this.anchor, this.endPerf);
  }

  get duration(): HrTime {
    return this.endPerf < 0 ? [-1, -1] : durationHrTime(this.endPerf - this.startPerf);
  }

  get ended(): boolean {
    return this.endPerf >= 0;
  }

  get status(): SpanStatus {
    return this.statusMessage === undefined ? { code: this.statusCode } : { code: this.statusCode, message: this.statusMessage };
  }

  get attributes(): Attributes {
    if (this.extra === undefined && this.correlationId === undefined) return this.site.attributes as Attributes;
    const out: Attributes = { ...this.site.attributes };
    if (this.correlationId !== undefined) out[CORRELATION_ATTRIBUTE] = this.correlationId;
    return this.extra === undefined ? out : Object.assign(out, this.extra);
  }

  get links(): Link[] {
    return NO_LINKS;
  }

  get events(): TimedEvent[] {
    return this.eventList ?? NO_EVENTS;
  }

  get resource(): Resource {
    return this.sink.resource;
  }

  get instrumentationScope(): InstrumentationScope {
    return this.sink.scope;
  }

  get droppedAttributesCount(): number {
    return 0;
  }

  get droppedEventsCount(): number {
    return 0;
  }

  get droppedLinksCount(): number {
    return 0;
  }

  get sampled(): boolean {
    return (this.traceFlags & TraceFlags.SAMPLED) !== 0;
  }
}

function isTimeInput(v: unknown): boolean {
  return typeof v === 'number' || v instanceof Date || (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number');
}
