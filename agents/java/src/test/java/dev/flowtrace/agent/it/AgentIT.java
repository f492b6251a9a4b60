package dev.flowtrace.agent.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.flowtrace.agent.it.OtlpReceiver.Received;
import io.opentelemetry.proto.trace.v1.Span.SpanKind;
import io.opentelemetry.proto.trace.v1.Status.StatusCode;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The shipped jar (target/flowtrace-agent.jar) on a real application: the test shop on the JDK's
 * HTTP server, exporting over OTLP/HTTP to a receiver in this JVM. Each test stops the
 * application before asserting, so every span has been flushed (no waiting on timers); server spans,
 * which end after the client has its response, are awaited first.
 */
class AgentIT {
  private static final String AGENT = System.getProperty("flowtrace.test.agentJar");
  /** A bound, never a pace: each wait ends as soon as its spans are in. */
  private static final Duration WAIT = Duration.ofSeconds(60);
  private OtlpReceiver receiver;

  @BeforeEach
  void start() throws Exception {
    receiver = new OtlpReceiver();
  }

  @AfterEach
  void stop() {
    receiver.close();
  }

  private Map<String, String> env(String... extra) {
    Map<String, String> env = new HashMap<>(Map.of(
        "OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint(),
        "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf",
        "OTEL_METRICS_EXPORTER", "none",
        "OTEL_LOGS_EXPORTER", "none",
        "OTEL_SERVICE_NAME", "shop",
        "OTEL_BSP_SCHEDULE_DELAY", "200"));
    for (int i = 0; i < extra.length; i += 2) env.put(extra[i], extra[i + 1]);
    return env;
  }

  private static List<Received> named(List<Received> spans, String name) {
    return spans.stream().filter(s -> s.name().equals(name)).collect(Collectors.toList());
  }

  private static Received one(List<Received> spans, String name) {
    List<Received> found = named(spans, name);
    assertEquals(1, found.size(), () -> name + " in " + spans.stream().map(Received::name).collect(Collectors.toList()));
    return found.get(0);
  }

  private static Received byId(List<Received> spans, String id) {
    return spans.stream().filter(s -> s.spanId().equals(id)).findFirst().orElseThrow(() -> new AssertionError("no span " + id));
  }

