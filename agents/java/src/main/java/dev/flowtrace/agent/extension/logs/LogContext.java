package dev.flowtrace.agent.extension.logs;

import dev.flowtrace.agent.core.CorrelationIds;
import dev.flowtrace.agent.core.LogCorrelation;
import io.opentelemetry.api.baggage.Baggage;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.context.Context;
import java.lang.reflect.Method;
import java.util.Map;

/**
 * The log correlation fields of a context, read where the log line is made: in the application's
 * class loader (the logging helpers are injected there), which sees the OpenTelemetry API but not
 * the agent's SDK.
 */
public final class LogContext {
  private LogContext() {}

  private static final AttributeKey<String> CORRELATION = AttributeKey.stringKey(LogCorrelation.CORRELATION_ID);
  private static final String READABLE_SPAN = "io.opentelemetry.sdk.trace.ReadableSpan";

  /**
   * ReadableSpan.getAttribute for a span class, or null when the span is not the SDK's. A trace
   * that starts outside any request (a job, a timer) has its correlation ID on its spans only (the
   * span processor sets it; no baggage exists to carry it), and the SDK's span type lives in the
   * agent's class loader, out of this one's sight: reached by name through the span's own loader.
   */
  private static final ClassValue<Method> GET_ATTRIBUTE = new ClassValue<>() {
    @Override
    protected Method computeValue(Class<?> type) {
      try {
        Class<?> readable = Class.forName(READABLE_SPAN, false, type.getClassLoader());
        return readable.isAssignableFrom(type) ? readable.getMethod("getAttribute", AttributeKey.class) : null;
      } catch (ReflectiveOperationException | LinkageError | SecurityException e) {
        return null;
      }
    }
  };

  /** The context's correlation ID: its baggage entry, else the one on its span; null when none. */
  public static String correlationId(Context context) {
    String id = CorrelationIds.accept(Baggage.fromContext(context).getEntryValue(LogCorrelation.CORRELATION_ID));
    if (id != null) return id;
    Span span = Span.fromContextOrNull(context);
    if (span == null) return null;
    Method getAttribute = GET_ATTRIBUTE.get(span.getClass());
    if (getAttribute == null) return null;
    try {
      Object value = getAttribute.invoke(span, CORRELATION);
      return value instanceof String ? CorrelationIds.accept((String) value) : null;
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }

  /** trace_id, span_id and flowtrace.correlation_id, each only when the context has it. */
  public static Map<String, String> fields(Context context) {
    SpanContext span = Span.fromContext(context).getSpanContext();
    boolean valid = span.isValid();
    return LogCorrelation.fields(valid ? span.getTraceId() : null, valid ? span.getSpanId() : null, correlationId(context));
  }
}
