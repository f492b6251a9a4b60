package dev.flowtrace.agent.extension.advice;

import dev.flowtrace.agent.core.MethodCalls;
import net.bytebuddy.asm.Advice;

/** Inlined into each traced method: a span around the body. Nothing it throws reaches the method. */
public final class MethodAdvice {
  private MethodAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static MethodCalls.Call enter(@Advice.Origin Class<?> type, @Advice.Origin("#m#d") String method) {
    return MethodCalls.enter(type, method, null);
  }

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit(@Advice.Enter MethodCalls.Call call, @Advice.Thrown Throwable thrown) {
    MethodCalls.exit(call, thrown, null, false);
  }
}
