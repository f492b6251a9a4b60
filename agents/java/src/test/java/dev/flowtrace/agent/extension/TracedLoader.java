package dev.flowtrace.agent.extension;

import dev.flowtrace.agent.core.Settings;
import java.util.HashMap;
import java.util.Map;
import net.bytebuddy.ByteBuddy;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.ClassFileLocator;
import net.bytebuddy.dynamic.DynamicType;
import net.bytebuddy.pool.TypePool;

/**
 * Loads test fixtures with FlowTrace's advice put in by {@link MethodTransformer}, as the agent
 * does, into a class loader of their own (child-first, so that the traced copies win). Their class files, as resources, stay the
 * original ones, as under the agent.
 */
final class TracedLoader {
  private TracedLoader() {}

  static ClassLoader load(Settings settings, Class<?>... fixtures) {
    ClassLoader parent = TracedLoader.class.getClassLoader();
    ClassFileLocator locator = ClassFileLocator.ForClassLoader.of(parent);
    TypePool pool = TypePool.Default.of(locator);
    MethodTransformer transformer = new MethodTransformer(settings);
    Map<String, byte[]> types = new HashMap<>();
    for (Class<?> fixture : fixtures) {
      TypeDescription type = pool.describe(fixture.getName()).resolve();
      DynamicType.Builder<?> builder = new ByteBuddy().redefine(type, locator);
      builder = transformer.transform(builder, type, parent, null, null);
      types.put(fixture.getName(), builder.make().getBytes());
    }
    return new Loader(parent, types);
  }

  /** Defines the traced classes itself; anything else, and every resource, comes from the parent. */
  private static final class Loader extends ClassLoader {
    private final Map<String, byte[]> types;

    Loader(ClassLoader parent, Map<String, byte[]> types) {
      super(parent);
      this.types = types;
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
      synchronized (getClassLoadingLock(name)) {
        byte[] bytes = types.get(name);
        if (bytes == null) return super.loadClass(name, resolve);
        Class<?> c = findLoadedClass(name);
        if (c == null) c = defineClass(name, bytes, 0, bytes.length);
        if (resolve) resolveClass(c);
        return c;
      }
    }
  }
}
