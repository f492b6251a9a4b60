package dev.flowtrace.agent.extension;

import dev.flowtrace.agent.core.LogCorrelation;
import io.opentelemetry.sdk.autoconfigure.spi.AutoConfigurationCustomizer;
import io.opentelemetry.sdk.autoconfigure.spi.AutoConfigurationCustomizerProvider;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Wires the correlation ID into the agent's SDK: the {@code flowtrace} propagator after the
 * configured ones (default {@code tracecontext,baggage}), the span processor that puts the ID
 * on every span, the log record processor that puts it on every exported log record, and the
 * masking of exported log records. FLOWTRACE_LOG_CORRELATION=off also turns off the official
 * agent's logback-mdc and log4j-context-data instrumentations (trace_id and span_id in log lines).
 */
public final class FlowTraceCustomizer implements AutoConfigurationCustomizerProvider {
  static final String PROPAGATORS = "otel.propagators";

  @Override
  public void customize(AutoConfigurationCustomizer customizer) {
    LogCorrelation.Mode logs = AgentSettings.get().logCorrelation;
    customizer.addPropertiesCustomizer(FlowTraceCustomizer::propagators);
    customizer.addPropertiesCustomizer(config -> logProperties(logs));
    customizer.addTracerProviderCustomizer((builder, config) -> builder.addSpanProcessor(new CorrelationSpanProcessor()));
    if (logs.structured()) {
      customizer.addLoggerProviderCustomizer((builder, config) -> builder.addLogRecordProcessorFirst(new CorrelationLogProcessor()));
    }
    customizer.addLogRecordExporterCustomizer((exporter, config) -> new MaskingLogRecordExporter(exporter));
  }

  /** Off: the official agent's trace_id/span_id in Logback's MDC and Log4j2's context data go too. */
  static Map<String, String> logProperties(LogCorrelation.Mode mode) {
    if (mode.structured()) return Map.of();
    return Map.of(
        "otel.instrumentation.logback-mdc.enabled", "false",
        "otel.instrumentation.log4j-context-data.enabled", "false");
  }

  /** {@code otel.propagators} with {@code flowtrace} appended, unless it is {@code none} or has it. */
  static Map<String, String> propagators(ConfigProperties config) {
    List<String> names = new ArrayList<>(config.getList(PROPAGATORS, List.of("tracecontext", "baggage")));
    if (names.contains("none") || names.contains(CorrelationPropagatorProvider.NAME)) return Map.of();
    names.add(CorrelationPropagatorProvider.NAME);
    return Map.of(PROPAGATORS, String.join(",", names));
  }
}
