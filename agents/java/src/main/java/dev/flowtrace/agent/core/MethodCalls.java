package dev.flowtrace.agent.core;

import io.opentelemetry.api.GlobalOpenTelemetry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;

/**
 * What the advice inlined into traced methods calls: {@link #enter} starts an INTERNAL span and
 * makes it current, {@link #exit} records the outcome and ends it. A failure inside FlowTrace
 * turns tracing off for that method and is logged once; the call itself goes on untouched (the
 * advice also suppresses anything thrown here).
 */
public final class MethodCalls {
  private MethodCalls() {}

  public static final String INSTRUMENTATION_NAME = "dev.flowtrace.agent.java";
  private static final String[] ARG_KEYS = new String[32];
  private static final AttributeKey<String> RETURN_KEY = AttributeKey.stringKey("flowtrace.return");

  static {
    for (int i = 0; i < ARG_KEYS.length; i++) ARG_KEYS[i] = "flowtrace.args." + i;
  }

  /** A call in progress, handed from the enter advice to the exit advice. */
  public static final class Call {
    final CallSite site;
    final Span span;
    final Scope scope;

    Call(CallSite site, Span span, Scope scope) {
      this.site = site;
      this.span = span;
      this.scope = scope;
    }
  }

  private static volatile Runtime runtime;

  private static final class Runtime {
    final Tracer tracer;
    final Settings settings;

    Runtime(Tracer tracer, Settings settings) {
      this.tracer = tracer;
      this.settings = settings;
    }
  }

  /** Sets the tracer and settings (tests; under the agent they are read on first use). */
  public static void install(OpenTelemetry openTelemetry, Settings settings) {
    runtime = new Runtime(openTelemetry.getTracer(INSTRUMENTATION_NAME, Version.VALUE), settings);
  }

  private static Runtime runtime() {
    Runtime r = runtime;
    if (r == null) {
      synchronized (MethodCalls.class) {
        r = runtime;
        if (r == null) {
          r = new Runtime(GlobalOpenTelemetry.getTracer(INSTRUMENTATION_NAME, Version.VALUE), Settings.fromProcess());
          runtime = r;
        }
      }
    }
    return r;
  }

  /**
   * @param type the class that declares the method
   * @param method its name and descriptor, {@code add(ILjava/lang/String;)V}
   * @param args its arguments, or null when arguments are not captured
   * @return the call to pass to {@link #exit}, or null when the call is not traced
   */
  public static Call enter(Class<?> type, String method, Object[] args) {
    return enter(type, method, args, true);
  }

  /**
   * A constructor's call: its span is not made current. The JVM lets no handler wrap a
   * constructor's super() call, so a constructor that throws never reaches {@link #exit}; a scope
   * opened here would then stay open and leak the span into whatever the thread runs next.
   */
  public static Call enterConstructor(Class<?> type, String method, Object[] args) {
    return enter(type, method, args, false);
  }

  private static Call enter(Class<?> type, String method, Object[] args, boolean makeCurrent) {
    CallSite site = null;
    try {
      site = CallSites.get(type, method);
      if (site.disabled) return null;
      Runtime r = runtime();
      Context parent = Context.current();
      Span span = r.tracer.spanBuilder(site.spanName)
          .setSpanKind(SpanKind.INTERNAL)
          .setParent(parent)
          .setAllAttributes(site.attributes)
          .startSpan();
      if (args != null && span.isRecording()) captureArgs(span, site, args, r.settings.maxValueBytes);
      return new Call(site, span, makeCurrent ? parent.with(span).makeCurrent() : null);
    } catch (Throwable t) {
      fail(site, type, method, t);
      return null;
    }
  }

  /**
   * @param returned the return value, boxed; null when not captured (or void)
   * @param captureReturn whether {@code returned} is to be recorded
   */
  public static void exit(Call call, Throwable thrown, Object returned, boolean captureReturn) {
    if (call == null) return;
    try {
      try {
        if (call.scope != null) call.scope.close();
      } finally {
        Span span = call.span;
        try {
          if (thrown != null) {
            span.setStatus(StatusCode.ERROR);
            if (span.isRecording()) {
              String message = ExceptionEvent.record(span, thrown, runtime().settings.maxValueBytes);
              // The masked message as the status description, as the Node.js agent sets it.
              if (message != null) span.setStatus(StatusCode.ERROR, message);
            }
          } else if (captureReturn && span.isRecording()) {
            span.setAttribute(RETURN_KEY, ValueRenderer.render(returned, runtime().settings.maxValueBytes, "return"));
          }
        } finally {
          span.end();
        }
      }
    } catch (Throwable t) {
      fail(call.site, null, call.site.spanName, t);
    }
  }

  private static void captureArgs(Span span, CallSite site, Object[] args, int maxBytes) {
    for (int i = 0; i < args.length && i < ARG_KEYS.length; i++) {
      String value = site.isSecretParameter(i)
          ? Redactor.MASK
          : ValueRenderer.render(args[i], maxBytes, site.parameterName(i));
      span.setAttribute(ARG_KEYS[i], value);
    }
  }

  private static void fail(CallSite site, Class<?> type, String method, Throwable t) {
    if (site != null) site.disabled = true;
    String where = type == null ? method : type.getName() + "." + method;
    AgentLog.once(where, "flowtrace: tracing of " + where + " is off after an internal error: " + t);
  }
}
