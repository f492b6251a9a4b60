package dev.flowtrace.agent.extension;

import static net.bytebuddy.matcher.ElementMatchers.isConstructor;
import static net.bytebuddy.matcher.ElementMatchers.isMethod;

import dev.flowtrace.agent.core.ClassFile;
import dev.flowtrace.agent.core.Settings;
import dev.flowtrace.agent.extension.advice.ArgsAdvice;
import dev.flowtrace.agent.extension.advice.ArgsReturnAdvice;
import dev.flowtrace.agent.extension.advice.ConstructorAdvice;
import dev.flowtrace.agent.extension.advice.ConstructorArgsAdvice;
import dev.flowtrace.agent.extension.advice.MethodAdvice;
import dev.flowtrace.agent.extension.advice.ReturnAdvice;
import java.security.ProtectionDomain;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.description.method.MethodDescription;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.DynamicType;
import net.bytebuddy.matcher.ElementMatcher;
import net.bytebuddy.utility.JavaModule;

/**
 * Puts the advice into the methods of one included class. The class file is read here, once,
 * because what makes a method trivial (its bytecode length) is not in ByteBuddy's description.
 */
public final class MethodTransformer implements AgentBuilder.Transformer {
  private final Settings settings;
  private final Advice methodAdvice;
  private final Advice constructorAdvice;

  public MethodTransformer(Settings settings) {
    this.settings = settings;
    Class<?> advice = settings.captureArgs
        ? (settings.captureReturn ? ArgsReturnAdvice.class : ArgsAdvice.class)
        : (settings.captureReturn ? ReturnAdvice.class : MethodAdvice.class);
    this.methodAdvice = Advice.to(advice);
    this.constructorAdvice = Advice.to(settings.captureArgs ? ConstructorArgsAdvice.class : ConstructorAdvice.class);
  }

  @Override
  public DynamicType.Builder<?> transform(
      DynamicType.Builder<?> builder,
      TypeDescription type,
      ClassLoader loader,
      JavaModule module,
      ProtectionDomain protectionDomain) {
    ClassFile file = ClassFile.read(loader, type.getName());
    if (file == null) return builder; // generated at run time: nothing of the programmer's to show
    ElementMatcher<MethodDescription> traced = new TracedMethods(type, file, settings);
    builder = builder.visit(methodAdvice.on(isMethod().and(traced)));
    if (settings.includeConstructors) builder = builder.visit(constructorAdvice.on(isConstructor().and(traced)));
    return builder;
  }

  /** The methods that get a span: written by the programmer, with a body, not trivial. */
  static final class TracedMethods implements ElementMatcher<MethodDescription> {
    private final TypeDescription type;
    private final ClassFile file;
    private final Settings settings;

    TracedMethods(TypeDescription type, ClassFile file, Settings settings) {
      this.type = type;
      this.file = file;
      this.settings = settings;
    }

    @Override
    public boolean matches(MethodDescription m) {
      if (m.isAbstract() || m.isNative() || m.isTypeInitializer() || m.isSynthetic() || m.isBridge()) return false;
      if (!m.getDeclaringType().asErasure().equals(type)) return false;
      String name = m.getInternalName();
      if (type.isEnum() && (name.equals("values") || name.equals("valueOf") || name.equals("$values"))) return false;
      ClassFile.Method info = file.find(name, m.getDescriptor());
      return info != null && !info.isGenerated() && info.codeLength >= 0 && !info.isTrivial(settings.trivialBytes);
    }
  }
}
