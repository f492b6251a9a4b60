package dev.flowtrace.agent.extension;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.TracerProvider;
import io.opentelemetry.context.propagation.ContextPropagators;

/** An OpenTelemetry whose tracer fails on every span: an internal error on FlowTrace's side. */
final class FailingOpenTelemetry implements OpenTelemetry {
  @Override
  public TracerProvider getTracerProvider() {
    Tracer broken = spanName -> {
      throw new IllegalStateException("tracer broken on purpose");
    };
    return new TracerProvider() {
      @Override
      public Tracer get(String name) {
        return broken;
      }

      @Override
      public Tracer get(String name, String version) {
        return broken;
      }
    };
  }

  @Override
  public ContextPropagators getPropagators() {
    return ContextPropagators.noop();
  }
}
