package dev.flowtrace.agent.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

/**
 * FlowTrace's settings, with the Node.js agent's names: each {@code FLOWTRACE_X_Y} environment
 * variable is also the system property {@code flowtrace.x.y}; the property wins, as the
 * official agent's {@code -Dotel.*} properties win over {@code OTEL_*}. A bad setting is a
 * problem: the caller turns method tracing off and names every problem in one log line. An
 * unknown name is not: the caller names them in one log line and tracing goes on.
 */
public final class Settings {
  public static final int DEFAULT_MAX_VALUE_BYTES = 512;
  /** Methods shorter than this (in bytecode bytes) that call no method are trivial: getters and setters are 4–6. */
  public static final int DEFAULT_TRIVIAL_BYTES = 8;

  static final String INCLUDE = "FLOWTRACE_INCLUDE";
  static final String EXCLUDE = "FLOWTRACE_EXCLUDE";
  static final String CAPTURE_ARGS = "FLOWTRACE_CAPTURE_ARGS";
  static final String CAPTURE_RETURN = "FLOWTRACE_CAPTURE_RETURN";
  static final String MAX_VALUE_BYTES = "FLOWTRACE_MAX_VALUE_BYTES";
  static final String SKIP_TRIVIAL = "FLOWTRACE_SKIP_TRIVIAL";
  static final String INCLUDE_CONSTRUCTORS = "FLOWTRACE_INCLUDE_CONSTRUCTORS";
  static final String LOG_CORRELATION = "FLOWTRACE_LOG_CORRELATION";
  static final Set<String> KNOWN = Set.of(
      INCLUDE, EXCLUDE, CAPTURE_ARGS, CAPTURE_RETURN, MAX_VALUE_BYTES, SKIP_TRIVIAL, INCLUDE_CONSTRUCTORS, LOG_CORRELATION);

  public final ClassFilter filter;
  /** Where the include list came from: the setting, or the main class it was derived from. */
  public final String includeSource;
  public final boolean captureArgs;
  public final boolean captureReturn;
  public final int maxValueBytes;
  /** Bytecode length under which a method is not traced; 0 when every method is. */
  public final int trivialBytes;
  public final boolean includeConstructors;
  /** Which log lines get trace and correlation IDs. */
  public final LogCorrelation.Mode logCorrelation;
  /**
   * A refused FLOWTRACE_LOG_CORRELATION, named for one log line; null when none. Not a problem:
   * the default applies and method tracing goes on (agents/conformance/logs/correlation.json).
   */
  public final String logCorrelationRefused;
  /** Every bad setting, each naming it; empty when all is well. */
  public final List<String> problems;
  /** Names that start like a setting but are none (a typo, or another tool's variable): logged, not a problem. */
  public final List<String> unknown;

  private Settings(
      ClassFilter filter,
      String includeSource,
      boolean captureArgs,
      boolean captureReturn,
      int maxValueBytes,
      int trivialBytes,
      boolean includeConstructors,
      LogCorrelation.Mode logCorrelation,
      String logCorrelationRefused,
      List<String> problems,
      List<String> unknown) {
    this.filter = filter;
    this.includeSource = includeSource;
    this.captureArgs = captureArgs;
    this.captureReturn = captureReturn;
    this.maxValueBytes = maxValueBytes;
    this.trivialBytes = trivialBytes;
    this.includeConstructors = includeConstructors;
    this.logCorrelation = logCorrelation;
    this.logCorrelationRefused = logCorrelationRefused;
    this.problems = List.copyOf(problems);
    this.unknown = List.copyOf(unknown);
  }

  /** Method tracing runs: no problem, and something to include. */
  public boolean enabled() {
    return problems.isEmpty() && filter.hasIncludes();
  }

  /** The process's settings: its environment and system properties, the main class as default include. */
  public static Settings fromProcess() {
    return load(System.getenv(), System.getProperties(), MainClass.detect(System.getProperties()));
  }

