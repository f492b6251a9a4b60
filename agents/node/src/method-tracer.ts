import type { AsyncLocalStorage } from 'node:async_hooks';
import {
  INVALID_TRACEID,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { SPAN_KEY, SUPPRESS_KEY, SpanNode } from './context-keys.js';
import { correlationOf, newCorrelationId, withCorrelation } from './correlation.js';
import { exceptionAttributes } from './exception.js';
import { newSpanId } from './ids.js';
import { MethodSpan, type CallSite, type SpanSink } from './method-span.js';
import { MASK } from './redact.js';
import { formatValue } from './serialize.js';
import { anchorOfSdkSpan, newAnchor, type Anchor } from './time.js';

export interface MethodTracerOptions {
  /** The context manager's storage: entering a context here is entering it for everyone. */
  storage: AsyncLocalStorage<Context>;
  /** Where method spans go when they end (the batch processor). */
  sink: SpanSink;
  /** The SDK tracer, for spans that start a trace or whose sampling the sampler must decide. */
  sdkTracer: Tracer;
  /** The sampler follows a sampled parent (parentbased_*, always_on): no need to ask it per call. */
  followsParent: boolean;
  captureArgs: boolean;
  captureReturn: boolean;
  maxValueBytes: number;
}

type Target = (...args: unknown[]) => unknown;
type NewTarget = abstract new (...args: unknown[]) => unknown;

export const MAX_CAPTURED_ARGS = 16;
const ARG_KEYS = Array.from({ length: MAX_CAPTURED_ARGS }, (_, i) => `flowtrace.args.${i}`);
export const RETURN_KEY = 'flowtrace.return';

function invoke(target: Target, self: unknown, args: ArrayLike<unknown>, newTarget: NewTarget | undefined): unknown {
  return newTarget === undefined ? Reflect.apply(target, self, args) : Reflect.construct(target, args, newTarget);
}

/**
 * Marks the span failed with an `exception` event whose message and stack are masked and cut
 * (exception.ts), and ends it, even if reading the error throws.
 */
function endWithError(span: Span, err: unknown, maxBytes: number): void {
  if (!span.isRecording()) return;
  try {
    const attributes = exceptionAttributes(err, maxBytes);
    span.addEvent('exception', attributes);
    const message = attributes['exception.message'];
    span.setStatus(typeof message === 'string' ? { code: SpanStatusCode.ERROR, message } : { code: SpanStatusCode.ERROR });
  } finally {
    span.end();
  }
}

/**
 * Runs a wrapped function inside a span. The common case — a call inside a
 * sampled trace — builds one MethodSpan and one SpanNode and enters the context
 * storage directly; everything else (no trace yet, a sampler that must decide)
 * goes through the SDK tracer like any hand-written span.
 */
export class MethodTracer {
  enabled = true;
  private readonly storage: AsyncLocalStorage<Context>;
  private readonly sink: SpanSink;
  private readonly sdkTracer: Tracer;
  private readonly followsParent: boolean;
  readonly captureArgs: boolean;
  readonly captureReturn: boolean;
  readonly maxValueBytes: number;
  // What the last SDK-made parent context gave: its correlation ID and clock anchor.
  private lastParentCtx: Context | undefined = undefined;
  private lastCorrelation: string | undefined = undefined;
  private lastAnchor: Anchor | undefined = undefined;

  constructor(opts: MethodTracerOptions) {
    this.storage = opts.storage;
    this.sink = opts.sink;
    this.sdkTracer = opts.sdkTracer;
    this.followsParent = opts.followsParent;
    this.captureArgs = opts.captureArgs;
    this.captureReturn = opts.captureReturn;
    this.maxValueBytes = opts.maxValueBytes;
  }

  call(site: CallSite, target: Target, self: unknown, args: ArrayLike<unknown>, newTarget: NewTarget | undefined): unknown {
    if (!this.enabled) return invoke(target, self, args, newTarget);
    const parentCtx = this.storage.getStore() ?? ROOT_CONTEXT;
    let parent: Span | undefined;
    let base: Context;
    if (parentCtx instanceof SpanNode) {
      parent = parentCtx.span;
      base = parentCtx.base;
    } else {
      parent = parentCtx.getValue(SPAN_KEY) as Span | undefined;
      base = parentCtx;
    }
    if (base.getValue(SUPPRESS_KEY) === true) return invoke(target, self, args, newTarget);

    let span: MethodSpan;
    if (parent instanceof MethodSpan) {
      span = new MethodSpan(
        this.sink,
        site,
        parent.traceId,
        newSpanId(),
        parent.spanId,
        parent.traceFlags,
        parent.traceState,
        parent.correlationId,
        parent.anchor,
      );
    } else if (parent !== undefined && this.followsParent) {
      const sc = parent.spanContext();
      if ((sc.traceFlags & TraceFlags.SAMPLED) === 0) {
        // An unsampled trace stays unsampled below; an invalid parent is no parent.
        if (sc.traceId !== INVALID_TRACEID) return invoke(target, self, args, newTarget);
        return this.callWithSdkSpan(site, target, self, args, newTarget, parentCtx);
      }
      // Contexts are immutable: what was read from this one last time still holds.
      if (parentCtx !== this.lastParentCtx) {
        this.lastParentCtx = parentCtx;
        this.lastCorrelation = correlationOf(parentCtx);
        this.lastAnchor = anchorOfSdkSpan(parent) ?? newAnchor();
      }
      span = new MethodSpan(this.sink, site, sc.traceId, newSpanId(), sc.spanId, sc.traceFlags, sc.traceState, this.lastCorrelation, this.lastAnchor!);
    } else {
      return this.callWithSdkSpan(site, target, self, args, newTarget, parentCtx);
    }
    return this.run(span, new SpanNode(base, span), parentCtx, site, target, self, args, newTarget);
  }

  /** A call outside any trace, or under a sampler that decides per span: the SDK makes the span. */
  private callWithSdkSpan(
    site: CallSite,
    target: Target,
    self: unknown,
    args: ArrayLike<unknown>,
    newTarget: NewTarget | undefined,
    parentCtx: Context,
  ): unknown {
    let ctx = parentCtx;
    // A trace that starts here starts its correlation ID here too.
    if (trace.getSpan(parentCtx) === undefined && correlationOf(parentCtx) === undefined) ctx = withCorrelation(ctx, newCorrelationId());
    const span = this.sdkTracer.startSpan(site.name, { kind: SpanKind.INTERNAL, attributes: site.attributes }, ctx);
    const spanCtx = trace.setSpan(ctx, span);
    // Not sampled: still enter the span's context, so that calls below inherit the decision.
    if (!span.isRecording()) return this.storage.run(spanCtx, invoke, target, self, args, newTarget);
    return this.run(span, spanCtx, parentCtx, site, target, self, args, newTarget);
  }

  private run(
    span: Span,
    ctx: Context,
    parentCtx: Context,
    site: CallSite,
    target: Target,
    self: unknown,
    args: ArrayLike<unknown>,
    newTarget: NewTarget | undefined,
  ): unknown {
    if (this.captureArgs) this.recordArgs(span, site, args);
    let callArgs = args;
    let endsOnCallback = false;
    if (site.callbackLast && args.length > 0 && typeof args[args.length - 1] === 'function') {
      callArgs = this.hookCallback(span, parentCtx, args);
      endsOnCallback = true;
    }
    let result: unknown;
    try {
      result = this.storage.run(ctx, invoke, target, self, callArgs, newTarget);
    } catch (err) {
      endWithError(span, err, this.maxValueBytes);
      throw err;
    }
    if (site.kind !== 'function') return this.wrapIterator(span, ctx, result, site.kind === 'asyncGenerator');
    if (result instanceof Promise) return this.settle(span, result);
    if (endsOnCallback) return result;
    if (this.captureReturn && newTarget === undefined) span.setAttribute(RETURN_KEY, formatValue(result, this.maxValueBytes));
    span.end();
    return result;
  }

  private recordArgs(span: Span, site: CallSite, args: ArrayLike<unknown>): void {
    const n = Math.min(args.length, MAX_CAPTURED_ARGS);
    for (let i = 0; i < n; i++) {
      span.setAttribute(ARG_KEYS[i], site.secretParams[i] === true ? MASK : formatValue(args[i], this.maxValueBytes, site.paramNames[i]));
    }
  }

  /** Ends the span when the promise settles; the caller gets a promise that settles the same way. */
  private settle(span: Span, promise: Promise<unknown>): Promise<unknown> {
    return promise.then(
      (value) => {
        if (span.isRecording()) {
          if (this.captureReturn) span.setAttribute(RETURN_KEY, formatValue(value, this.maxValueBytes));
          span.end();
        }
        return value;
      },
      (err: unknown) => {
        endWithError(span, err, this.maxValueBytes);
        throw err;
      },
    );
  }

  /**
   * Replaces a trailing callback so that the span ends when it is called (an
   * Error as first argument marks the span failed). The callback itself runs in
   * the caller's context, as it would without the agent.
   */
  private hookCallback(span: Span, parentCtx: Context, args: ArrayLike<unknown>): unknown[] {
    const copy = Array.prototype.slice.call(args) as unknown[];
    const last = copy.length - 1;
    const callback = copy[last] as Target;
    const storage = this.storage;
    const tracer = this;
    copy[last] = function flowtraceCallback(this: unknown, ...cbArgs: unknown[]): unknown {
      if (span.isRecording()) {
        const err = cbArgs[0];
        if (err instanceof Error) endWithError(span, err, tracer.maxValueBytes);
        else {
          if (tracer.captureReturn && cbArgs.length > 1) span.setAttribute(RETURN_KEY, formatValue(cbArgs[1], tracer.maxValueBytes));
          span.end();
        }
      }
      return storage.run(parentCtx, invoke, callback, this, cbArgs, undefined);
    };
    return copy;
  }

  /**
   * A generator's span lasts from the call until the generator finishes, throws
   * or is closed; each step runs in the span's context so that its children nest.
   */
  private wrapIterator(span: Span, ctx: Context, it: unknown, isAsync: boolean): unknown {
    if (it === null || typeof it !== 'object') {
      span.end();
      return it;
    }
    const gen = it as Record<'next' | 'return' | 'throw', Target>;
    const storage = this.storage;
    const tracer = this;
    const finish = (value: unknown): void => {
      if (!span.isRecording()) return;
      if (tracer.captureReturn && value !== undefined) span.setAttribute(RETURN_KEY, formatValue(value, tracer.maxValueBytes));
      span.end();
    };
    const step = (method: 'next' | 'return' | 'throw', arg: unknown[]): unknown => {
      let r: unknown;
      try {
        r = storage.run(ctx, invoke, gen[method], gen, arg, undefined);
      } catch (err) {
        endWithError(span, err, tracer.maxValueBytes);
        throw err;
      }
      if (isAsync && r instanceof Promise) {
        return r.then(
          (res: IteratorResult<unknown>) => {
            if (res.done) finish(res.value);
            return res;
          },
          (err: unknown) => {
            endWithError(span, err, tracer.maxValueBytes);
            throw err;
          },
        );
      }
      const res = r as IteratorResult<unknown>;
      if (res.done) finish(res.value);
      return res;
    };
    const wrapped = Object.create(Object.getPrototypeOf(it) as object) as object;
    for (const method of ['next', 'return', 'throw'] as const) {
      Object.defineProperty(wrapped, method, {
        value: function (...arg: unknown[]): unknown {
          return step(method, arg);
        },
        writable: true,
        configurable: true,
        enumerable: false,
      });
    }
    return wrapped;
  }
}
