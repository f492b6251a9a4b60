package dev.flowtrace.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class SettingsTest {
  private static Settings load(Map<String, String> env) {
    return Settings.load(env, new Properties(), "com.acme.shop.Main");
  }

  private static Properties props(String... kv) {
    Properties p = new Properties();
    for (int i = 0; i < kv.length; i += 2) p.setProperty(kv[i], kv[i + 1]);
    return p;
  }

  @Test
  void defaults() {
    Settings s = load(Map.of());
    assertTrue(s.enabled());
    assertFalse(s.captureArgs);
    assertFalse(s.captureReturn);
    assertEquals(512, s.maxValueBytes);
    assertEquals(8, s.trivialBytes);
    assertFalse(s.includeConstructors);
    assertEquals("main class com.acme.shop.Main", s.includeSource);
    assertTrue(s.filter.matches("com.acme.billing.Invoice"));
    assertFalse(s.filter.matches("com.acmex.Thing"));
    assertFalse(s.filter.matches("org.example.Other"));
    assertTrue(s.describe().startsWith("tracing methods of com.acme (main class com.acme.shop.Main)"), s.describe());
  }

  @Test
  void defaultIncludeIsTheTopLevelPackageOfTheMainClass() {
    assertEquals("[com.acme]", ClassFilter.defaultInclude("com.acme.shop.Main").toString());
    assertEquals("[com.acme]", ClassFilter.defaultInclude("com.acme.Main").toString());
    assertEquals("[acme]", ClassFilter.defaultInclude("acme.Main").toString());
    assertEquals("[(the default package)]", ClassFilter.defaultInclude("Main").toString());
    assertEquals(List.of(), ClassFilter.defaultInclude("org.springframework.boot.loader.launch.JarLauncher"));
    assertEquals(List.of(), ClassFilter.defaultInclude(null));
    // A code-hosting namespace is everybody's: the owner's name part is kept too.
    assertEquals("[io.github.me]", ClassFilter.defaultInclude("io.github.me.App").toString());
    assertEquals("[com.gitlab.team]", ClassFilter.defaultInclude("com.gitlab.team.svc.Main").toString());
    assertEquals("[io.github]", ClassFilter.defaultInclude("io.github.Main").toString());
    for (String library : new String[] {"javassist.Foo", "org.bouncycastle.X", "io.jsonwebtoken.Jwts", "com.nimbusds.jose.JWT",
        "org.quartz.Job", "io.reactivex.Flowable"}) {
      assertTrue(ClassFilter.isNever(library), library);
    }
    assertFalse(Settings.load(Map.of(), new Properties(), null).enabled());
  }

  @Test
  void environmentAndSystemProperties() {
    Settings s = Settings.load(
        Map.of("FLOWTRACE_CAPTURE_ARGS", "true", "FLOWTRACE_MAX_VALUE_BYTES", "64", "FLOWTRACE_INCLUDE", "org.example"),
        props("flowtrace.max.value.bytes", "128", "flowtrace.capture.return", "yes", "flowtrace.include", "net.shop"),
        "com.acme.Main");
    assertTrue(s.problems.isEmpty(), s.problems.toString());
    assertTrue(s.captureArgs);
    assertTrue(s.captureReturn);
    assertEquals(128, s.maxValueBytes, "the system property wins");
    assertTrue(s.filter.matches("net.shop.Cart"));
    assertFalse(s.filter.matches("org.example.Cart"));
    assertFalse(s.filter.matches("com.acme.Cart"), "an include replaces the default");
  }

  @Test
  void prefixesClassesRegexesAndExcludes() {
    Settings s = load(Map.of(
        "FLOWTRACE_INCLUDE", "com.acme.shop, com.acme.billing.Invoice, /\\.api\\.[A-Z]\\w*Controller$/, org.demo.*",
        "FLOWTRACE_EXCLUDE", "com.acme.shop.internal, /Test$/i"));
    assertTrue(s.problems.isEmpty(), s.problems.toString());
    assertTrue(s.filter.matches("com.acme.shop.Cart"));
    assertTrue(s.filter.matches("com.acme.shop.Cart$Line"));
    assertTrue(s.filter.matches("com.acme.billing.Invoice"));
    assertTrue(s.filter.matches("com.acme.billing.Invoice$Line"));
    assertFalse(s.filter.matches("com.acme.billing.InvoiceRepository"));
    assertTrue(s.filter.matches("net.x.api.OrderController"));
    assertTrue(s.filter.matches("org.demo.App"));
    assertFalse(s.filter.matches("com.acme.shop.internal.Cache"));
    assertFalse(s.filter.matches("com.acme.shop.CartTEST"));
  }

  @Test
  void theJdkFrameworksTheAgentAndProxiesAreNeverTraced() {
    Settings s = load(Map.of("FLOWTRACE_INCLUDE", "/.*/"));
    assertTrue(s.filter.matches("com.acme.Cart"));
    for (String name : List.of("java.lang.String", "jdk.internal.misc.Unsafe", "sun.nio.ch.Net", "javax.net.ssl.X",
        "org.springframework.web.servlet.DispatcherServlet", "io.netty.channel.Channel", "com.fasterxml.jackson.A",
        "org.apache.catalina.Connector", "ch.qos.logback.Logger", "org.slf4j.Logger", "io.opentelemetry.api.Span",
        "kotlin.collections.List", "scala.Option", "dev.flowtrace.agent.core.Settings", "net.bytebuddy.ByteBuddy",
        "com.acme.Cart$$SpringCGLIB$$0", "com.acme.Cart$$EnhancerBySpringCGLIB$$1", "jdk.proxy2.$Proxy12",
        "com.acme.Cart$HibernateProxy$x")) {
      assertFalse(s.filter.matches(name), name);
    }
  }

  @Test
  void badSettingsAreProblemsNamingThem() {
    Settings s = Settings.load(
        Map.of("FLOWTRACE_INCLUDE", "com.acme,/[unclosed/", "FLOWTRACE_CAPTURE_ARGS", "maybe",
            "FLOWTRACE_MAX_VALUE_BYTES", "8", "FLOWTRACE_TYPO", "1", "FLOWTRACE_SKIP_TRIVIAL", "lots"),
        props("flowtrace.capture.everything", "true"),
        "com.acme.Main");
    assertFalse(s.enabled());
    String all = String.join("\n", s.problems);
    assertTrue(all.contains("FLOWTRACE_INCLUDE: invalid regular expression /[unclosed/"), all);
    assertTrue(all.contains("FLOWTRACE_CAPTURE_ARGS must be true or false (got \"maybe\")"), all);
    assertTrue(all.contains("FLOWTRACE_MAX_VALUE_BYTES must be an integer from 16 to 1048576 (got \"8\")"), all);
    assertTrue(all.contains("FLOWTRACE_SKIP_TRIVIAL"), all);
    assertEquals(4, s.problems.size(), all);
    assertEquals(List.of("-Dflowtrace.capture.everything", "FLOWTRACE_TYPO"), s.unknown);
    // The good include item is kept; the bad one is named and left out.
    assertTrue(s.filter.matches("com.acme.Cart"));
  }

  @Test
  void skipTrivial() {
    assertEquals(0, load(Map.of("FLOWTRACE_SKIP_TRIVIAL", "false")).trivialBytes);
    assertEquals(0, load(Map.of("FLOWTRACE_SKIP_TRIVIAL", "0")).trivialBytes);
    assertEquals(8, load(Map.of("FLOWTRACE_SKIP_TRIVIAL", "on")).trivialBytes);
    assertEquals(16, load(Map.of("FLOWTRACE_SKIP_TRIVIAL", "16")).trivialBytes);
  }

  @Test
  void maxValueBytesBounds() {
    assertEquals(16, load(Map.of("FLOWTRACE_MAX_VALUE_BYTES", "16")).maxValueBytes);
    assertEquals(1_048_576, load(Map.of("FLOWTRACE_MAX_VALUE_BYTES", "1048576")).maxValueBytes);
    assertFalse(load(Map.of("FLOWTRACE_MAX_VALUE_BYTES", "1048577")).problems.isEmpty());
    assertFalse(load(Map.of("FLOWTRACE_MAX_VALUE_BYTES", "12.5")).problems.isEmpty());
  }

  @Test
  void unknownNamesAreLoggedNotProblems() {
    // The flowtrace CLI's own variables live in the same shells as the agent's.
    Settings s = Settings.load(Map.of("FLOWTRACE_TOKEN", "t", "FLOWTRACE_API_URL", "http://x", "FLOWTRACE_CONFIG", "f",
        "FLOWTRACE_INCLUDE", "com.acme"), new Properties(), null);
    assertTrue(s.enabled(), s.problems.toString());
    assertEquals(List.of("FLOWTRACE_API_URL", "FLOWTRACE_CONFIG", "FLOWTRACE_TOKEN"), s.unknown);
  }
}
