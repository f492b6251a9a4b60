package dev.flowtrace.agent.core;

import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Turns an argument or return value into a short, type-aware string for a span attribute, in the
 * Node.js agent's notation: strings quoted, {@code [1, 2]}, {@code Map(2) {"a" => 1}},
 * {@code Order {"id": 7}}, {@code [Circular]}, secrets masked, never more than {@code maxBytes}
 * UTF-8 bytes (cut with {@code …}). Objects of the application are shown by their declared fields,
 * read directly: no {@code toString()}, getter, {@code iterator()} or {@code hashCode()} of
 * application code ever runs. JDK collections and maps are walked; other JDK objects are shown by
 * {@code toString()} only for immutable value types, else by their type name. Walking stops as
 * soon as the budget is spent, so a huge value costs no more than a small one.
 */
public final class ValueRenderer {
  private ValueRenderer() {}

  public static final String ELLIPSIS = "…";
  private static final int MAX_DEPTH = 3;
  // Margin past the budget that secret masking still sees, so that a card number straddling
  // the cut is recognised before it is cut.
  private static final int MASK_WINDOW_MARGIN = 48;
  // JDK value types whose toString() is their value and runs no application code.
  private static final Set<String> VALUE_PACKAGES = Set.of("java.time", "java.math");
  private static final Set<String> VALUE_CLASSES = Set.of(
      "java.util.UUID", "java.util.Date", "java.util.Locale", "java.util.Currency", "java.net.URI", "java.net.URL",
      "java.net.InetAddress", "java.net.Inet4Address", "java.net.Inet6Address", "java.net.InetSocketAddress",
      "java.io.File", "java.util.regex.Pattern", "java.nio.charset.Charset", "java.sql.Date", "java.sql.Timestamp",
      "java.lang.StringBuilder", "java.lang.StringBuffer", "java.util.concurrent.atomic.AtomicInteger",
      "java.util.concurrent.atomic.AtomicLong", "java.util.concurrent.atomic.AtomicBoolean", "java.util.BitSet");

  /** {@code key}: the parameter name the value is bound to ('' when unknown), the context of its masking. */
  public static String render(Object value, int maxBytes, String key) {
    Writer w = new Writer(maxBytes);
    try {
      write(w, value, 0, new IdentityHashMap<>(), key == null ? "" : key);
    } catch (RuntimeException | LinkageError e) {
      // A value that changes under us (a collection modified by another thread) or cannot be read.
      w.push("[unreadable]");
    }
    return w.finish();
  }

  /** Free text (an exception's message), masked and cut like a string value but not quoted. */
  public static String text(String s, int maxBytes) {
    Writer w = new Writer(maxBytes);
    int window = maxBytes + MASK_WINDOW_MARGIN;
    pushMasked(w, Texts.head(s, window), s.length() > window, "", false);
    return w.finish();
  }

  /** Appends up to a limit in chars; the limit in bytes is applied at the end. */
  private static final class Writer {
    final StringBuilder out = new StringBuilder();
    final int maxBytes;
    boolean truncated;

    Writer(int maxBytes) {
      this.maxBytes = maxBytes;
    }

    /** Marks the value as cut: it ends in … however short it is. */
    void cut() {
      truncated = true;
    }

    void push(String s) {
      if (truncated) return;
      int room = maxBytes - out.length();
      if (s.length() <= room) {
        out.append(s);
      } else {
        out.append(s, 0, Math.max(0, room));
        truncated = true;
      }
    }

    String finish() {
      String s = out.toString();
      if (!truncated && utf8Length(s) <= maxBytes) return s;
      int room = Math.max(0, maxBytes - ELLIPSIS.getBytes(StandardCharsets.UTF_8).length);
      return cutToBytes(s, room) + ELLIPSIS;
    }
  }

  static int utf8Length(String s) {
    return s.getBytes(StandardCharsets.UTF_8).length;
  }

  /** The longest prefix of {@code s} that fits in {@code max} UTF-8 bytes without splitting a character. */
  public static String cutToBytes(String s, int max) {
    if (s.length() <= max / 3) return s;
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    if (bytes.length <= max) return s;
    int end = max;
    // A continuation byte at `end` means the character starting before it does not fit.
    while (end > 0 && (bytes[end] & 0xC0) == 0x80) end--;
    return new String(bytes, 0, end, StandardCharsets.UTF_8);
  }

