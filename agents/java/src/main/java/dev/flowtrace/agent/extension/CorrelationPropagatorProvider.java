package dev.flowtrace.agent.extension;

import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigurablePropagatorProvider;

/** Makes {@code flowtrace} a name {@code otel.propagators} accepts. */
public final class CorrelationPropagatorProvider implements ConfigurablePropagatorProvider {
  static final String NAME = "flowtrace";

  @Override
  public TextMapPropagator getPropagator(ConfigProperties config) {
    return new CorrelationPropagator();
  }

  @Override
  public String getName() {
    return NAME;
  }
}
