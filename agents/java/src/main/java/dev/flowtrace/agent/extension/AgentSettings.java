package dev.flowtrace.agent.extension;

import dev.flowtrace.agent.core.AgentLog;
import dev.flowtrace.agent.core.Settings;

/** The settings as the agent read them at start-up, reported in one log line. */
final class AgentSettings {
  private AgentSettings() {}

  private static final Settings SETTINGS = load();

  static Settings get() {
    return SETTINGS;
  }

  private static Settings load() {
    Settings s = Settings.fromProcess();
    if (!s.unknown.isEmpty()) {
      AgentLog.info("flowtrace: ignoring unknown setting(s) " + String.join(", ", s.unknown)
          + " (FLOWTRACE_TOKEN, FLOWTRACE_API_URL and FLOWTRACE_CONFIG are the flowtrace CLI's)");
    }
    if (s.logCorrelationRefused != null) AgentLog.info("flowtrace: " + s.logCorrelationRefused);
    if (!s.problems.isEmpty()) {
      AgentLog.info("flowtrace: method tracing is off, the application runs with the OpenTelemetry agent's"
          + " library instrumentation only: " + String.join("; ", s.problems));
    } else if (!s.enabled()) {
      AgentLog.info("flowtrace: method tracing is off: the main class could not be told (" + s.includeSource
          + "), so there is no default include; set FLOWTRACE_INCLUDE");
    } else {
      AgentLog.info("flowtrace: " + s.describe());
    }
    return s;
  }
}
