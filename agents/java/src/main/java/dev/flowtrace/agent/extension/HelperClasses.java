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
      CORE + "ExceptionEvent",
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
}