  @Test
  void methodSpansNestedInTheRequestWithCorrelationAndMasking() throws Exception {
    String checkoutBody;
    String failBody;
    String log;
    try (AppProcess app = new AppProcess(AGENT, env("FLOWTRACE_CAPTURE_ARGS", "true", "FLOWTRACE_CAPTURE_RETURN", "true")).started()) {
      HttpResponse<String> checkout = app.get("/checkout", Map.of("x-request-id", "it-req-1"));
      assertEquals(200, checkout.statusCode(), checkout.body());
      checkoutBody = checkout.body();
      failBody = app.get("/fail", Map.of()).body();
      receiver.awaitSpans(s -> s.name().equals("GET /checkout"), 1, WAIT);
      app.quit();
      log = app.stderr();
    }
    assertTrue(log.contains("flowtrace: tracing methods of com.acme (main class com.acme.shop.ShopApp)"), log);
    // The downstream call carried the ID as x-request-id and as baggage.
    assertTrue(checkoutBody.contains("x-request-id=it-req-1;baggage=flowtrace.correlation_id=it-req-1"), checkoutBody);

    List<Received> spans = receiver.spans();
    Received server = named(spans, "GET /checkout").get(0);
    assertEquals(SpanKind.SPAN_KIND_SERVER, server.span().getKind());
    List<Received> trace = spans.stream().filter(s -> s.traceId().equals(server.traceId())).collect(Collectors.toList());
    // One correlation ID on every span of the request: server, client, downstream server, methods.
    for (Received s : trace) assertEquals("it-req-1", s.attr("flowtrace.correlation_id"), s.name());
    assertTrue(trace.stream().anyMatch(s -> s.span().getKind() == SpanKind.SPAN_KIND_CLIENT));
    assertTrue(trace.stream().anyMatch(s -> s.name().equals("GET /inventory")));

    Received handler = one(trace, "ShopApp.checkout");
    assertEquals(server.spanId(), handler.parentId());
    Received checkout = one(trace, "CheckoutService.checkout");
    assertEquals(handler.spanId(), checkout.parentId());
    assertEquals(SpanKind.SPAN_KIND_INTERNAL, checkout.span().getKind());
    assertEquals("com.acme.shop.CheckoutService", checkout.attr("code.namespace"));
    assertEquals("com.acme.shop.CheckoutService.checkout", checkout.attr("code.function.name"));
    assertEquals("com/acme/shop/CheckoutService.java", checkout.attr("code.file.path"));
    assertNotNull(checkout.attr("code.line.number"));
    // Masking: a secret-named parameter whole, a card number by its content, the object by its fields.
    assertEquals("[REDACTED]", checkout.attr("flowtrace.args.1"));
    assertEquals("[REDACTED]", checkout.attr("flowtrace.args.2"));
    String order = checkout.attr("flowtrace.args.0");
    assertTrue(order.startsWith("Order {\"id\": 7, \"items\": [Item {\"name\": \"book\""), order);
    assertTrue(order.contains("\"note\": \"[REDACTED]\""), order);
    assertTrue(order.contains("\"parent\": [Circular]"), order);
    assertEquals("Receipt {\"orderId\": 7, \"total\": 3255}", checkout.attr("flowtrace.return"));
    for (Received s : spans) {
      s.span().getAttributesList().forEach(kv -> {
        assertFalse(kv.getValue().getStringValue().contains("hunter2"), s.name());
        assertFalse(kv.getValue().getStringValue().contains("4111 1111"), s.name());
      });
    }

    // Overloads, default interface method, recursion, generic synchronized method, all under checkout.
    List<Received> prices = named(trace, "CheckoutService.price");
    assertEquals(3, prices.size());
    prices.forEach(p -> assertEquals(checkout.spanId(), p.parentId()));
    assertEquals(checkout.spanId(), one(trace, "Discounts.discounted").parentId());
    assertEquals("com.acme.shop.Discounts", one(trace, "Discounts.discounted").attr("code.namespace"));
    List<Received> factorials = named(trace, "CheckoutService.factorial");
    assertEquals(3, factorials.size());
    Received outer = factorials.stream().filter(f -> "3".equals(f.attr("flowtrace.args.0"))).findFirst().orElseThrow();
    Received middle = factorials.stream().filter(f -> "2".equals(f.attr("flowtrace.args.0"))).findFirst().orElseThrow();
    assertEquals(checkout.spanId(), outer.parentId());
    assertEquals(outer.spanId(), middle.parentId());
    assertEquals(checkout.spanId(), one(trace, "Repository.save").parentId());
    // A CompletableFuture continuation on another thread keeps its parent.
    Received audit = one(trace, "CheckoutService.audit");
    assertEquals(checkout.spanId(), audit.parentId());
    // An exception the caller catches: recorded on the method's span, status Error.
    Received validate = one(trace, "CheckoutService.validate");
    assertEquals(StatusCode.STATUS_CODE_ERROR, validate.span().getStatus().getCode());
    assertEquals("exception", validate.span().getEvents(0).getName());
    // Trivial methods (Order.getId, a field getter) and lambda bodies have no spans.
    assertTrue(named(spans, "Order.getId").isEmpty());
    assertTrue(spans.stream().noneMatch(s -> s.name().contains("lambda$")));
    // The downstream handler, on the same server, is under its own server span.
    Received stock = one(trace, "Inventory.stockOf");
    assertEquals("ShopApp.inventory", byId(trace, stock.parentId()).name());

    // Stack traces are the application's own: the same frames as without the agent.
    String plainFail;
    try (AppProcess plain = new AppProcess(null, Map.of()).started()) {
      plainFail = plain.get("/fail", Map.of()).body();
      plain.quit();
    }
    assertEquals(appFrames(plainFail), appFrames(failBody));
    assertFalse(failBody.contains("dev.flowtrace"), failBody);
  }

