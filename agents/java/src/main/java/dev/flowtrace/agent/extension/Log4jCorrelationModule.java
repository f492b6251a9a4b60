package dev.flowtrace.agent.extension;

import static net.bytebuddy.matcher.ElementMatchers.named;

import io.opentelemetry.javaagent.extension.instrumentation.HelperResourceBuilder;
import io.opentelemetry.javaagent.extension.instrumentation.InstrumentationModule;
import io.opentelemetry.javaagent.extension.instrumentation.TypeInstrumentation;
import io.opentelemetry.javaagent.extension.instrumentation.TypeTransformer;
import io.opentelemetry.javaagent.extension.matcher.AgentElementMatchers;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import java.util.List;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.matcher.ElementMatcher;

/**
 * {@code flowtrace.correlation_id} in Log4j2's context data (2.13.2 and later, which load
 * ContextDataProviders as services; {@code otel.instrumentation.flowtrace-log4j-context-data.enabled}),
 * beside the official log4j-context-data provider's trace_id and span_id. The agent serves our
 * services file to the class loader that loads the ContextDataProvider interface, with our provider
 * injected there. Off with FLOWTRACE_LOG_CORRELATION=off.
 */
public final class Log4jCorrelationModule extends InstrumentationModule {
  static final String PROVIDER = "org.apache.logging.log4j.core.util.ContextDataProvider";
  static final String SERVICES = "META-INF/services/" + PROVIDER;
  /** Our services file in the extension jar, under a name of its own (the agent's file has the official provider). */
  static final String OUR_SERVICES = "dev/flowtrace/agent/extension/logs/log4j-context-data-provider.services";

  public Log4jCorrelationModule() {
    super("flowtrace-log4j-context-data", "flowtrace-logs", "flowtrace");
  }

  @Override
  public boolean defaultEnabled(ConfigProperties config) {
    return AgentSettings.get().logCorrelation.structured();
  }

  @Override
  public void registerHelperResources(HelperResourceBuilder helperResourceBuilder) {
    helperResourceBuilder.register(SERVICES, OUR_SERVICES);
  }

  @Override
  public List<TypeInstrumentation> typeInstrumentations() {
    return List.of(new ProviderInterface());
  }

  @Override
  public List<String> getAdditionalHelperClassNames() {
    return HelperClasses.logging("Log4jContextDataProvider");
  }

  /** Matching the interface when Log4j loads it is what injects the helpers and the services file; nothing is transformed. */
  private static final class ProviderInterface implements TypeInstrumentation {
    @Override
    public ElementMatcher<ClassLoader> classLoaderOptimization() {
      return AgentElementMatchers.hasClassesNamed(PROVIDER);
    }

    @Override
    public ElementMatcher<TypeDescription> typeMatcher() {
      return named(PROVIDER);
    }

    @Override
    public void transform(TypeTransformer transformer) {}
  }
}
