package dev.flowtrace.agent.extension;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.opentelemetry.api.baggage.propagation.W3CBaggagePropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import java.io.File;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** agents/conformance/correlation/ids.json: which incoming correlation IDs are taken as they are. */
class CorrelationConformanceTest {
  private static final JsonNode IDS = load();
  private static final TextMapGetter<Map<String, String>> GETTER = new TextMapGetter<>() {
    @Override
    public Iterable<String> keys(Map<String, String> carrier) {
      return carrier.keySet();
    }

    @Override
    public String get(Map<String, String> carrier, String key) {
      return carrier == null ? null : carrier.get(key);
    }
  };
  private final TextMapPropagator propagator =
      TextMapPropagator.composite(W3CBaggagePropagator.getInstance(), new CorrelationPropagator());

  private static JsonNode load() {
    try {
      return new ObjectMapper().readTree(new File("../conformance/correlation/ids.json"));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static Stream<JsonNode> items(String field) {
    return StreamSupport.stream(IDS.get(field).spliterator(), false);
  }

  private String extracted(String header, String value) {
    Map<String, String> carrier = new HashMap<>();
    carrier.put(header, value);
    return Correlation.of(propagator.extract(Context.root(), carrier, GETTER));
  }

  @TestFactory
  Stream<DynamicTest> accepted() {
    return items("accepted").map(v -> DynamicTest.dynamicTest("accepts " + v.asText(), () -> {
      assertEquals(v.asText(), extracted("x-request-id", v.asText()));
      assertEquals(v.asText(), extracted("x-correlation-id", v.asText()));
    }));
  }

  @TestFactory
  Stream<DynamicTest> trimmed() {
    return items("trimmed").map(c -> DynamicTest.dynamicTest("trims " + c.get("value").asText(),
        () -> assertEquals(c.get("id").asText(), extracted("x-request-id", c.get("value").asText()))));
  }

  @TestFactory
  Stream<DynamicTest> refused() {
    return items("refused").map(v -> DynamicTest.dynamicTest("refuses " + v.asText(), () -> {
      for (String header : new String[] {"x-request-id", "x-correlation-id"}) {
        String id = extracted(header, v.asText());
        assertNotEquals(v.asText(), id);
        assertTrue(id.matches("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"), id);
      }
      // Nor from baggage (a value the baggage format can carry, percent-encoded).
      String encoded = java.net.URLEncoder.encode(v.asText(), java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20");
      String id = extracted("baggage", "flowtrace.correlation_id=" + encoded);
      assertNotEquals(v.asText(), id);
      assertTrue(id.matches("[0-9a-f-]{36}"), id);
    }));
  }
}
