package dev.flowtrace.agent.extension;

import io.opentelemetry.javaagent.extension.instrumentation.InstrumentationModule;
import io.opentelemetry.javaagent.extension.instrumentation.TypeInstrumentation;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import java.util.List;

/**
 * FlowTrace's method spans as an instrumentation of the official agent
 * ({@code otel.instrumentation.flowtrace-methods.enabled}). Off when the settings are bad.
 */
public final class FlowTraceInstrumentationModule extends InstrumentationModule {

  public FlowTraceInstrumentationModule() {
    super("flowtrace-methods", "flowtrace");
  }

  @Override
  public boolean defaultEnabled(ConfigProperties config) {
    return AgentSettings.get().enabled();
  }

  @Override
  public List<TypeInstrumentation> typeInstrumentations() {
    return AgentSettings.get().enabled() ? List.of(new MethodTypeInstrumentation(AgentSettings.get())) : List.of();
  }

  @Override
  public List<String> getAdditionalHelperClassNames() {
    return HelperClasses.NAMES;
  }
}
