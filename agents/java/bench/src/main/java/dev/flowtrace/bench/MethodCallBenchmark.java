package dev.flowtrace.bench;

import com.acme.bench.Work;
import io.opentelemetry.api.GlobalOpenTelemetry;
import io.opentelemetry.api.trace.Span;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One call of {@link Work#checksum}, timed. The agent and its settings are not in this class: the
 * driver (bench/agent-java.ts) runs it once per case, each in its own forked JVMs started with that
 * case's {@code -javaagent} and {@code -D} flags ({@code -jvmArgsAppend}), so every case times
 * the very same bytecode.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class MethodCallBenchmark {

  /** A call that starts its own trace, as a method called outside any request (a job, a timer). */
  @State(Scope.Thread)
  public static class Root {
    /** Not a constant, so the JIT cannot fold the call away. */
    int seed = 42;
  }

  /**
   * A call inside a request: a parent span is open (and current on the benchmark thread) for the
   * whole iteration, as a server span is around an application's methods. Without an agent the
   * API is a no-op; with one, it is the agent's SDK.
   */
  @State(Scope.Thread)
  public static class InRequest {
    int seed = 42;
    private Span request;
    /** The OpenTelemetry scope (JMH's {@code Scope} is the annotation's). */
    private io.opentelemetry.context.Scope scope;

    @Setup(Level.Iteration)
    public void open() {
      request = GlobalOpenTelemetry.getTracer("bench").spanBuilder("GET /bench").startSpan();
      scope = request.makeCurrent();
    }

    @TearDown(Level.Iteration)
    public void close() {
      scope.close();
      request.end();
    }
  }

  @Benchmark
  public long rootCall(Root state) {
    return Work.checksum(state.seed++);
  }

  @Benchmark
  public long inRequest(InRequest state) {
    return Work.checksum(state.seed++);
  }
}
