package dev.flowtrace.agent.core;

import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;

/** What a traced method knows about itself, computed once on its first call. */
public final class CallSite {
  /** {@code SimpleClass.method}. */
  public final String spanName;
  /** The {@code code.*} attributes, shared by all its spans. */
  public final Attributes attributes;
  /** Per parameter: its name, the key context of its argument's masking ('' when the class file has none). */
  public final String[] parameterNames;
  /** Per parameter: its name looks secret ({@code password}, {@code token}…), so its argument is masked whole. */
  public final boolean[] secretParameters;
  /** Set when FlowTrace failed inside this method's call: it then runs untraced. */
  volatile boolean disabled;

  CallSite(Class<?> type, String method, ClassFile.Method info, String sourceFile) {
    String namespace = type.getName();
    String simple = simpleName(namespace);
    this.spanName = simple + "." + method;
    AttributesBuilder b = Attributes.builder()
        .put("code.namespace", namespace)
        // Current semantic conventions: the fully qualified name, namespace and method.
        .put("code.function.name", namespace + "." + method);
    if (sourceFile != null) {
      int dot = namespace.lastIndexOf('.');
      String dir = dot < 0 ? "" : namespace.substring(0, dot + 1).replace('.', '/');
      b.put("code.file.path", dir + sourceFile);
    }
    if (info != null && info.firstLine > 0) b.put("code.line.number", (long) info.firstLine);
    this.attributes = b.build();
    String[] names = info == null ? new String[0] : info.parameterNames;
    this.parameterNames = new String[names.length];
    this.secretParameters = new boolean[names.length];
    for (int i = 0; i < names.length; i++) {
      parameterNames[i] = names[i] == null ? "" : names[i];
      secretParameters[i] = Redactor.isSecretKey(parameterNames[i]);
    }
  }

  /** {@code com.acme.Outer$Inner} → {@code Outer$Inner}: the binary name after the package. */
  static String simpleName(String className) {
    return className.substring(className.lastIndexOf('.') + 1);
  }

  public String parameterName(int i) {
    return i < parameterNames.length ? parameterNames[i] : "";
  }

  public boolean isSecretParameter(int i) {
    return i < secretParameters.length && secretParameters[i];
  }
}