  private static void write(Writer w, Object v, int depth, IdentityHashMap<Object, Boolean> ancestors, String key) {
    if (w.truncated) return;
    if (v == null) {
      w.push("null");
    } else if (v instanceof String) {
      writeString(w, (String) v, key);
    } else if (v instanceof Character) {
      writeString(w, v.toString(), key);
    } else if (v instanceof Number && v.getClass().getName().startsWith("java.")) {
      // Any JDK number (Long, BigDecimal, AtomicLong…) whose value is an integer is checked like a Long.
      String digits = integerDigits((Number) v);
      boolean card = digits != null && Redactor.maskInteger(digits, key).equals(Redactor.MASK);
      w.push(card ? quote(Redactor.MASK) : v.toString());
    } else if (v instanceof Boolean) {
      w.push(v.toString());
    } else if (v instanceof Enum) {
      Enum<?> e = (Enum<?>) v;
      w.push(e.getDeclaringClass().getSimpleName() + "." + e.name());
    } else if (v instanceof Class) {
      w.push("class " + ((Class<?>) v).getName());
    } else if (ancestors.containsKey(v)) {
      w.push("[Circular]");
    } else {
      writeObject(w, v, depth, ancestors, key);
    }
  }

  /** The decimal digits of an integral JDK number, null when it has a fraction or is not finite. */
  private static String integerDigits(Number n) {
    if (n instanceof Double || n instanceof Float || n instanceof java.util.concurrent.atomic.DoubleAdder
        || n instanceof java.util.concurrent.atomic.DoubleAccumulator) {
      double d = n.doubleValue();
      return Double.isFinite(d) && d == Math.rint(d) ? new java.math.BigDecimal(d).toPlainString() : null;
    }
    if (n instanceof java.math.BigDecimal) {
      java.math.BigDecimal b = (java.math.BigDecimal) n;
      return b.signum() == 0 || b.stripTrailingZeros().scale() <= 0 ? b.toBigInteger().toString() : null;
    }
    return n.toString();
  }

  private static void writeObject(Writer w, Object v, int depth, IdentityHashMap<Object, Boolean> ancestors, String key) {
    Class<?> type = v.getClass();
    if (v instanceof CharSequence && isJdk(type)) {
      // StringBuilder, StringBuffer, CharBuffer: only the window is copied, however long the text.
      CharSequence cs = (CharSequence) v;
      int window = w.maxBytes + MASK_WINDOW_MARGIN;
      int length = cs.length();
      pushMasked(w, cs.subSequence(0, Math.min(length, window)).toString(), length > window, key, false);
      return;
    }
    if (v instanceof Throwable) {
      writeThrowable(w, (Throwable) v);
      return;
    }
    String special = describeSpecial(v, type);
    if (special != null) {
      w.push(special);
      return;
    }
    boolean jdk = isJdk(type);
    if (depth >= MAX_DEPTH) {
      w.push(type.isArray() ? "[Array]" : "[" + simpleName(type) + "]");
      return;
    }
    ancestors.put(v, Boolean.TRUE);
    try {
      if (type.isArray()) writeArray(w, v, depth, ancestors, key);
      else if ((v instanceof Map || v instanceof Collection) && !walkable(v, type)) w.push("[" + simpleName(type) + "]");
      else if (jdk && v instanceof Map) writeMap(w, (Map<?, ?>) v, depth, ancestors);
      else if (jdk && v instanceof Set) writeIterable(w, "Set(" + ((Set<?>) v).size() + ") [", (Set<?>) v, depth, ancestors, key);
      else if (jdk && v instanceof Collection) writeIterable(w, "[", (Collection<?>) v, depth, ancestors, key);
      else if (jdk && v instanceof Optional) writeOptional(w, (Optional<?>) v, depth, ancestors, key);
      else if (jdk) w.push("[" + simpleName(type) + "]");
      else writeFields(w, v, type, depth, ancestors);
    } finally {
      ancestors.remove(v);
    }
  }

