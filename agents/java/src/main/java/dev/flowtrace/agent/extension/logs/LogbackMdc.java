package dev.flowtrace.agent.extension.logs;

import dev.flowtrace.agent.core.LogCorrelation;
import io.opentelemetry.context.Context;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;

/**
 * The correlation ID in a Logback event's MDC. A LoggingEvent copies the MDC once, at the first
 * getMDCPropertyMap() (an appender's layout, an async appender's prepareForDeferredProcessing,
 * the official agent's OTLP appender), on the thread that logs, where the request's context is
 * current; the copy gets the ID then, and keeps it for every later reader. trace_id and span_id
 * are the official agent's logback-mdc instrumentation's.
 */
public final class LogbackMdc {
  private LogbackMdc() {}

  /** The current context's correlation ID, or null. */
  public static String currentCorrelationId() {
    return LogContext.correlationId(Context.current());
  }

  /** {@code mdc} (Logback's shared read-only copy, or null) with the ID added, as a new map. */
  public static Map<String, String> withCorrelationId(Map<String, String> mdc, String id) {
    if (mdc != null && id.equals(mdc.get(LogCorrelation.CORRELATION_ID))) return mdc;
    Map<String, String> out = mdc == null ? new HashMap<>() : new HashMap<>(mdc);
    out.put(LogCorrelation.CORRELATION_ID, id);
    return Collections.unmodifiableMap(out);
  }
}
