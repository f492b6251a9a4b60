package dev.flowtrace.agent.it;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** An OTLP/HTTP protobuf trace and log receiver on a free loopback port, keeping every span and log record it is sent. */
final class OtlpReceiver implements AutoCloseable {
  /** A received span, decoded. */
  record Received(String service, Span span) {
    String name() {
      return span.getName();
    }

    String spanId() {
      return HexFormat.of().formatHex(span.getSpanId().toByteArray());
    }

    String parentId() {
      return HexFormat.of().formatHex(span.getParentSpanId().toByteArray());
    }

    String traceId() {
      return HexFormat.of().formatHex(span.getTraceId().toByteArray());
    }

    /** The attribute as a string (ints in decimal), or null. */
    String attr(String key) {
      for (KeyValue kv : span.getAttributesList()) {
        if (!kv.getKey().equals(key)) continue;
        AnyValue v = kv.getValue();
        return v.hasIntValue() ? Long.toString(v.getIntValue()) : v.getStringValue();
      }
      return null;
    }
  }

  /** A received log record, decoded. */
  record ReceivedLog(String service, LogRecord log) {
    String body() {
      return log.getBody().getStringValue();
    }

    String spanId() {
      return HexFormat.of().formatHex(log.getSpanId().toByteArray());
    }

    String traceId() {
      return HexFormat.of().formatHex(log.getTraceId().toByteArray());
    }

    String attr(String key) {
      for (KeyValue kv : log.getAttributesList()) {
        if (kv.getKey().equals(key)) return kv.getValue().getStringValue();
      }
      return null;
    }
  }

  private final HttpServer server;
  private final List<Received> spans = new ArrayList<>();
  private final List<ReceivedLog> logs = new ArrayList<>();

  OtlpReceiver() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/v1/traces", exchange -> {
      try (InputStream in = exchange.getRequestBody()) {
        add(ExportTraceServiceRequest.parseFrom(in.readAllBytes()));
      }
      reply(exchange, ExportTraceServiceResponse.getDefaultInstance().toByteArray());
    });
    server.createContext("/v1/logs", exchange -> {
      try (InputStream in = exchange.getRequestBody()) {
        add(ExportLogsServiceRequest.parseFrom(in.readAllBytes()));
      }
      reply(exchange, ExportLogsServiceResponse.getDefaultInstance().toByteArray());
    });
    server.start();
  }

  private static void reply(HttpExchange exchange, byte[] reply) throws IOException {
    exchange.getResponseHeaders().add("Content-Type", "application/x-protobuf");
    exchange.sendResponseHeaders(200, reply.length == 0 ? -1 : reply.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(reply);
    }
  }

  String endpoint() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  private synchronized void add(ExportTraceServiceRequest request) {
    for (ResourceSpans rs : request.getResourceSpansList()) {
      String service = serviceName(rs.getResource());
      for (ScopeSpans ss : rs.getScopeSpansList()) {
        for (Span s : ss.getSpansList()) spans.add(new Received(service, s));
      }
    }
    notifyAll();
  }

  private synchronized void add(ExportLogsServiceRequest request) {
    for (ResourceLogs rl : request.getResourceLogsList()) {
      String service = serviceName(rl.getResource());
      for (ScopeLogs sl : rl.getScopeLogsList()) {
        for (LogRecord r : sl.getLogRecordsList()) logs.add(new ReceivedLog(service, r));
      }
    }
    notifyAll();
  }

  private static String serviceName(Resource resource) {
    for (KeyValue kv : resource.getAttributesList()) {
      if (kv.getKey().equals("service.name")) return kv.getValue().getStringValue();
    }
    return null;
  }

  synchronized List<Received> spans() {
    return List.copyOf(spans);
  }

  /**
   * Waits, bounded, until {@code count} received spans match. A server span ends after its response
   * has reached the client, so a test that stops the application right after the response would race
   * the agent's shutdown flush against the span's end; tests wait for it here first.
   */
  synchronized void awaitSpans(Predicate<Received> match, int count, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (spans.stream().filter(match).count() < count) {
      long left = deadline - System.nanoTime();
      if (left <= 0) throw new AssertionError("waited " + timeout + " for " + count + " matching span(s); received " + spans);
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
  }

  synchronized List<ReceivedLog> logs() {
    return List.copyOf(logs);
  }

  /** Waits, bounded, until {@code count} received log records match (the batch log processor exports on its own schedule). */
  synchronized void awaitLogs(Predicate<ReceivedLog> match, int count, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (logs.stream().filter(match).count() < count) {
      long left = deadline - System.nanoTime();
      if (left <= 0) throw new AssertionError("waited " + timeout + " for " + count + " matching log record(s); received " + logs);
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
