package dev.flowtrace.agent.extension;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.flowtrace.agent.core.LogCorrelation;
import dev.flowtrace.agent.extension.logs.LogContext;
import io.opentelemetry.api.baggage.Baggage;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.logs.Logger;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.sdk.logs.SdkLoggerProvider;
import io.opentelemetry.sdk.logs.data.LogRecordData;
import io.opentelemetry.sdk.logs.export.SimpleLogRecordProcessor;
import io.opentelemetry.sdk.testing.exporter.InMemoryLogRecordExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Exported log records: the correlation ID as an attribute, masked like span values; and the ID of a trace started outside a request. */
class LogRecordsTest {
  private final InMemoryLogRecordExporter exported = InMemoryLogRecordExporter.create();
  // As the customizer wires them: the correlation processor first, the exporter wrapped.
  private final SdkLoggerProvider logs = SdkLoggerProvider.builder()
      .addLogRecordProcessor(SimpleLogRecordProcessor.create(new MaskingLogRecordExporter(exported)))
      .addLogRecordProcessorFirst(new CorrelationLogProcessor())
      .build();
  private final SdkTracerProvider traces = SdkTracerProvider.builder().addSpanProcessor(new CorrelationSpanProcessor()).build();
  private final Logger logger = logs.get("test");

  @Test
  void aRecordCarriesTheRequestsCorrelationIdAndTheSpansIds() {
    Context request = Context.root().with(Baggage.builder().put(Correlation.KEY, "req-7f3a9c").build());
    Span span = traces.get("test").spanBuilder("GET /orders").setParent(request).startSpan();
    try (Scope ignored = request.with(span).makeCurrent()) {
      logger.logRecordBuilder().setBody("order placed").emit();
    } finally {
      span.end();
    }
    LogRecordData record = only();
    assertEquals("req-7f3a9c", record.getAttributes().get(Correlation.ATTRIBUTE));
    assertEquals(span.getSpanContext().getTraceId(), record.getSpanContext().getTraceId());
    assertEquals(span.getSpanContext().getSpanId(), record.getSpanContext().getSpanId());
  }

  @Test
  void aTraceStartedOutsideARequestHasItsSpansIdInLogsToo() {
    Span job = traces.get("test").spanBuilder("nightly").setParent(Context.root()).startSpan();
    String id = ((io.opentelemetry.sdk.trace.ReadableSpan) job).getAttribute(Correlation.ATTRIBUTE);
    try (Scope ignored = job.makeCurrent()) {
      logger.logRecordBuilder().setBody("job ran").emit();
      // What the Logback and Log4j2 integrations read, through the SDK span's own class loader.
      assertEquals(Map.of(LogCorrelation.TRACE_ID, job.getSpanContext().getTraceId(),
          LogCorrelation.SPAN_ID, job.getSpanContext().getSpanId(), LogCorrelation.CORRELATION_ID, id),
          LogContext.fields(Context.current()));
    } finally {
      job.end();
    }
    assertEquals(id, only().getAttributes().get(Correlation.ATTRIBUTE));
  }

  @Test
  void outsideAnyRequestOrSpanNoAttribute() {
    logger.logRecordBuilder().setBody("started").emit();
    assertNull(only().getAttributes().get(Correlation.ATTRIBUTE));
  }

  @Test
  void bodiesAndAttributesAreMaskedLikeSpanValues() {
    logger.logRecordBuilder()
        .setBody("login ann password=hunter2 card 4111 1111 1111 1111")
        .setAttribute(AttributeKey.stringKey("api_token"), "tok-123")
        .setAttribute(AttributeKey.stringKey("exception.message"), "Authorization: Bearer abcdefghijkl")
        .setAttribute(AttributeKey.stringArrayKey("notes"), List.of("jwt eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl"))
        .setAttribute(AttributeKey.stringKey("order_id"), "4111111111111111")
        .setAttribute(AttributeKey.longKey("count"), 3L)
        .emit();
    LogRecordData record = only();
    assertEquals("login ann password=[REDACTED] card [REDACTED]", record.getBodyValue().asString());
    assertEquals("[REDACTED]", record.getAttributes().get(AttributeKey.stringKey("api_token")));
    assertEquals("Authorization: [REDACTED]", record.getAttributes().get(AttributeKey.stringKey("exception.message")));
    assertEquals(List.of("jwt [REDACTED]"), record.getAttributes().get(AttributeKey.stringArrayKey("notes")));
    assertEquals("4111111111111111", record.getAttributes().get(AttributeKey.stringKey("order_id")));
    assertEquals(3L, record.getAttributes().get(AttributeKey.longKey("count")));
  }

  @Test
  void offLeavesTheOfficialLogInstrumentationsOffToo() {
    assertEquals(Map.of(), FlowTraceCustomizer.logProperties(LogCorrelation.Mode.AUTO));
    assertEquals(Map.of(), FlowTraceCustomizer.logProperties(LogCorrelation.Mode.ALL));
    assertEquals(Map.of("otel.instrumentation.logback-mdc.enabled", "false", "otel.instrumentation.log4j-context-data.enabled", "false"),
        FlowTraceCustomizer.logProperties(LogCorrelation.Mode.OFF));
  }

  private LogRecordData only() {
    List<LogRecordData> all = exported.getFinishedLogRecordItems();
    assertEquals(1, all.size(), all.toString());
    return all.get(0);
  }
}
