package dev.flowtrace.agent.core;

/** FlowTrace's version, as the instrumentation scope's. */
final class Version {
  private Version() {}

  static final String VALUE = "0.1.0";
}
