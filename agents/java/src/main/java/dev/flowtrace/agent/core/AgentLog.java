package dev.flowtrace.agent.core;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** FlowTrace's few log lines, on stderr as the Node.js agent's; each topic at most once. */
public final class AgentLog {
  private AgentLog() {}

  private static final Set<String> SEEN = ConcurrentHashMap.newKeySet();

  public static void info(String line) {
    System.err.println(line);
  }

  /** Logs {@code line} the first time {@code topic} is seen, and never again. */
  public static void once(String topic, String line) {
    if (SEEN.size() < 1000 && SEEN.add(topic)) System.err.println(line);
  }
}
