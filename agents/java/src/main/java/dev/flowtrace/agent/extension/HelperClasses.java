package dev.flowtrace.agent.extension;

import java.util.List;

/**
 * The classes the inlined advice calls, which the agent injects into each application class
 * loader that has a traced class (the agent's own loader is not visible from there). The
 * HelperClassesTest checks that every class of dev.flowtrace.agent.core is listed.
 */
final class HelperClasses {
  private HelperClasses() {}

  private static final String CORE = "dev.flowtrace.agent.core.";

  static final List<String> NAMES = List.of(
      CORE + "AgentLog",
      CORE + "CallSite",
      CORE + "CallSites",
      CORE + "CallSites$1",
      CORE + "CallSites$ForClass",
      CORE + "Cards",
      CORE + "Cards$Range",
      CORE + "ClassFile",
      CORE + "ClassFile$Method",
      CORE + "ClassFilter",
      CORE + "ClassFilter$Entry",
      CORE + "CorrelationIds",
      CORE + "ExceptionEvent",
      CORE + "LogCorrelation",
      CORE + "LogCorrelation$Mode",
      CORE + "MainClass",
      CORE + "MethodCalls",
      CORE + "MethodCalls$Call",
      CORE + "MethodCalls$Runtime",
      CORE + "Redactor",
      CORE + "Settings",
      CORE + "Texts",
      CORE + "Texts$1",
      CORE + "ValueRenderer",
      CORE + "ValueRenderer$1",
      CORE + "ValueRenderer$Writer",
      CORE + "Version",
      CORE + "Wrappers",
      CORE + "Wrappers$1");

  private static final String LOGS = "dev.flowtrace.agent.extension.logs.";

  /** What a logging instrumentation injects: the log-correlation fields, and its own classes ({@code names} under logs/). */
  static List<String> logging(String... names) {
    List<String> all = new java.util.ArrayList<>(List.of(
        CORE + "CorrelationIds",
        CORE + "LogCorrelation",
        CORE + "LogCorrelation$Mode",
        LOGS + "LogContext",
        LOGS + "LogContext$1"));
    for (String name : names) all.add(LOGS + name);
    return List.copyOf(all);
  }
}
