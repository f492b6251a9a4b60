package dev.flowtrace.agent.extension.logs;

import dev.flowtrace.agent.core.LogCorrelation;
import io.opentelemetry.context.Context;
import java.util.Collections;
import java.util.Map;
import org.apache.logging.log4j.core.util.ContextDataProvider;

/**
 * Log4j2's context data gets the correlation ID: a ContextDataProvider, which Log4j loads with
 * its ServiceLoader (the agent serves our services file to the application's class loader) and
 * asks on the logging thread for each event. trace_id and span_id are the official agent's
 * log4j-context-data provider's.
 */
public final class Log4jContextDataProvider implements ContextDataProvider {
  @Override
  public Map<String, String> supplyContextData() {
    String id = LogContext.correlationId(Context.current());
    return id == null ? Collections.emptyMap() : Collections.singletonMap(LogCorrelation.CORRELATION_ID, id);
  }
}
