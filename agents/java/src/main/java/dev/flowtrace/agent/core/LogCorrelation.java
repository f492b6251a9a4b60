package dev.flowtrace.agent.core;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Trace and correlation IDs in the application's log lines ({@code FLOWTRACE_LOG_CORRELATION},
 * agents/conformance/logs/correlation.json): which loggers get them, and the fields themselves.
 */
public final class LogCorrelation {
  private LogCorrelation() {}

  public static final String TRACE_ID = "trace_id";
  public static final String SPAN_ID = "span_id";
  public static final String CORRELATION_ID = "flowtrace.correlation_id";

  /** Where the fields go. */
  public enum Mode {
    /** Structured loggers only (Logback MDC, Log4j2 context data, OTLP log records): the default. */
    AUTO,
    /** Plain text output as well, where the agent writes it (the Java agent writes none: as AUTO). */
    ALL,
    /** Nowhere. */
    OFF;

    public boolean structured() {
      return this != OFF;
    }

    public boolean plain() {
      return this == ALL;
    }
  }

  /** The mode {@code raw} names (trimmed, any case; blank is the default), or null when it names none. */
  public static Mode parse(String raw) {
    if (raw == null) return Mode.AUTO;
    switch (raw.trim().toLowerCase(Locale.ROOT)) {
      case "": case "auto": return Mode.AUTO;
      case "all": case "true": return Mode.ALL;
      case "off": case "false": case "none": return Mode.OFF;
      default: return null;
    }
  }

  /**
   * The fields, in the contract's order, each only when it has a value: no trace or span ID
   * outside a span (never zeros), no correlation ID outside a request.
   *
   * @param traceId the active span's trace ID, null when there is no valid span
   * @param spanId the active span's span ID, null when there is no valid span
   * @param correlationId the request's correlation ID, null when none
   */
  public static Map<String, String> fields(String traceId, String spanId, String correlationId) {
    Map<String, String> fields = new LinkedHashMap<>();
    if (traceId != null && spanId != null) {
      fields.put(TRACE_ID, traceId);
      fields.put(SPAN_ID, spanId);
    }
    if (correlationId != null) fields.put(CORRELATION_ID, correlationId);
    return fields;
  }
}
