package dev.flowtrace.agent.core;

import java.util.concurrent.ConcurrentHashMap;

/**
 * The call sites of each traced class, built from its class file on the first call of one of
 * its methods. Keyed by the method's name and descriptor, which the advice passes as a constant.
 */
final class CallSites {
  private CallSites() {}

  private static final class ForClass {
    final Class<?> type;
    final ClassFile file;
    final ConcurrentHashMap<String, CallSite> sites = new ConcurrentHashMap<>();

    ForClass(Class<?> type) {
      this.type = type;
      this.file = ClassFile.of(type);
    }

    CallSite site(String methodAndDescriptor) {
      CallSite site = sites.get(methodAndDescriptor);
      return site != null ? site : sites.computeIfAbsent(methodAndDescriptor, this::create);
    }

    private CallSite create(String methodAndDescriptor) {
      int paren = methodAndDescriptor.indexOf('(');
      String name = paren < 0 ? methodAndDescriptor : methodAndDescriptor.substring(0, paren);
      String descriptor = paren < 0 ? "" : methodAndDescriptor.substring(paren);
      ClassFile.Method info = file == null ? null : file.find(name, descriptor);
      return new CallSite(type, name, info, file == null ? null : file.sourceFile);
    }
  }

  private static final ClassValue<ForClass> CLASSES = new ClassValue<>() {
    @Override
    protected ForClass computeValue(Class<?> type) {
      return new ForClass(type);
    }
  };

  /** @param methodAndDescriptor {@code name(Ljava/lang/String;)V} */
  static CallSite get(Class<?> type, String methodAndDescriptor) {
    return CLASSES.get(type).site(methodAndDescriptor);
  }
}