  /** The stack trace's lines down to the application's handler. */
  private static String appFrames(String trace) {
    int end = trace.indexOf('\n', trace.indexOf("ShopApp.fail"));
    return trace.substring(0, end);
  }

  @Test
  void springMvcRequestsCarryTheCorrelationIdIntoMethodSpans() throws Exception {
    String classPath = System.getProperty("flowtrace.test.appClasses") + java.io.File.pathSeparator
        + Files.readString(Path.of(System.getProperty("flowtrace.test.classpathFile"))).trim();
    String body;
    String log;
    try (AppProcess app = new AppProcess(AGENT, env("FLOWTRACE_CAPTURE_ARGS", "true"), classPath,
        List.of("com.acme.web.WebApp", "--server.port=0", "--server.address=127.0.0.1")).started()) {
      body = app.get("/orders/42", Map.of("x-correlation-id", "it-spring", "x-api-token", "tok-secret")).body();
      receiver.awaitSpans(s -> s.name().equals("GET /orders/{id}"), 1, WAIT);
      app.terminate();
      log = app.stderr();
    }
    assertEquals("order 42 shipped (authorised)", body);
    assertTrue(log.contains("flowtrace: tracing methods of com.acme (main class com.acme.web.WebApp)"), log);
    List<Received> spans = receiver.spans();
    Received server = one(spans, "GET /orders/{id}");
    assertEquals(SpanKind.SPAN_KIND_SERVER, server.span().getKind());
    List<Received> trace = spans.stream().filter(s -> s.traceId().equals(server.traceId())).collect(Collectors.toList());
    for (Received s : trace) assertEquals("it-spring", s.attr("flowtrace.correlation_id"), s.name());
    Received controller = one(trace, "OrderController.order");
    Received service = one(trace, "OrderService.describe");
    assertEquals(controller.spanId(), service.parentId());
    // Under the server span, through the Spring MVC handler span the official agent adds.
    assertEquals(server.traceId(), controller.traceId());
    assertEquals("42", service.attr("flowtrace.args.0"));
    assertEquals("[REDACTED]", service.attr("flowtrace.args.1"));
    assertEquals("[REDACTED]", controller.attr("flowtrace.args.1"));
  }

  @Test
  void springWebFluxRequestsCarryTheIncomingRequestIdIntoMethodSpans() throws Exception {
    String classPath = System.getProperty("flowtrace.test.appClasses") + java.io.File.pathSeparator
        + Files.readString(Path.of(System.getProperty("flowtrace.test.classpathFile"))).trim();
    String body;
    String log;
    // FLOWTRACE_TOKEN is the flowtrace CLI's: named in a log line, and tracing stays on.
    try (AppProcess app = new AppProcess(AGENT, env("FLOWTRACE_CAPTURE_ARGS", "true", "FLOWTRACE_TOKEN", "cli-token"), classPath,
        List.of("com.acme.reactive.ReactiveApp", "--server.port=0", "--server.address=127.0.0.1")).started()) {
      body = app.get("/quotes/pear", Map.of("x-request-id", "it-reactive-1")).body();
      // A client value that is no ID (a space, a quote) is replaced by a new one.
      app.get("/quotes/fig", Map.of("x-request-id", "bad id\""));
      receiver.awaitSpans(s -> s.span().getKind() == SpanKind.SPAN_KIND_SERVER, 2, WAIT);
      app.terminate();
      log = app.stderr();
    }
    assertEquals("pear costs 400", body);
    assertTrue(log.contains("flowtrace: ignoring unknown setting(s) FLOWTRACE_TOKEN"), log);
    assertFalse(log.contains("cli-token"), log);
    assertTrue(log.contains("flowtrace: tracing methods of com.acme (main class com.acme.reactive.ReactiveApp)"), log);
    List<Received> spans = receiver.spans();
    Received server = spans.stream()
        .filter(s -> s.span().getKind() == SpanKind.SPAN_KIND_SERVER && "it-reactive-1".equals(s.attr("flowtrace.correlation_id")))
        .findFirst().orElseThrow(() -> new AssertionError("no server span with the request's ID in " + spans));
    List<Received> trace = spans.stream().filter(s -> s.traceId().equals(server.traceId())).collect(Collectors.toList());
    for (Received s : trace) assertEquals("it-reactive-1", s.attr("flowtrace.correlation_id"), s.name());
    Received service = one(trace, "QuoteService.price");
    one(trace, "QuoteController.quote");
    assertEquals("\"pear\"", service.attr("flowtrace.args.0"));
    // The bad ID went nowhere: its request got a new (UUID) one.
    Received fig = spans.stream().filter(s -> "\"fig\"".equals(s.attr("flowtrace.args.0"))).findFirst().orElseThrow();
    assertTrue(fig.attr("flowtrace.correlation_id").matches("[0-9a-f-]{36}"), fig.attr("flowtrace.correlation_id"));
  }