  /** Objects shown by a one-line description rather than by their contents. */
  private static String describeSpecial(Object v, Class<?> type) {
    if (type.isSynthetic() || type.getName().contains("$$Lambda")) return "[Function]";
    if (v instanceof byte[]) return "byte[" + ((byte[]) v).length + "]";
    if (v instanceof char[]) return "char[" + ((char[]) v).length + "]";
    String name = type.getName();
    boolean value = VALUE_CLASSES.contains(name) || (type.getPackage() != null && VALUE_PACKAGES.contains(type.getPackageName()))
        || (v instanceof java.nio.file.Path && name.startsWith("sun.nio.fs."));
    // Short texts (a BitSet's can be long: masked on a window only).
    if (value) return Redactor.maskText(Texts.head(v.toString(), 4096), "");
    return null;
  }

  /** {@code Type: message}, from Throwable's own message field (see {@link Texts#ownMessage}): no application code runs. */
  private static void writeThrowable(Writer w, Throwable t) {
    String message = Texts.ownMessage(t);
    String name = t.getClass().getName();
    if (message == null) {
      w.push(name);
      return;
    }
    int window = w.maxBytes + MASK_WINDOW_MARGIN;
    w.push(name + ": ");
    pushMasked(w, Texts.head(message, window), message.length() > window, "", false);
  }

  private static void writeString(Writer w, String s, String key) {
    int window = w.maxBytes + MASK_WINDOW_MARGIN;
    pushMasked(w, s.length() > window ? s.substring(0, window) : s, s.length() > window, key, true);
  }

  /**
   * Masks {@code head} (the first {@code maxBytes + margin} chars of a text, or all of it) and
   * pushes it. When the text was cut, masking saw the margin only to recognise a secret that
   * straddles the cut; nothing of the margin is shown — a mask that shortened the text must not
   * uncover it — and the value ends in the ellipsis.
   */
  private static void pushMasked(Writer w, String head, boolean cut, String key, boolean quoted) {
    String masked = Redactor.maskText(head, key);
    if (!cut) {
      w.push(quoted ? quote(masked) : masked);
      return;
    }
    String visible = Texts.withoutMargin(head, masked, w.maxBytes, Redactor.MASK);
    String text = quoted ? quote(visible) : visible;
    // A cut string has no closing quote.
    w.push(quoted ? text.substring(0, text.length() - 1) : text);
    w.cut();
  }

  private static void writeArray(Writer w, Object array, int depth, IdentityHashMap<Object, Boolean> ancestors, String key) {
    int length = Array.getLength(array);
    w.push("[");
    for (int i = 0; i < length && !w.truncated; i++) {
      if (i > 0) w.push(", ");
      write(w, Array.get(array, i), depth + 1, ancestors, key);
    }
    w.push("]");
  }

  private static void writeIterable(
      Writer w, String open, Iterable<?> items, int depth, IdentityHashMap<Object, Boolean> ancestors, String key) {
    w.push(open);
    boolean first = true;
    for (Object item : items) {
      if (w.truncated) return;
      if (!first) w.push(", ");
      first = false;
      write(w, item, depth + 1, ancestors, key);
    }
    w.push("]");
  }

  private static void writeOptional(Writer w, Optional<?> o, int depth, IdentityHashMap<Object, Boolean> ancestors, String key) {
    if (o.isEmpty()) {
      w.push("Optional.empty");
      return;
    }
    w.push("Optional[");
    write(w, o.get(), depth + 1, ancestors, key);
    w.push("]");
  }

  private static void writeMap(Writer w, Map<?, ?> m, int depth, IdentityHashMap<Object, Boolean> ancestors) {
    w.push("Map(" + m.size() + ") {");
    boolean first = true;
    for (Map.Entry<?, ?> e : m.entrySet()) {
      if (w.truncated) return;
      if (!first) w.push(", ");
      first = false;
      Object k = e.getKey();
      write(w, k, depth + 1, ancestors, "");
      w.push(" => ");
      String name = keyName(k);
      if (Redactor.isSecretKey(name)) w.push(quote(Redactor.MASK));
      else write(w, e.getValue(), depth + 1, ancestors, name);
    }
    w.push("}");
  }

