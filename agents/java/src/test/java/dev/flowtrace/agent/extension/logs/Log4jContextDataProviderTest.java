package dev.flowtrace.agent.extension.logs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowtrace.agent.core.LogCorrelation;
import io.opentelemetry.api.baggage.Baggage;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.apache.logging.log4j.core.util.ContextDataProvider;
import org.junit.jupiter.api.Test;

/**
 * The Log4j2 ContextDataProvider, and the services file the agent serves for it (LogCorrelationIT
 * runs both under the agent on a real Log4j2 application).
 */
class Log4jContextDataProviderTest {
  private static final Context REQUEST =
      Context.root().with(Baggage.builder().put(LogCorrelation.CORRELATION_ID, "req-7f3a9c").build());

  @Test
  void suppliesTheCorrelationIdOfTheCurrentContext() {
    Log4jContextDataProvider provider = new Log4jContextDataProvider();
    try (Scope ignored = REQUEST.makeCurrent()) {
      assertEquals(Map.of("flowtrace.correlation_id", "req-7f3a9c"), provider.supplyContextData());
    }
    assertEquals(Map.of(), provider.supplyContextData());
  }

  @Test
  void theServicesFileTheAgentServesNamesIt() throws Exception {
    try (InputStream in = Log4jContextDataProviderTest.class.getClassLoader()
        .getResourceAsStream("dev/flowtrace/agent/extension/logs/log4j-context-data-provider.services")) {
      String name = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
      assertTrue(ContextDataProvider.class.isAssignableFrom(Class.forName(name)), name);
      assertEquals(Log4jContextDataProvider.class.getName(), name);
    }
  }
}
