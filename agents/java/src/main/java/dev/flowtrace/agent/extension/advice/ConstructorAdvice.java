package dev.flowtrace.agent.extension.advice;

import dev.flowtrace.agent.core.MethodCalls;
import net.bytebuddy.asm.Advice;

/**
 * Inlined into traced constructors. The JVM lets no handler wrap a constructor's super() call,
 * so the exit runs on normal return only: a constructor that throws leaves its span unended
 * (never exported). The span is never made current (no scope to leave open): calls made by the
 * constructor are its siblings, not its children.
 */
public final class ConstructorAdvice {
  private ConstructorAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static MethodCalls.Call enter(@Advice.Origin Class<?> type, @Advice.Origin("#m#d") String method) {
    return MethodCalls.enterConstructor(type, method, null);
  }

  @Advice.OnMethodExit(suppress = Throwable.class)
  public static void exit(@Advice.Enter MethodCalls.Call call) {
    MethodCalls.exit(call, null, null, false);
  }
}
