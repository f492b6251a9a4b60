package dev.flowtrace.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowtrace.agent.it.OtlpReceiver.Received;
import dev.flowtrace.agent.it.OtlpReceiver.ReceivedLog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Log correlation under the shipped jar: the Spring MVC test application logs through Logback
 * (Spring Boot's default) inside a request, its console pattern naming the MDC fields; its log
 * records are exported over OTLP/HTTP to the receiver in this JVM, next to its spans.
 */
class LogCorrelationIT {
  private static final String AGENT = System.getProperty("flowtrace.test.agentJar");
  /** A bound, never a pace: each wait ends as soon as what it waits for is in. */
  private static final Duration WAIT = Duration.ofSeconds(60);
  /** The application's console pattern: what a user writes to show the fields (%X{…} is Logback's MDC). */
  private static final String PATTERN = "LOG|%X{trace_id}|%X{span_id}|%X{flowtrace.correlation_id}|%m%n";
  private static final Pattern LINE = Pattern.compile("^LOG\\|([0-9a-f]*)\\|([0-9a-f]*)\\|([^|]*)\\|order 42 looked up.*$", Pattern.MULTILINE);
  private OtlpReceiver receiver;

  @BeforeEach
  void start() throws Exception {
    receiver = new OtlpReceiver();
  }

  @AfterEach
  void stop() {
    receiver.close();
  }

  /** One request to the application under {@code FLOWTRACE_LOG_CORRELATION=mode} (null: unset); its console output. */
  private String run(String mode) throws Exception {
    String classPath = System.getProperty("flowtrace.test.appClasses") + java.io.File.pathSeparator
        + Files.readString(Path.of(System.getProperty("flowtrace.test.classpathFile"))).trim();
    Map<String, String> env = new java.util.HashMap<>(Map.of(
        "OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint(),
        "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf",
        "OTEL_METRICS_EXPORTER", "none",
        "OTEL_SERVICE_NAME", "orders",
        "OTEL_BSP_SCHEDULE_DELAY", "200",
        "OTEL_BLRP_SCHEDULE_DELAY", "200"));
    if (mode != null) env.put("FLOWTRACE_LOG_CORRELATION", mode);
    try (AppProcess app = new AppProcess(AGENT, env, classPath, List.of("com.acme.web.WebApp",
        "--server.port=0", "--server.address=127.0.0.1", "--logging.pattern.console=" + PATTERN)).started()) {
      app.get("/orders/42", Map.of("x-correlation-id", "it-logs", "x-api-token", "tok-secret"));
      receiver.awaitSpans(s -> s.name().equals("GET /orders/{id}"), 1, WAIT);
      receiver.awaitLogs(l -> l.body().startsWith("order 42 looked up"), 1, WAIT);
      app.terminate();
      return app.stdout() + "\n" + app.stderr();
    }
  }

  private ReceivedLog logRecord() {
    return receiver.logs().stream().filter(l -> l.body().startsWith("order 42 looked up")).findFirst().orElseThrow();
  }

  private Received span(String name) {
    return receiver.spans().stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow(() -> new AssertionError(name));
  }

  @Test
  void aLogLineInARequestCarriesItsSpanAndCorrelationIdsInTheMdcAndInTheExportedRecord() throws Exception {
    String output = run(null);
    Received method = span("OrderService.describe");
    Matcher line = LINE.matcher(output);
    assertTrue(line.find(), output);
    assertEquals(method.traceId(), line.group(1), output);
    assertEquals(method.spanId(), line.group(2), output);
    assertEquals("it-logs", line.group(3), output);

    ReceivedLog record = logRecord();
    assertEquals("orders", record.service());
    assertEquals(method.traceId(), record.traceId());
    assertEquals(method.spanId(), record.spanId());
    assertEquals("it-logs", record.attr("flowtrace.correlation_id"));
    // Masked as span values are, before it left the application.
    assertEquals("order 42 looked up with api_token=[REDACTED]", record.body());
    assertFalse(receiver.logs().toString().contains("tok-secret"));
  }

  @Test
  void offTakesTheFieldsOutOfTheMdcAndTheCorrelationIdOutOfTheRecord() throws Exception {
    String output = run("off");
    Matcher line = LINE.matcher(output);
    assertTrue(line.find(), output);
    assertEquals("", line.group(1), output);
    assertEquals("", line.group(2), output);
    assertEquals("", line.group(3), output);

    ReceivedLog record = logRecord();
    // The record's own trace context is OTLP's, not a field FlowTrace adds.
    assertEquals(span("OrderService.describe").spanId(), record.spanId());
    assertNull(record.attr("flowtrace.correlation_id"));
    assertEquals("order 42 looked up with api_token=[REDACTED]", record.body());
  }

  @Test
  void aRefusedValueIsNamedOnceAndTheDefaultApplies() throws Exception {
    String output = run("yes");
    assertTrue(output.contains("flowtrace: FLOWTRACE_LOG_CORRELATION must be auto, all or off (got \"yes\"); using auto"), output);
    Matcher line = LINE.matcher(output);
    assertTrue(line.find(), output);
    assertEquals("it-logs", line.group(3), output);
    assertEquals("it-logs", logRecord().attr("flowtrace.correlation_id"));
  }

  @Test
  void log4j2ContextDataGetsTheFieldsThroughTheAgentsServicesFile() throws Exception {
    // The test application's class path with Log4j2's core and nothing else: the provider and its
    // services file can only come from the agent.
    String log4j = Arrays.stream(Files.readString(Path.of(System.getProperty("flowtrace.test.classpathFile"))).trim()
            .split(java.io.File.pathSeparator))
        .filter(p -> p.contains("log4j-api-") || p.contains("log4j-core-"))
        .collect(Collectors.joining(java.io.File.pathSeparator));
    String output;
    try (AppProcess app = new AppProcess(AGENT, Map.of(
            "OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint(),
            "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf",
            "OTEL_METRICS_EXPORTER", "none",
            "OTEL_SERVICE_NAME", "stock",
            "OTEL_BSP_SCHEDULE_DELAY", "200",
            "OTEL_BLRP_SCHEDULE_DELAY", "200"),
        System.getProperty("flowtrace.test.appClasses") + java.io.File.pathSeparator + log4j,
        List.of("com.acme.logs.Log4jApp")).started()) {
      app.get("/stock", Map.of("x-request-id", "it-log4j"));
      receiver.awaitSpans(s -> s.name().equals("GET /stock"), 1, WAIT);
      receiver.awaitSpans(s -> s.name().equals("Log4jApp.main"), 1, WAIT);
      receiver.awaitLogs(l -> l.body().equals("stock of apple checked"), 1, WAIT);
      app.quit();
      output = app.stdout() + "\n" + app.stderr();
    }
    Received server = span("GET /stock");
    Matcher inRequest = Pattern.compile("^LOG\\|([0-9a-f]*)\\|([0-9a-f]*)\\|([^|]*)\\|stock of apple checked$", Pattern.MULTILINE)
        .matcher(output);
    assertTrue(inRequest.find(), output);
    assertEquals(server.traceId(), inRequest.group(1), output);
    assertEquals(server.spanId(), inRequest.group(2), output);
    assertEquals("it-log4j", inRequest.group(3), output);
    ReceivedLog record = receiver.logs().stream().filter(l -> l.body().equals("stock of apple checked")).findFirst().orElseThrow();
    assertEquals(server.spanId(), record.spanId());
    assertEquals("it-log4j", record.attr("flowtrace.correlation_id"));

    // main() is a traced method outside any request: its span's own correlation ID, read from the span.
    Received main = span("Log4jApp.main");
    Matcher outside = Pattern.compile("^LOG\\|([0-9a-f]*)\\|([0-9a-f]*)\\|([^|]*)\\|started outside any request$", Pattern.MULTILINE)
        .matcher(output);
    assertTrue(outside.find(), output);
    assertEquals(main.spanId(), outside.group(2), output);
    assertEquals(main.attr("flowtrace.correlation_id"), outside.group(3), output);
  }
}
