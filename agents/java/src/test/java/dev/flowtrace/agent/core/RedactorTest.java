package dev.flowtrace.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Masking is linear in the text: these 1 MB texts, built to make a backtracking pattern retry
 * at every position, finish within the test run (quadratic, each would take hours).
 */
class RedactorTest {
  private static final int MB = 1 << 20;

  private static String repeat(String unit) {
    return unit.repeat(MB / unit.length());
  }

  @Test
  void keyValueOnDashedWords() {
    String text = "k:" + repeat("a-");
    assertEquals(text, Redactor.maskText(text, ""));
  }

  @Test
  void keyValueOnRepeatedKeywords() {
    String text = repeat("token-") + "x";
    assertEquals(text, Redactor.maskText(text, ""));
    assertEquals("db_password=" + Redactor.MASK + " and more", Redactor.maskText("db_password=hunter2 and more", ""));
  }

  @Test
  void jwtOnDashedRuns() {
    String text = "x: " + repeat("eyJaa-");
    assertEquals(text, Redactor.maskText(text, ""));
  }

  @Test
  void numberRunsGluedToAWordAtTheEnd() {
    String text = "n: " + repeat("1 ") + "1x";
    assertEquals(text, Redactor.maskText(text, ""));
    assertEquals("n: 1-1-1x 2", Redactor.maskText("n: 1-1-1x 2", ""));
    assertEquals("pay " + Redactor.MASK + " 12x", Redactor.maskText("pay 4111 1111 1111 1111 12x", ""));
  }

  @Test
  void bearerAfterLongSpaceRuns() {
    String text = "Bearer" + repeat(" ") + "x";
    assertTrue(Redactor.maskText(text, "").endsWith("x"));
  }
}
