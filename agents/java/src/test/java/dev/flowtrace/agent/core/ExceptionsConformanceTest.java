package dev.flowtrace.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** agents/conformance/rendering/exceptions.json: the exception event's message and stack trace. */
class ExceptionsConformanceTest {
  private static final JsonNode CASES = Conformance.load("rendering/exceptions.json");

  @TestFactory
  Stream<DynamicTest> messages() {
    String mask = CASES.get("mask").asText();
    return StreamSupport.stream(CASES.get("messages").spliterator(), false).map(c -> DynamicTest.dynamicTest(
        c.get("message").asText(), () -> {
          IllegalStateException e = new IllegalStateException(c.get("message").asText());
          int max = c.get("max_bytes").asInt();
          String expected = c.get("expected").asText();
          assertEquals(expected, ExceptionEvent.message(e, max).replace(Redactor.MASK, mask));
          String first = ExceptionEvent.stackTrace(e, max).lines().findFirst().orElseThrow();
          assertEquals("java.lang.IllegalStateException: " + expected, first.replace(Redactor.MASK, mask));
        }));
  }

  @Test
  void framesAreCapped() {
    assertEquals(CASES.get("max_frames").asInt(), ExceptionEvent.MAX_FRAMES);
    IllegalStateException e = new IllegalStateException("deep");
    StackTraceElement frame = new StackTraceElement("a.B", "c", "B.java", 1);
    StackTraceElement[] frames = new StackTraceElement[500];
    java.util.Arrays.fill(frames, frame);
    e.setStackTrace(frames);
    String stack = ExceptionEvent.stackTrace(e, 512);
    assertEquals(ExceptionEvent.MAX_FRAMES, stack.lines().filter(l -> l.startsWith("\tat ")).count());
    assertTrue(stack.contains("\t... 436 more"), stack);
  }
}
