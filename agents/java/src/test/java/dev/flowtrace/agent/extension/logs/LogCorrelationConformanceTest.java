package dev.flowtrace.agent.extension.logs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flowtrace.agent.core.LogCorrelation;
import dev.flowtrace.agent.core.Settings;
import io.opentelemetry.api.baggage.Baggage;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.context.Context;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * agents/conformance/logs/correlation.json. A structured logger's fields are what the Logback and
 * Log4j2 integrations put into the MDC / context data under the mode (the correlation ID is
 * FlowTrace's, trace_id and span_id the official agent's, which LogContext.fields computes alike;
 * LogbackMdcTest and Log4jContextDataProviderTest check each integration on its real logger).
 * The Java agent owns no plain output, so `all` changes none (see the README's Logs section): the
 * plain cases under `all` are reported as skipped, the others expect nothing.
 */
class LogCorrelationConformanceTest {
  private static final JsonNode CONTRACT = load();
  private static final JsonNode IDS = CONTRACT.get("ids");

  private static JsonNode load() {
    try {
      return new ObjectMapper().readTree(new File("../conformance/logs/correlation.json"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Stream<JsonNode> items(JsonNode array) {
    return StreamSupport.stream(array.spliterator(), false);
  }

  private static Settings settings(String value) {
    return Settings.load(Map.of("FLOWTRACE_LOG_CORRELATION", value), new Properties(), "com.acme.Main");
  }

  @TestFactory
  Stream<DynamicTest> acceptedValues() {
    return items(CONTRACT.get("values").get("accepted")).map(v -> DynamicTest.dynamicTest(
        "accepts \"" + v.get("value").asText() + "\"", () -> {
          Settings s = settings(v.get("value").asText());
          assertEquals(v.get("mode").asText(), s.logCorrelation.name().toLowerCase(java.util.Locale.ROOT));
          assertNull(s.logCorrelationRefused);
          assertTrue(s.problems.isEmpty(), s.problems.toString());
        }));
  }

  @TestFactory
  Stream<DynamicTest> refusedValues() {
    return items(CONTRACT.get("values").get("refused")).map(v -> DynamicTest.dynamicTest(
        "refuses \"" + v.asText() + "\"", () -> {
          Settings s = settings(v.asText());
          assertEquals(CONTRACT.get("default").asText(), s.logCorrelation.name().toLowerCase(java.util.Locale.ROOT));
          assertNotNull(s.logCorrelationRefused);
          assertTrue(s.logCorrelationRefused.startsWith(CONTRACT.get("setting").asText()), s.logCorrelationRefused);
          // The default applies: method tracing is not turned off by it.
          assertTrue(s.enabled(), s.problems.toString());
        }));
  }

  @TestFactory
  Stream<DynamicTest> cases() {
    return items(CONTRACT.get("cases")).map(c -> DynamicTest.dynamicTest(c.get("name").asText(), () -> {
      LogCorrelation.Mode mode = LogCorrelation.parse(c.get("mode").asText());
      Context context = context(c.get("in_span").asBoolean(), c.get("sampled").asBoolean(), c.get("correlation").asBoolean());
      Map<String, String> expected = new LinkedHashMap<>();
      c.get("expected").fields().forEachRemaining(e -> expected.put(e.getKey(), placeholders(e.getValue().asText())));
      if (c.get("logger").asText().equals("structured")) {
        assertEquals(expected, mode.structured() ? LogContext.fields(context) : Map.of());
      } else {
        // The Java agent writes no plain output of its own (Logback and Log4j2 layouts are the
        // application's, which name the MDC fields with %X{…}): it adds nothing there in any mode.
        assumeFalse(mode.plain(), "the Java agent owns no plain output: `all` adds to none (README, Logs)");
        assertEquals(Map.of(), expected);
      }
    }));
  }

  private static String placeholders(String s) {
    return s.replace("{trace_id}", IDS.get("trace_id").asText())
        .replace("{span_id}", IDS.get("span_id").asText())
        .replace("{correlation_id}", IDS.get("correlation_id").asText());
  }

  private static Context context(boolean inSpan, boolean sampled, boolean correlation) {
    Context context = Context.root();
    if (correlation) {
      context = context.with(Baggage.builder().put(LogCorrelation.CORRELATION_ID, IDS.get("correlation_id").asText()).build());
    }
    if (inSpan) {
      SpanContext span = SpanContext.create(IDS.get("trace_id").asText(), IDS.get("span_id").asText(),
          sampled ? TraceFlags.getSampled() : TraceFlags.getDefault(), TraceState.getDefault());
      context = context.with(Span.wrap(span));
    }
    return context;
  }
}
