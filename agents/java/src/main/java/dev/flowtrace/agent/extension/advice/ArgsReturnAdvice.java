package dev.flowtrace.agent.extension.advice;

import dev.flowtrace.agent.core.MethodCalls;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.implementation.bytecode.assign.Assigner;

/** {@link MethodAdvice}, capturing the arguments and the return value. */
public final class ArgsReturnAdvice {
  private ArgsReturnAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static MethodCalls.Call enter(
      @Advice.Origin Class<?> type, @Advice.Origin("#m#d") String method, @Advice.AllArguments Object[] args) {
    return MethodCalls.enter(type, method, args);
  }

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit(
      @Advice.Enter MethodCalls.Call call,
      @Advice.Thrown Throwable thrown,
      @Advice.Return(typing = Assigner.Typing.DYNAMIC) Object returned) {
    MethodCalls.exit(call, thrown, returned, true);
  }
}