  /**
   * @param mainClass the application's main class, source of the default include; null when unknown
   */
  public static Settings load(Map<String, String> env, Properties props, String mainClass) {
    List<String> problems = new ArrayList<>();
    // Unknown names are only reported: FLOWTRACE_TOKEN, FLOWTRACE_API_URL… are the CLI's own
    // variables, exported in the same shells, and a typo must not turn tracing off.
    List<String> unknown = new ArrayList<>();
    for (String name : env.keySet()) {
      if (name.startsWith("FLOWTRACE_") && !KNOWN.contains(name)) unknown.add(name);
    }
    for (String name : props.stringPropertyNames()) {
      if (name.startsWith("flowtrace.") && !KNOWN.contains(envName(name))) unknown.add("-D" + name);
    }
    java.util.Collections.sort(unknown);

    String includeRaw = value(env, props, INCLUDE);
    List<ClassFilter.Entry> include = ClassFilter.parse(includeRaw == null ? "" : includeRaw, INCLUDE, problems);
    String includeSource = INCLUDE;
    if (includeRaw == null) {
      include = ClassFilter.defaultInclude(mainClass);
      includeSource = mainClass == null ? "no main class found" : "main class " + mainClass;
    }
    String excludeRaw = value(env, props, EXCLUDE);
    List<ClassFilter.Entry> exclude = ClassFilter.parse(excludeRaw == null ? "" : excludeRaw, EXCLUDE, problems);

    boolean captureArgs = bool(env, props, CAPTURE_ARGS, false, problems);
    boolean captureReturn = bool(env, props, CAPTURE_RETURN, false, problems);
    boolean constructors = bool(env, props, INCLUDE_CONSTRUCTORS, false, problems);
    int maxValueBytes = integer(env, props, MAX_VALUE_BYTES, DEFAULT_MAX_VALUE_BYTES, 16, 1_048_576, problems);
    int trivialBytes = trivial(env, props, problems);
    String logRaw = value(env, props, LOG_CORRELATION);
    LogCorrelation.Mode logCorrelation = LogCorrelation.parse(logRaw);
    String logRefused = null;
    if (logCorrelation == null) {
      logCorrelation = LogCorrelation.Mode.AUTO;
      logRefused = LOG_CORRELATION + " must be auto, all or off (got \"" + logRaw + "\"); using auto";
    }
    return new Settings(
        new ClassFilter(include, exclude),
        includeSource,
        captureArgs,
        captureReturn,
        maxValueBytes,
        trivialBytes,
        constructors,
        logCorrelation,
        logRefused,
        problems,
        unknown);
  }

  /** {@code flowtrace.capture.args} → {@code FLOWTRACE_CAPTURE_ARGS}. */
  static String envName(String property) {
    return property.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
  }

  static String propertyName(String env) {
    return env.toLowerCase(Locale.ROOT).replace('_', '.');
  }

  /** The trimmed value of a setting, the system property first; null when unset or blank. */
  private static String value(Map<String, String> env, Properties props, String name) {
    String v = props.getProperty(propertyName(name));
    if (v == null || v.isBlank()) v = env.get(name);
    return v == null || v.isBlank() ? null : v.trim();
  }

  private static boolean bool(Map<String, String> env, Properties props, String name, boolean fallback, List<String> problems) {
    String v = value(env, props, name);
    if (v == null) return fallback;
    Boolean parsed = parseBool(v);
    if (parsed != null) return parsed;
    problems.add(name + " must be true or false (got \"" + v + "\")");
    return fallback;
  }

  private static Boolean parseBool(String v) {
    switch (v.toLowerCase(Locale.ROOT)) {
      case "true": case "1": case "yes": case "on": return Boolean.TRUE;
      case "false": case "0": case "no": case "off": return Boolean.FALSE;
      default: return null;
    }
  }

  private static int integer(
      Map<String, String> env, Properties props, String name, int fallback, int min, int max, List<String> problems) {
    String v = value(env, props, name);
    if (v == null) return fallback;
    try {
      int n = Integer.parseInt(v);
      if (n >= min && n <= max) return n;
    } catch (NumberFormatException e) {
      // reported below
    }
    problems.add(name + " must be an integer from " + min + " to " + max + " (got \"" + v + "\")");
    return fallback;
  }

  /** {@code true} (the default: under 8 bytes), {@code false}, or a byte count from 1 to 65535. */
  private static int trivial(Map<String, String> env, Properties props, List<String> problems) {
    String v = value(env, props, SKIP_TRIVIAL);
    if (v == null) return DEFAULT_TRIVIAL_BYTES;
    Boolean b = parseBool(v);
    if (b != null && !v.equals("0") && !v.equals("1")) return b ? DEFAULT_TRIVIAL_BYTES : 0;
    try {
      int n = Integer.parseInt(v);
      if (n >= 0 && n <= 65_535) return n;
    } catch (NumberFormatException e) {
      // reported below
    }
    problems.add(SKIP_TRIVIAL + " must be true, false or a bytecode size from 0 to 65535 (got \"" + v + "\")");
    return DEFAULT_TRIVIAL_BYTES;
  }

  /** One line for the start-up log. */
  public String describe() {
    return "tracing methods of " + filter.describeIncludes() + " (" + includeSource + ")"
        + (filter.hasExcludes() ? ", excluding " + filter.describeExcludes() : "")
        + "; arguments " + (captureArgs ? "captured" : "not captured")
        + ", return values " + (captureReturn ? "captured" : "not captured")
        + ", up to " + maxValueBytes + " bytes"
        + (trivialBytes > 0 ? "; methods under " + trivialBytes + " bytecode bytes that call nothing skipped" : "")
        + (includeConstructors ? "; constructors traced" : "")
        + (logCorrelation == LogCorrelation.Mode.AUTO ? "" : "; log correlation " + logCorrelation.name().toLowerCase(Locale.ROOT));
  }
}
