package dev.flowtrace.agent.core;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.api.trace.Span;

/**
 * The {@code exception} event of a method span that threw, written here rather than by
 * {@code Span.recordException}: that exports the message unmasked and builds the stack trace with
 * the exception's own {@code toString()}/{@code getMessage()}, application code. Here the message is
 * Throwable's own field ({@link Texts#ownMessage}), masked and cut like a captured value, and the
 * stack trace is built from {@code getStackTrace()} with at most {@link #MAX_FRAMES} frames per
 * exception and {@link #MAX_CAUSES} causes.
 */
final class ExceptionEvent {
  private ExceptionEvent() {}

  static final int MAX_FRAMES = 64;
  static final int MAX_CAUSES = 4;
  private static final AttributeKey<String> TYPE = AttributeKey.stringKey("exception.type");
  private static final AttributeKey<String> MESSAGE = AttributeKey.stringKey("exception.message");
  private static final AttributeKey<String> STACKTRACE = AttributeKey.stringKey("exception.stacktrace");

  /** Adds the event; returns the masked message (null when none), for the span's status. */
  static String record(Span span, Throwable thrown, int maxBytes) {
    String message = message(thrown, maxBytes);
    AttributesBuilder attributes = Attributes.builder().put(TYPE, thrown.getClass().getName());
    if (message != null) attributes.put(MESSAGE, message);
    attributes.put(STACKTRACE, stackTrace(thrown, maxBytes));
    span.addEvent("exception", attributes.build());
    return message;
  }

  /** The masked, cut message; null when there is none or the class overrides getMessage(). */
  static String message(Throwable t, int maxBytes) {
    String own = Texts.ownMessage(t);
    return own == null ? null : ValueRenderer.text(own, maxBytes);
  }

  static String stackTrace(Throwable thrown, int maxBytes) {
    StringBuilder out = new StringBuilder();
    Throwable t = thrown;
    for (int depth = 0; t != null && depth <= MAX_CAUSES; depth++) {
      if (depth > 0) out.append("Caused by: ");
      out.append(t.getClass().getName());
      String message = message(t, maxBytes);
      if (message != null) out.append(": ").append(message);
      out.append('\n');
      StackTraceElement[] frames = Texts.ownStackTrace(t);
      for (int i = 0; i < frames.length && i < MAX_FRAMES; i++) out.append("\tat ").append(frames[i]).append('\n');
      if (frames.length > MAX_FRAMES) out.append("\t... ").append(frames.length - MAX_FRAMES).append(" more\n");
      Throwable cause = Texts.ownCause(t);
      t = cause == t ? null : cause;
    }
    return out.toString();
  }
}
