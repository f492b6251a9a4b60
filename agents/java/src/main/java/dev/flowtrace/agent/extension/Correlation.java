package dev.flowtrace.agent.extension;

import dev.flowtrace.agent.core.CorrelationIds;
import dev.flowtrace.agent.core.LogCorrelation;
import io.opentelemetry.api.baggage.Baggage;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.trace.ReadableSpan;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/** The correlation ID: where a context carries it, and how a new one is made. */
final class Correlation {
  private Correlation() {}

  /** The baggage entry, and the span attribute, that carry the ID. */
  static final String KEY = LogCorrelation.CORRELATION_ID;
  static final AttributeKey<String> ATTRIBUTE = AttributeKey.stringKey(KEY);
  /** Incoming headers that name a request, in order of preference (Envoy and Istio set x-request-id). */
  static final String[] HEADERS = {"x-request-id", "x-correlation-id"};

  /** The ID {@code raw} names once trimmed, or null when it is not an acceptable ID. */
  static String accept(String raw) {
    return CorrelationIds.accept(raw);
  }

  /**
   * A random (version 4) UUID, as the Node agent's crypto.randomUUID() makes. From
   * ThreadLocalRandom, not UUID.randomUUID()'s SecureRandom: an ID names a request, it guards
   * nothing, and SecureRandom cost ~200 ns on every new trace (bench:agent-java).
   */
  static String newId() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    long high = (random.nextLong() & ~0xF000L) | 0x4000L; // version 4
    long low = (random.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L; // IETF variant
    return new UUID(high, low).toString();
  }

  static String fromBaggage(Context ctx) {
    return accept(Baggage.fromContext(ctx).getEntryValue(KEY));
  }

  /** The ID a context carries: its baggage entry, else the one on its active span. */
  static String of(Context ctx) {
    String id = fromBaggage(ctx);
    if (id != null) return id;
    Span span = Span.fromContextOrNull(ctx);
    return span instanceof ReadableSpan ? ((ReadableSpan) span).getAttribute(ATTRIBUTE) : null;
  }

  /** The context with the ID in its baggage, beside whatever baggage it had. */
  static Context with(Context ctx, String id) {
    return ctx.with(Baggage.fromContext(ctx).toBuilder().put(KEY, id).build());
  }
}
