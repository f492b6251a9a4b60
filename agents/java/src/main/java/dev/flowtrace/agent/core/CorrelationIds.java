package dev.flowtrace.agent.core;

import java.util.regex.Pattern;

/** Which correlation IDs are taken (agents/conformance/correlation/ids.json). */
public final class CorrelationIds {
  private CorrelationIds() {}

  // What a client may name its request with: anything else (spaces, quotes, commas, `<`, CR/LF,
  // non-ASCII) would be propagated into other services' headers, baggage and log lines, so it is
  // replaced with a new ID.
  private static final Pattern VALID = Pattern.compile("[A-Za-z0-9._:@/+=-]{1,128}");

  /** The ID {@code raw} names once trimmed, or null when it is not an acceptable ID. */
  public static String accept(String raw) {
    if (raw == null) return null;
    String v = raw.trim();
    return VALID.matcher(v).matches() ? v : null;
  }
}
