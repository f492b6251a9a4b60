package dev.flowtrace.agent.extension.advice;

import dev.flowtrace.agent.core.MethodCalls;
import net.bytebuddy.asm.Advice;

/** {@link MethodAdvice}, capturing the arguments. */
public final class ArgsAdvice {
  private ArgsAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static MethodCalls.Call enter(
      @Advice.Origin Class<?> type, @Advice.Origin("#m#d") String method, @Advice.AllArguments Object[] args) {
    return MethodCalls.enter(type, method, args);
  }

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit(@Advice.Enter MethodCalls.Call call, @Advice.Thrown Throwable thrown) {
    MethodCalls.exit(call, thrown, null, false);
  }
}
