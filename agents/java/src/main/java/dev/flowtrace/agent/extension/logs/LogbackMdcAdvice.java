package dev.flowtrace.agent.extension.logs;

import java.util.Map;
import net.bytebuddy.asm.Advice;

/**
 * Inlined into Logback's LoggingEvent.getMDCPropertyMap: the first call, which copies the MDC
 * into the event, adds the correlation ID to the copy it keeps and to what it returns (which
 * may already be the official logback-mdc instrumentation's map with trace_id and span_id).
 */
public final class LogbackMdcAdvice {
  private LogbackMdcAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static boolean enter(@Advice.FieldValue("mdcPropertyMap") Map<String, String> copied) {
    return copied == null;
  }

  @SuppressWarnings({"UnusedAssignment", "deprecation"})
  @Advice.OnMethodExit(suppress = Throwable.class)
  public static void exit(
      @Advice.Enter boolean first,
      @Advice.FieldValue(value = "mdcPropertyMap", readOnly = false) Map<String, String> copied,
      @Advice.Return(readOnly = false) Map<String, String> returned) {
    if (!first) return;
    String id = LogbackMdc.currentCorrelationId();
    if (id == null) return;
    copied = LogbackMdc.withCorrelationId(copied, id);
    returned = LogbackMdc.withCorrelationId(returned, id);
  }
}
