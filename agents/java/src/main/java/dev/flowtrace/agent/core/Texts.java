package dev.flowtrace.agent.core;

/** Helpers for text that is masked before it is shown: bounded, and read without running application code. */
final class Texts {
  private Texts() {}

  /** The first {@code max} chars of {@code s}. */
  static String head(String s, int max) {
    return s.length() > max ? s.substring(0, max) : s;
  }

  /** Per class: whether getMessage(), getStackTrace() and getCause() are Throwable's own (not overridden). */
  private static final ClassValue<boolean[]> OWN = new ClassValue<>() {
    @Override
    protected boolean[] computeValue(Class<?> type) {
      return new boolean[] {isOwn(type, "getMessage"), isOwn(type, "getStackTrace"), isOwn(type, "getCause")};
    }
  };

  private static boolean isOwn(Class<?> type, String method) {
    try {
      return type.getMethod(method).getDeclaringClass() == Throwable.class;
    } catch (NoSuchMethodException | RuntimeException e) {
      return false;
    }
  }

  /**
   * Throwable's own message: {@code getMessage()} only when the class does not override it (then it
   * is the JDK's, returning the message field); null when overridden, as that is application code.
   */
  static String ownMessage(Throwable t) {
    return OWN.get(t.getClass())[0] ? t.getMessage() : null;
  }

  /** The stack trace, by the JDK's getStackTrace() only; empty when the class overrides it. */
  static StackTraceElement[] ownStackTrace(Throwable t) {
    return OWN.get(t.getClass())[1] ? t.getStackTrace() : new StackTraceElement[0];
  }

  /** The cause, by the JDK's getCause() only; null when the class overrides it. */
  static Throwable ownCause(Throwable t) {
    return OWN.get(t.getClass())[2] ? t.getCause() : null;
  }

  /**
   * The part of {@code masked} (the masking of {@code head}, a text cut at {@code head.length()})
   * that comes from the first {@code shown} chars of {@code head}. When masking left the margin
   * past {@code shown} unchanged, it is the masked text less that margin; when it replaced part of
   * the margin, the text after the last mask (which came from the margin, and may be a secret cut
   * in two at the end of the head) is dropped too.
   */
  static String withoutMargin(String head, String masked, int shown, String mask) {
    if (head.length() <= shown) return masked;
    String margin = head.substring(shown);
    if (masked.endsWith(margin)) return masked.substring(0, masked.length() - margin.length());
    int lastMask = masked.lastIndexOf(mask);
    int keep = Math.min(masked.length() - margin.length(), lastMask < 0 ? 0 : lastMask);
    return masked.substring(0, Math.max(0, keep));
  }
}
