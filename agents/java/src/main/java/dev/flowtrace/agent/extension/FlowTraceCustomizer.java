package dev.flowtrace.agent.extension;

import io.opentelemetry.sdk.autoconfigure.spi.AutoConfigurationCustomizer;
import io.opentelemetry.sdk.autoconfigure.spi.AutoConfigurationCustomizerProvider;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Wires the correlation ID into the agent's SDK: the {@code flowtrace} propagator after the
 * configured ones (default {@code tracecontext,baggage}), and the span processor that puts the ID
 * on every span.
 */
public final class FlowTraceCustomizer implements AutoConfigurationCustomizerProvider {
  static final String PROPAGATORS = "otel.propagators";

  @Override
  public void customize(AutoConfigurationCustomizer customizer) {
    customizer.addPropertiesCustomizer(FlowTraceCustomizer::propagators);
    customizer.addTracerProviderCustomizer((builder, config) -> builder.addSpanProcessor(new CorrelationSpanProcessor()));
  }

  /** {@code otel.propagators} with {@code flowtrace} appended, unless it is {@code none} or has it. */
  static Map<String, String> propagators(ConfigProperties config) {
    List<String> names = new ArrayList<>(config.getList(PROPAGATORS, List.of("tracecontext", "baggage")));
    if (names.contains("none") || names.contains(CorrelationPropagatorProvider.NAME)) return Map.of();
    names.add(CorrelationPropagatorProvider.NAME);
    return Map.of(PROPAGATORS, String.join(",", names));
  }
}
