package dev.flowtrace.agent.extension;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.acme.fixtures.Fragile;
import dev.flowtrace.agent.core.MethodCalls;
import dev.flowtrace.agent.core.Settings;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.lang.reflect.InvocationTargetException;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Traced code that throws, or hands the agent its own objects: the agent neither leaks nor runs them. */
class FragileTracingTest {
  private InMemorySpanExporter exporter;
  private SdkTracerProvider provider;
  private Class<?> type;
  private Class<?> items;

  @BeforeEach
  void setUp() throws Exception {
    exporter = InMemorySpanExporter.create();
    provider = SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(exporter)).build();
    Settings settings = Settings.load(Map.of("FLOWTRACE_INCLUDE", "com.acme.fixtures", "FLOWTRACE_CAPTURE_ARGS", "true",
        "FLOWTRACE_CAPTURE_RETURN", "true", "FLOWTRACE_INCLUDE_CONSTRUCTORS", "true"), new Properties(), null);
    MethodCalls.install(OpenTelemetrySdk.builder().setTracerProvider(provider).build(), settings);
    ClassLoader loader = TracedLoader.load(settings, Fragile.class, Fragile.Loud.class, Fragile.Items.class);
    type = loader.loadClass(Fragile.class.getName());
    items = loader.loadClass(Fragile.Items.class.getName());
  }

  @AfterEach
  void tearDown() {
    provider.close();
  }

  private Object newFragile(boolean fail) throws Throwable {
    try {
      return type.getConstructor(boolean.class).newInstance(fail);
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }

  private Object call(Object target, String name, Class<?>[] types, Object... args) throws Throwable {
    try {
      return type.getMethod(name, types).invoke(target, args);
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }

  private List<SpanData> spans(String name) {
    return exporter.getFinishedSpanItems().stream().filter(s -> s.getName().equals(name)).collect(Collectors.toList());
  }

  private static String event(SpanData span, String key) {
    return span.getEvents().get(0).getAttributes().get(AttributeKey.stringKey(key));
  }

  @Test
  void aThrowingConstructorLeavesNoSpanCurrent() throws Throwable {
    assertThrows(IllegalArgumentException.class, () -> newFragile(true));
    assertFalse(Span.current().getSpanContext().isValid(), "the constructor's span is still current");
    call(null, "lucky", new Class<?>[0]);
    SpanData lucky = spans("Fragile.lucky").get(0);
    assertFalse(lucky.getParentSpanContext().isValid(), "a later call is parented to the failed constructor");
    newFragile(false);
    assertEquals(1, spans("Fragile.<init>").size());
  }

  @Test
  void exceptionsAreMaskedAndCut() throws Throwable {
    Object f = newFragile(false);
    String secret = "login failed: password=hunter2 Authorization: Bearer abcdefgh12345678";
    assertThrows(IllegalStateException.class, () -> call(f, "fail", new Class<?>[] {String.class}, secret));
    SpanData span = spans("Fragile.fail").get(0);
    assertEquals(StatusCode.ERROR, span.getStatus().getStatusCode());
    assertEquals("java.lang.IllegalStateException", event(span, "exception.type"));
    assertEquals("login failed: password=[REDACTED] Authorization: [REDACTED]", event(span, "exception.message"));
    assertEquals("login failed: password=[REDACTED] Authorization: [REDACTED]", span.getStatus().getDescription());
    String stack = event(span, "exception.stacktrace");
    assertTrue(stack.startsWith("java.lang.IllegalStateException: login failed: password=[REDACTED]"), stack);
    assertTrue(stack.contains("\tat com.acme.fixtures.Fragile.fail("), stack);
    assertTrue(stack.contains("Caused by: java.lang.RuntimeException: cause token=[REDACTED]"), stack);
    for (SpanData s : exporter.getFinishedSpanItems()) {
      String all = s.getAttributes().toString() + s.getEvents().stream().map(e -> e.getAttributes().toString()).collect(Collectors.joining());
      assertFalse(all.contains("hunter2") || all.contains("abcdefgh12345678") || all.contains("abc123"), all);
    }
  }

  @Test
  void anExceptionsOwnCodeIsNeverRunAndTheSpanStillEnds() throws Throwable {
    Object f = newFragile(false);
    RuntimeException thrown = assertThrows(RuntimeException.class, () -> call(f, "failLoudly", new Class<?>[] {String.class}, "x"));
    assertEquals("com.acme.fixtures.Fragile$Loud", thrown.getClass().getName());
    SpanData span = spans("Fragile.failLoudly").get(0);
    assertEquals(StatusCode.ERROR, span.getStatus().getStatusCode());
    assertEquals("com.acme.fixtures.Fragile$Loud", event(span, "exception.type"));
    assertNull(event(span, "exception.message"));
    assertTrue(event(span, "exception.stacktrace").startsWith("com.acme.fixtures.Fragile$Loud\n\tat "));
  }

  @Test
  void stackTracesKeepAtMostSixtyFourFrames() throws Throwable {
    Object f = newFragile(false);
    assertThrows(IllegalStateException.class, () -> call(f, "deep", new Class<?>[] {int.class}, 200));
    String stack = event(spans("Fragile.deep").get(200), "exception.stacktrace");
    assertEquals(64, stack.lines().filter(l -> l.startsWith("\tat ")).count(), stack);
    assertTrue(stack.lines().anyMatch(l -> l.matches("\t\\.\\.\\. \\d+ more")), stack);
  }

  @Test
  void aJdkWrapperAroundAnApplicationListRunsNoneOfItsCode() throws Throwable {
    Object f = newFragile(false);
    List<String> appList = Collections.unmodifiableList((List<String>) items.getConstructor().newInstance());
    call(f, "count", new Class<?>[] {List.class}, appList);
    Object returned = call(f, "wrapped", new Class<?>[0]);
    assertEquals(List.of(), spans("Items.size"), "rendering ran the application's size()");
    assertEquals(List.of(), spans("Items.get"), "rendering ran the application's get()");
    assertEquals("[UnmodifiableList]", spans("Fragile.count").get(0).getAttributes()
        .get(AttributeKey.stringKey("flowtrace.args.0")));
    assertEquals("[UnmodifiableList]", spans("Fragile.wrapped").get(0).getAttributes()
        .get(AttributeKey.stringKey("flowtrace.return")));
    assertEquals(3, ((List<?>) returned).size());
  }

}
