package dev.flowtrace.agent.extension.advice;

import dev.flowtrace.agent.core.MethodCalls;
import net.bytebuddy.asm.Advice;

/** {@link ConstructorAdvice}, capturing the arguments. */
public final class ConstructorArgsAdvice {
  private ConstructorArgsAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static MethodCalls.Call enter(
      @Advice.Origin Class<?> type, @Advice.Origin("#m#d") String method, @Advice.AllArguments Object[] args) {
    return MethodCalls.enterConstructor(type, method, args);
  }

  @Advice.OnMethodExit(suppress = Throwable.class)
  public static void exit(@Advice.Enter MethodCalls.Call call) {
    MethodCalls.exit(call, null, null, false);
  }
}