  /** The name a map key gives its value: a string, a JDK char sequence, a character or an enum constant's name. */
  private static String keyName(Object k) {
    if (k instanceof String) return (String) k;
    if (k instanceof Enum) return ((Enum<?>) k).name();
    if (k instanceof Character) return k.toString();
    if (k instanceof CharSequence && isJdk(k.getClass())) {
      CharSequence cs = (CharSequence) k;
      return cs.subSequence(0, Math.min(cs.length(), 256)).toString();
    }
    return "";
  }

  /**
   * Whether a map or collection is walked through its interface. Only JDK classes that hold their
   * own contents are: an application or library class (Guava's ImmutableMap, Hibernate's lazy
   * PersistentBag) may run code or I/O when iterated, and shown by its fields it would lose its key
   * names, so it is shown as {@code [Type]}. A JDK wrapper or view (unmodifiable*, synchronized*,
   * checked*, newSetFromMap, subList, keySet/values/entrySet) delegates to what it wraps: walked only
   * when that can be read and is walkable itself, else {@code [Type]}.
   */
  static boolean walkable(Object v, Class<?> type) {
    if (!isJdk(type)) return false;
    String n = type.getName();
    if (n.indexOf('$') < 0 || n.startsWith("java.util.ImmutableCollections$") || n.startsWith("java.util.Collections$Empty")
        || n.startsWith("java.util.Collections$Singleton") || n.equals("java.util.Arrays$ArrayList")) {
      return true;
    }
    Object inner = Wrappers.inner(v);
    return inner != null && inner != v && walkable(inner, inner.getClass());
  }

  /** An application object by its instance fields, the declaring class's first, read without running its code. */
  private static void writeFields(Writer w, Object o, Class<?> type, int depth, IdentityHashMap<Object, Boolean> ancestors) {
    w.push(simpleName(type) + " {");
    boolean first = true;
    for (Field f : instanceFields(type)) {
      if (w.truncated) return;
      if (!first) w.push(", ");
      first = false;
      w.push(quote(f.getName()) + ": ");
      if (Redactor.isSecretKey(f.getName())) {
        w.push(quote(Redactor.MASK));
        continue;
      }
      Object value;
      try {
        f.setAccessible(true);
        value = f.get(o);
      } catch (RuntimeException | IllegalAccessException e) {
        w.push("[inaccessible]");
        continue;
      }
      write(w, value, depth + 1, ancestors, f.getName());
    }
    w.push("}");
  }

  private static final ClassValue<List<Field>> FIELDS = new ClassValue<>() {
    @Override
    protected List<Field> computeValue(Class<?> type) {
      List<Field> out = new ArrayList<>();
      for (Class<?> c = type; c != null && !isJdk(c); c = c.getSuperclass()) {
        List<Field> own = new ArrayList<>();
        for (Field f : c.getDeclaredFields()) {
          if (!Modifier.isStatic(f.getModifiers()) && !f.isSynthetic()) own.add(f);
        }
        out.addAll(0, own);
      }
      return List.copyOf(out);
    }
  };

  private static List<Field> instanceFields(Class<?> type) {
    return FIELDS.get(type);
  }

  static boolean isJdk(Class<?> type) {
    String n = type.getName();
    return type.getClassLoader() == null || n.startsWith("java.") || n.startsWith("javax.") || n.startsWith("jdk.")
        || n.startsWith("sun.") || n.startsWith("com.sun.");
  }

  private static String simpleName(Class<?> type) {
    String s = type.getSimpleName();
    if (!s.isEmpty()) return s;
    String n = type.getName();
    return n.substring(n.lastIndexOf('.') + 1);
  }

  /** A JSON string literal. */
  static String quote(String s) {
    StringBuilder b = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"': b.append("\\\""); break;
        case '\\': b.append("\\\\"); break;
        case '\n': b.append("\\n"); break;
        case '\r': b.append("\\r"); break;
        case '\t': b.append("\\t"); break;
        case '\b': b.append("\\b"); break;
        case '\f': b.append("\\f"); break;
        default:
          if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
          else b.append(c);
      }
    }
    return b.append('"').toString();
  }
}