  @Test
  void virtualThreadsKeepTheParent() throws Exception {
    assumeTrue(Runtime.version().feature() >= 21, "virtual threads need Java 21");
    try (AppProcess app = new AppProcess(AGENT, env()).started()) {
      HttpResponse<String> r = app.get("/virtual", Map.of("x-correlation-id", "it-virtual"));
      assertEquals("virtual 32", r.body());
      app.quit();
    }
    List<Received> spans = receiver.spans();
    Received handler = one(spans, "ShopApp.virtual");
    Received stock = one(spans, "Inventory.stockOf");
    assertEquals(handler.spanId(), stock.parentId());
    assertEquals("it-virtual", stock.attr("flowtrace.correlation_id"));
  }

  @Test
  void badSettingsAreNamedAndTheApplicationStillRuns() throws Exception {
    String log;
    try (AppProcess app = new AppProcess(AGENT, env("FLOWTRACE_INCLUDE", "/[bad/", "FLOWTRACE_TYPO", "1")).started()) {
      assertEquals(200, app.get("/checkout", Map.of()).statusCode());
      receiver.awaitSpans(s -> s.name().equals("GET /checkout"), 1, WAIT);
      app.quit();
      log = app.stderr();
    }
    List<String> lines = log.lines().filter(l -> l.startsWith("flowtrace:")).collect(Collectors.toList());
    assertEquals(2, lines.size(), log);
    // An unknown name is only named; the bad value is what turns method tracing off.
    assertTrue(lines.get(0).startsWith("flowtrace: ignoring unknown setting(s) FLOWTRACE_TYPO"), lines.get(0));
    assertTrue(lines.get(1).contains("method tracing is off"), lines.get(1));
    assertTrue(lines.get(1).contains("FLOWTRACE_INCLUDE: invalid regular expression /[bad/"), lines.get(1));
    List<Received> spans = receiver.spans();
    // The official agent's spans still flow, with the correlation ID; no method spans.
    Received server = named(spans, "GET /checkout").get(0);
    assertEquals(36, server.attr("flowtrace.correlation_id").length());
    assertTrue(spans.stream().noneMatch(s -> s.span().getKind() == SpanKind.SPAN_KIND_INTERNAL), spans.toString());
  }

  @Test
  void otelJavaagentEnabledFalseTurnsEverythingOff() throws Exception {
    String log;
    try (AppProcess app = new AppProcess(AGENT, env("OTEL_JAVAAGENT_ENABLED", "false")).started()) {
      assertEquals(200, app.get("/checkout", Map.of()).statusCode());
      app.quit();
      log = app.stderr();
    }
    assertFalse(log.contains("flowtrace:"), log);
    assertEquals(List.of(), receiver.spans());
  }
}
