package dev.flowtrace.agent.extension;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opentelemetry.api.baggage.Baggage;
import io.opentelemetry.api.baggage.propagation.W3CBaggagePropagator;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.sdk.autoconfigure.spi.internal.DefaultConfigProperties;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CorrelationTest {
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

  @Test
  void newIdsAreDistinctVersion4Uuids() {
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (int i = 0; i < 1000; i++) {
      String id = Correlation.newId();
      assertTrue(id.matches("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"), id);
      assertTrue(seen.add(id), "repeated " + id);
    }
  }

  private String extracted(Map<String, String> headers) {
    return Correlation.fromBaggage(propagator.extract(Context.root(), headers, GETTER));
  }

  @Test
  void takesTheIncomingIdInTheNodeAgentsOrder() {
    assertEquals("r1", extracted(Map.of("x-request-id", " r1 ", "x-correlation-id", "c1", "baggage", "flowtrace.correlation_id=b1")));
    assertEquals("c1", extracted(Map.of("x-correlation-id", "c1", "baggage", "flowtrace.correlation_id=b1")));
    assertEquals("b1", extracted(Map.of("baggage", "flowtrace.correlation_id=b1")));
    // Too long to be an ID (agents/conformance/correlation/ids.json): the next source, else a new one.
    assertEquals("c1", extracted(Map.of("x-request-id", "r".repeat(300), "x-correlation-id", "c1")));
    assertEquals(36, extracted(Map.of("x-request-id", "r".repeat(300))).length());
    String created = extracted(Map.of());
    assertEquals(36, created.length());
    assertNotEquals(created, extracted(Map.of("x-request-id", "  ")));
  }

  @Test
  void writesBaggageAndXRequestIdOnOutgoingCalls() {
    Context ctx = Correlation.with(Context.root(), "abc-123");
    Map<String, String> out = new HashMap<>();
    propagator.inject(ctx, out, Map::put);
    assertEquals("abc-123", out.get("x-request-id"));
    assertEquals("flowtrace.correlation_id=abc-123", out.get("baggage"));

    Map<String, String> own = new HashMap<>(Map.of("X-Request-Id", "mine"));
    new CorrelationPropagator().inject(ctx, own, Map::put);
    assertEquals(Map.of("X-Request-Id", "mine"), own, "the application's own x-request-id wins");
  }

  @Test
  void everySpanCarriesTheId() {
    InMemorySpanExporter exporter = InMemorySpanExporter.create();
    try (SdkTracerProvider provider = SdkTracerProvider.builder()
        .addSpanProcessor(new CorrelationSpanProcessor())
        .addSpanProcessor(SimpleSpanProcessor.create(exporter))
        .build()) {
      Tracer tracer = provider.get("test");
      // A request: the ID in baggage.
      Context request = propagator.extract(Context.root(), Map.of("x-request-id", "req-1"), GETTER);
      Span server = tracer.spanBuilder("server").setParent(request).startSpan();
      try (Scope s = request.with(server).makeCurrent()) {
        tracer.spanBuilder("method").startSpan().end();
      }
      server.end();
      // A job: no baggage; the root gets a new ID, its children inherit it from the span.
      Span job = tracer.spanBuilder("job").setNoParent().startSpan();
      try (Scope s = job.makeCurrent()) {
        tracer.spanBuilder("step").startSpan().end();
      }
      job.end();
      List<SpanData> spans = exporter.getFinishedSpanItems();
      assertEquals("req-1", spans.get(0).getAttributes().get(Correlation.ATTRIBUTE));
      assertEquals("req-1", spans.get(1).getAttributes().get(Correlation.ATTRIBUTE));
      String jobId = spans.get(3).getAttributes().get(Correlation.ATTRIBUTE);
      assertEquals(36, jobId.length());
      assertEquals(jobId, spans.get(2).getAttributes().get(Correlation.ATTRIBUTE));
    }
  }

  @Test
  void thePropagatorIsAddedAfterTheConfiguredOnes() {
    assertEquals(Map.of("otel.propagators", "tracecontext,baggage,flowtrace"),
        FlowTraceCustomizer.propagators(DefaultConfigProperties.createFromMap(Map.of())));
    assertEquals(Map.of("otel.propagators", "b3,flowtrace"),
        FlowTraceCustomizer.propagators(DefaultConfigProperties.createFromMap(Map.of("otel.propagators", "b3"))));
    assertEquals(Map.of(), FlowTraceCustomizer.propagators(DefaultConfigProperties.createFromMap(Map.of("otel.propagators", "none"))));
    assertTrue(Baggage.empty().isEmpty());
  }
}
