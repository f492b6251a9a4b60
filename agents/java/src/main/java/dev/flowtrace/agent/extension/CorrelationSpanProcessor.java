package dev.flowtrace.agent.extension;

import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.ReadWriteSpan;
import io.opentelemetry.sdk.trace.ReadableSpan;
import io.opentelemetry.sdk.trace.SpanProcessor;

/**
 * Puts the correlation ID on every span the SDK starts — HTTP, database, messaging and method
 * spans alike: from the parent context's baggage, else from the parent span, else a new one for a
 * span that starts a trace outside any request (a job, a timer).
 */
public final class CorrelationSpanProcessor implements SpanProcessor {
  @Override
  public void onStart(Context parentContext, ReadWriteSpan span) {
    String id = Correlation.of(parentContext);
    if (id == null && !span.getParentSpanContext().isValid()) id = Correlation.newId();
    if (id != null) span.setAttribute(Correlation.ATTRIBUTE, id);
  }

  @Override
  public boolean isStartRequired() {
    return true;
  }

  @Override
  public void onEnd(ReadableSpan span) {}

  @Override
  public boolean isEndRequired() {
    return false;
  }

  @Override
  public CompletableResultCode shutdown() {
    return CompletableResultCode.ofSuccess();
  }
}
