package dev.flowtrace.agent.core;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import java.util.stream.Collectors;

/**
 * Which classes get method spans. Entries are package or class prefixes ({@code com.acme},
 * {@code com.acme.shop.Cart}), matched at a name boundary, or {@code /regex/flags} searched in the
 * fully qualified class name. The JDK, the agent, common frameworks and generated proxies are
 * never traced, whatever the entries say: their methods are not the application's, and tracing
 * them would cost every request.
 */
public final class ClassFilter {

  /** One include or exclude item. */
  public static final class Entry {
    final String prefix;
    final Pattern regex;
    final String text;

    private Entry(String prefix, Pattern regex, String text) {
      this.prefix = prefix;
      this.regex = regex;
      this.text = text;
    }

    static Entry prefix(String prefix) {
      return new Entry(prefix, null, prefix.isEmpty() ? "(the default package)" : prefix);
    }

    boolean matches(String className) {
      if (regex != null) return regex.matcher(className).find();
      if (prefix.isEmpty()) return className.indexOf('.') < 0;
      if (prefix.endsWith(".") || prefix.endsWith("$")) return className.startsWith(prefix);
      if (!className.startsWith(prefix)) return false;
      if (className.length() == prefix.length()) return true;
      char next = className.charAt(prefix.length());
      return next == '.' || next == '$';
    }

    @Override
    public String toString() {
      return text;
    }
  }

  // Never traced, even when an entry matches.
  private static final String[] NEVER = {
    "java.", "javax.", "jdk.", "sun.", "com.sun.", "jakarta.",
    "dev.flowtrace.agent.", "io.opentelemetry.", "net.bytebuddy.",
    "org.springframework.", "io.netty.", "com.fasterxml.", "org.apache.", "ch.qos.", "org.slf4j.",
    "kotlin.", "kotlinx.", "scala.", "groovy.", "org.codehaus.groovy.", "clojure.",
    "org.hibernate.", "com.zaxxer.", "reactor.", "io.micrometer.", "io.grpc.", "com.google.",
    "org.eclipse.", "org.jboss.", "io.undertow.", "org.glassfish.", "io.vertx.", "io.micronaut.",
    "io.quarkus.", "io.smallrye.", "org.junit.", "junit.", "org.mockito.", "org.gradle.", "org.aspectj.",
    "org.objectweb.", "lombok.", "com.intellij.", "org.postgresql.", "com.mysql.", "org.h2.",
    "org.yaml.", "org.jetbrains.", "io.r2dbc.", "org.reactivestreams.", "com.github.benmanes.",
    "io.swagger.", "org.thymeleaf.", "org.flywaydb.", "org.liquibase.", "liquibase.", "feign.",
    "okhttp3.", "okio.", "retrofit2.", "com.squareup.", "io.lettuce.", "redis.clients.", "org.bson.",
    "com.mongodb.", "software.amazon.", "com.amazonaws.", "io.prometheus.", "org.jooq.", "org.mariadb.",
    "oracle.", "com.oracle.", "org.hamcrest.", "org.assertj.", "net.minidev.", "org.xml.", "org.w3c.",
    "javassist.", "org.bouncycastle.", "io.jsonwebtoken.", "com.nimbusds.", "org.quartz.", "io.reactivex.",
  };
  // Code-hosting namespaces: `io.github.me` is one owner's, `io.github` everybody's.
  private static final java.util.Set<String> HOSTING = java.util.Set.of(
      "io.github", "com.github", "org.gitlab", "com.gitlab", "io.gitlab", "com.bitbucket", "org.bitbucket",
      "io.bitbucket", "com.sourceforge", "net.sourceforge", "io.codeberg", "org.codeberg");
  // Classes generated at run time: proxies and enhanced subclasses.
  private static final String[] GENERATED = {"$$", "$Proxy", "$ByteBuddy$", "$HibernateProxy$", "$MockitoMock$"};

  private final List<Entry> include;
  private final List<Entry> exclude;

