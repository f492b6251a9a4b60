package dev.flowtrace.agent.core;

import java.lang.reflect.Field;

/**
 * The collection or map inside a JDK wrapper or view ({@code Collections.unmodifiableList(x)} → x),
 * read from the wrapper's field where the JVM lets it be read (java.util opened to the agent, as
 * {@code --add-opens java.base/java.util=ALL-UNNAMED} does); null otherwise, and the wrapper is
 * then shown as {@code [Type]}: iterating it would run whatever it wraps.
 */
final class Wrappers {
  private Wrappers() {}

  // Collections' wrappers keep what they wrap in `c` (collections) or `m` (maps, newSetFromMap);
  // views of a JDK map or list are inner classes holding it in `this$0` or `root`.
  private static final String[] FIELDS = {"c", "m", "root", "this$0"};

  private static final ClassValue<Field> FIELD = new ClassValue<>() {
    @Override
    protected Field computeValue(Class<?> type) {
      for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
        for (String name : FIELDS) {
          try {
            Field f = c.getDeclaredField(name);
            return f.trySetAccessible() ? f : null;
          } catch (NoSuchFieldException e) {
            // next name
          } catch (RuntimeException e) {
            return null;
          }
        }
      }
      return null;
    }
  };

  static Object inner(Object wrapper) {
    Field f = FIELD.get(wrapper.getClass());
    if (f == null) return null;
    try {
      return f.get(wrapper);
    } catch (IllegalAccessException | RuntimeException e) {
      return null;
    }
  }
}
