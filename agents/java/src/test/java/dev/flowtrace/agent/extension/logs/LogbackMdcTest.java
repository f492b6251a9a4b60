package dev.flowtrace.agent.extension.logs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.flowtrace.agent.core.LogCorrelation;
import io.opentelemetry.api.baggage.Baggage;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the LoggingEvent.getMDCPropertyMap advice adds (LogCorrelationIT runs it on a real application). */
class LogbackMdcTest {
  private static Context request(String id) {
    return Context.root().with(Baggage.builder().put(LogCorrelation.CORRELATION_ID, id).build());
  }

  @Test
  void theIdIsTheCurrentRequestsAndOnlyAnAcceptableOne() {
    try (Scope ignored = request("req-7f3a9c").makeCurrent()) {
      assertEquals("req-7f3a9c", LogbackMdc.currentCorrelationId());
    }
    try (Scope ignored = request("a b\"<c>").makeCurrent()) {
      assertNull(LogbackMdc.currentCorrelationId());
    }
    assertNull(LogbackMdc.currentCorrelationId());
  }

  @Test
  void theEventsCopyGetsTheIdAndLogbacksSharedMapIsLeftAlone() {
    Map<String, String> shared = Map.of("user", "ann");
    Map<String, String> copy = LogbackMdc.withCorrelationId(shared, "req-1");
    assertEquals(Map.of("user", "ann", "flowtrace.correlation_id", "req-1"), copy);
    assertEquals(Map.of("user", "ann"), shared);
    assertThrows(UnsupportedOperationException.class, () -> copy.put("x", "y"));
    assertEquals(Map.of("flowtrace.correlation_id", "req-1"), LogbackMdc.withCorrelationId(null, "req-1"));
    assertSame(copy, LogbackMdc.withCorrelationId(copy, "req-1"));
  }
}