  public ClassFilter(List<Entry> include, List<Entry> exclude) {
    this.include = List.copyOf(include);
    this.exclude = List.copyOf(exclude);
  }

  /** Whether the methods of this class (fully qualified, binary name) are traced. */
  public boolean matches(String className) {
    if (isNever(className)) return false;
    boolean in = false;
    for (Entry e : include) {
      if (e.matches(className)) {
        in = true;
        break;
      }
    }
    if (!in) return false;
    for (Entry e : exclude) {
      if (e.matches(className)) return false;
    }
    return true;
  }

  public static boolean isNever(String className) {
    for (String p : NEVER) {
      if (className.startsWith(p)) return true;
    }
    for (String g : GENERATED) {
      if (className.contains(g)) return true;
    }
    return false;
  }

  public boolean hasIncludes() {
    return !include.isEmpty();
  }

  boolean hasExcludes() {
    return !exclude.isEmpty();
  }

  String describeIncludes() {
    return include.isEmpty() ? "nothing" : include.stream().map(Entry::toString).collect(Collectors.joining(", "));
  }

  String describeExcludes() {
    return exclude.stream().map(Entry::toString).collect(Collectors.joining(", "));
  }

  /**
   * Parses a comma-separated list; a bad item is a problem naming the setting, and is left out.
   * {@code /regex/flags} takes JavaScript's flags as the Node.js agent does: i, m and s apply,
   * d, g, u and y change nothing for a search.
   */
  static List<Entry> parse(String raw, String setting, List<String> problems) {
    List<Entry> out = new ArrayList<>();
    for (String item : raw.split(",")) {
      String text = item.trim();
      if (text.isEmpty()) continue;
      int close = text.lastIndexOf('/');
      if (text.length() > 2 && text.startsWith("/") && close > 0) {
        String flags = text.substring(close + 1);
        if (!flags.matches("[dgimsuy]*")) {
          problems.add(setting + ": invalid regular expression " + text + " (unknown flags \"" + flags + "\")");
          continue;
        }
        int f = (flags.contains("i") ? Pattern.CASE_INSENSITIVE : 0)
            | (flags.contains("m") ? Pattern.MULTILINE : 0)
            | (flags.contains("s") ? Pattern.DOTALL : 0);
        try {
          out.add(new Entry(null, Pattern.compile(text.substring(1, close), f), text));
        } catch (PatternSyntaxException e) {
          problems.add(setting + ": invalid regular expression " + text + " (" + e.getDescription() + ")");
        }
      } else if (text.matches("[\\p{javaJavaIdentifierPart}.$*]+")) {
        // `com.acme.*` and `com.acme.` mean the package `com.acme`, as `com.acme` does.
        String prefix = text.endsWith(".*") ? text.substring(0, text.length() - 2) : text;
        out.add(Entry.prefix(prefix.endsWith(".") ? prefix.substring(0, prefix.length() - 1) : prefix));
      } else {
        problems.add(setting + ": \"" + text + "\" is neither a package or class name nor a /regex/");
      }
    }
    return out;
  }

  /**
   * The application's own code: the packages under the main class's top-level package, its first
   * two name parts ({@code com.acme} for {@code com.acme.shop.Main}), three under a code-hosting
   * namespace ({@code io.github.me} for {@code io.github.me.App}); nothing when the main class
   * is unknown or is itself a framework's.
   */
  static List<Entry> defaultInclude(String mainClass) {
    if (mainClass == null || isNever(mainClass)) return List.of();
    String[] parts = mainClass.split("\\.");
    if (parts.length == 1) return List.of(Entry.prefix(""));
    int wanted = parts.length > 2 && HOSTING.contains(parts[0] + "." + parts[1]) ? 3 : 2;
    int keep = Math.min(wanted, parts.length - 1);
    return List.of(Entry.prefix(String.join(".", java.util.Arrays.copyOf(parts, keep))));
  }
}
