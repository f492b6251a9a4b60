package dev.flowtrace.agent.extension;

import dev.flowtrace.agent.core.Settings;
import io.opentelemetry.javaagent.extension.instrumentation.TypeInstrumentation;
import io.opentelemetry.javaagent.extension.instrumentation.TypeTransformer;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.matcher.ElementMatcher;

/** The classes FlowTrace's filter includes, and the transformer that puts spans into their methods. */
final class MethodTypeInstrumentation implements TypeInstrumentation {
  private final Settings settings;

  MethodTypeInstrumentation(Settings settings) {
    this.settings = settings;
  }

  @Override
  public ElementMatcher<ClassLoader> classLoaderOptimization() {
    // The JDK's classes (the bootstrap loader's) are never the application's.
    return loader -> loader != null;
  }

  @Override
  public ElementMatcher<TypeDescription> typeMatcher() {
    return type -> !type.isAnnotation() && settings.filter.matches(type.getName());
  }

  @Override
  public void transform(TypeTransformer transformer) {
    transformer.applyTransformer(new MethodTransformer(settings));
  }
}
