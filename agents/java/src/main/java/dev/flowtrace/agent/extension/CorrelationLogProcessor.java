package dev.flowtrace.agent.extension;

import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.logs.LogRecordProcessor;
import io.opentelemetry.sdk.logs.ReadWriteLogRecord;

/**
 * Puts the correlation ID on every log record the agent exports (the official logback-appender,
 * log4j-appender and java.util.logging instrumentations emit them): from the record's context,
 * as the span processor does for spans. The record's trace and span IDs are the SDK's own fields.
 * Registered first, so that the exporting processor sees the attribute.
 */
final class CorrelationLogProcessor implements LogRecordProcessor {
  @Override
  public void onEmit(Context context, ReadWriteLogRecord logRecord) {
    if (logRecord.getAttribute(Correlation.ATTRIBUTE) != null) return;
    String id = Correlation.of(context);
    if (id != null) logRecord.setAttribute(Correlation.ATTRIBUTE, id);
  }
}
