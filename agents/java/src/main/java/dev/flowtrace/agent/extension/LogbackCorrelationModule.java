package dev.flowtrace.agent.extension;

import static net.bytebuddy.matcher.ElementMatchers.isPublic;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

import io.opentelemetry.javaagent.extension.instrumentation.InstrumentationModule;
import io.opentelemetry.javaagent.extension.instrumentation.TypeInstrumentation;
import io.opentelemetry.javaagent.extension.instrumentation.TypeTransformer;
import io.opentelemetry.javaagent.extension.matcher.AgentElementMatchers;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import java.util.List;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.matcher.ElementMatcher;

/**
 * {@code flowtrace.correlation_id} in Logback's MDC ({@code otel.instrumentation.flowtrace-logback-mdc.enabled}),
 * beside the official logback-mdc instrumentation's trace_id and span_id. Off with FLOWTRACE_LOG_CORRELATION=off.
 */
public final class LogbackCorrelationModule extends InstrumentationModule {
  private static final String EVENT = "ch.qos.logback.classic.spi.LoggingEvent";

  public LogbackCorrelationModule() {
    super("flowtrace-logback-mdc", "flowtrace-logs", "flowtrace");
  }

  @Override
  public boolean defaultEnabled(ConfigProperties config) {
    return AgentSettings.get().logCorrelation.structured();
  }

  @Override
  public List<TypeInstrumentation> typeInstrumentations() {
    return List.of(new LoggingEventInstrumentation());
  }

  @Override
  public List<String> getAdditionalHelperClassNames() {
    return HelperClasses.logging("LogbackMdc");
  }

  /** LoggingEvent, Logback's event (getMdc() calls getMDCPropertyMap()); its mdcPropertyMap field holds the MDC copy. */
  private static final class LoggingEventInstrumentation implements TypeInstrumentation {
    @Override
    public ElementMatcher<ClassLoader> classLoaderOptimization() {
      return AgentElementMatchers.hasClassesNamed(EVENT);
    }

    @Override
    public ElementMatcher<TypeDescription> typeMatcher() {
      return named(EVENT);
    }

    @Override
    public void transform(TypeTransformer transformer) {
      transformer.applyAdviceToMethod(
          isPublic().and(named("getMDCPropertyMap")).and(takesArguments(0)),
          "dev.flowtrace.agent.extension.logs.LogbackMdcAdvice");
    }
  }
}
