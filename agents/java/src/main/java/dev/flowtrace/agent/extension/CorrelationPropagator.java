package dev.flowtrace.agent.extension;

import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.context.propagation.TextMapSetter;
import java.net.HttpURLConnection;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Reads the correlation ID from {@code x-request-id} / {@code x-correlation-id} or from the
 * baggage already extracted, creates one when a request arrives without any (the edge), and
 * writes {@code x-request-id} on outgoing calls — the Node.js agent's CorrelationPropagator.
 * Configured after W3C baggage ({@code otel.propagators=tracecontext,baggage,flowtrace}), which
 * carries the same ID as baggage.
 */
public final class CorrelationPropagator implements TextMapPropagator {
  private static final List<String> FIELDS = Arrays.asList(Correlation.HEADERS);

  @Override
  public Collection<String> fields() {
    return FIELDS;
  }

  @Override
  public <C> Context extract(Context context, C carrier, TextMapGetter<C> getter) {
    String id = null;
    if (carrier != null) {
      for (String header : Correlation.HEADERS) {
        id = header(getter, carrier, header);
        if (id != null) break;
      }
    }
    if (id == null) id = Correlation.fromBaggage(context);
    if (id == null) id = Correlation.newId();
    return Correlation.with(context, id);
  }

  @Override
  public <C> void inject(Context context, C carrier, TextMapSetter<C> setter) {
    String id = Correlation.of(context);
    // An x-request-id the application set itself wins, where the carrier lets us see it.
    if (id != null && carrier != null && !alreadySet(carrier)) setter.set(carrier, "x-request-id", id);
  }

  private static <C> String header(TextMapGetter<C> getter, C carrier, String name) {
    return Correlation.accept(getter.get(carrier, name));
  }

  private static boolean alreadySet(Object carrier) {
    try {
      if (carrier instanceof Map) {
        for (Object k : ((Map<?, ?>) carrier).keySet()) {
          if (k instanceof String && ((String) k).equalsIgnoreCase("x-request-id")) return true;
        }
      } else if (carrier instanceof HttpURLConnection) {
        return ((HttpURLConnection) carrier).getRequestProperty("x-request-id") != null;
      }
    } catch (RuntimeException e) {
      // A carrier that cannot be read (a connection already open): write ours.
    }
    return false;
  }
}
