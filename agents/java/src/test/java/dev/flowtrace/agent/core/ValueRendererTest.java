package dev.flowtrace.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class ValueRendererTest {
  private static String render(Object v) {
    return ValueRenderer.render(v, 512, "");
  }

  record Point(int x, int y) {}

  enum Color { RED }

  static class Account {
    String owner = "ann";
    String password = "hunter2";
    String cardNumber = "4111111111111111";
    long orderId = 4111111111111111L;
    Account self = this;
    transient int calls;

    @Override
    public String toString() {
      throw new AssertionError("toString() must not run");
    }

    public String getOwner() {
      throw new AssertionError("getters must not run");
    }
  }

  static class Node {
    Node next;
    int value;
  }

  static class Sneaky extends ArrayList<String> {
    @Override
    public java.util.Iterator<String> iterator() {
      throw new AssertionError("an application collection's iterator() must not run");
    }
  }

  @Test
  void scalars() {
    assertEquals("null", render(null));
    assertEquals("\"text\"", render("text"));
    assertEquals("42", render(42));
    assertEquals("-7", render(-7L));
    assertEquals("1.5", render(1.5));
    assertEquals("true", render(true));
    assertEquals("\"c\"", render('c'));
    assertEquals("Color.RED", render(Color.RED));
    assertEquals("12.50", render(new BigDecimal("12.50")));
    assertEquals("2024-02-29", render(LocalDate.of(2024, 2, 29)));
    assertEquals("00000000-0000-0000-0000-000000000001", render(new UUID(0, 1)));
    assertEquals("class java.lang.String", render(String.class));
    assertEquals("byte[3]", render(new byte[3]));
  }

  @Test
  void recordsAndObjectsByTheirFieldsWithoutRunningTheirCode() {
    assertEquals("Point {\"x\": 1, \"y\": 2}", render(new Point(1, 2)));
    String account = render(new Account());
    assertEquals("Account {\"owner\": \"ann\", \"password\": \"[REDACTED]\", \"cardNumber\": \"[REDACTED]\","
        + " \"orderId\": 4111111111111111, \"self\": [Circular], \"calls\": 0}", account);
    assertEquals("[Sneaky]", render(new Sneaky()));
  }

  @Test
  void collectionsMapsArraysAndOptionals() {
    assertEquals("[1, 2, 3]", render(List.of(1, 2, 3)));
    assertEquals("[1, 2]", render(new int[] {1, 2}));
    assertEquals("[\"a\", null]", render(new String[] {"a", null}));
    assertEquals("Set(2) [\"a\", \"b\"]", render(new LinkedHashSet<>(List.of("a", "b"))));
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("user", "ann");
    m.put("apiKey", "k-123");
    m.put("card", 4111111111111111L);
    assertEquals("Map(3) {\"user\" => \"ann\", \"apiKey\" => \"[REDACTED]\", \"card\" => \"[REDACTED]\"}", render(m));
    assertEquals("Optional[\"x\"]", render(Optional.of("x")));
    assertEquals("Optional.empty", render(Optional.empty()));
    assertEquals("[Thread]", render(new Thread(() -> {})));
  }

  @Test
  void depthAndCycles() {
    Node a = new Node();
    a.next = new Node();
    a.next.next = new Node();
    a.next.next.next = new Node();
    assertEquals("Node {\"next\": Node {\"next\": Node {\"next\": [Node], \"value\": 0}, \"value\": 0}, \"value\": 0}", render(a));
    List<Object> list = new ArrayList<>();
    list.add(list);
    assertEquals("[[Circular]]", render(list));
  }

  @Test
  void cappedInUtf8BytesWithoutWalkingTheRest() {
    List<Integer> big = IntStream.range(0, 1_000_000).boxed().collect(java.util.stream.Collectors.toList());
    String out = ValueRenderer.render(big, 64, "");
    assertTrue(out.endsWith("…"), out);
    assertTrue(out.getBytes(StandardCharsets.UTF_8).length <= 64, out);
    String emoji = ValueRenderer.render("😀".repeat(100), 33, "");
    assertTrue(emoji.getBytes(StandardCharsets.UTF_8).length <= 33);
    assertFalse(new String(emoji.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8).contains("\uFFFD"));
  }

  @Test
  void aCardStraddlingTheCutIsStillMasked() {
    String out = ValueRenderer.render("x".repeat(20) + " 4111111111111111", 30, "");
    assertFalse(out.contains("4111"), out);
  }

  @Test
  void throwablesShowTypeAndMaskedMessage() {
    assertEquals("java.lang.IllegalStateException: password=[REDACTED]", render(new IllegalStateException("password=hunter2")));
  }

  enum Key { USER, PASSWORD }

  /** A map of the application's (or a library's, as Guava's ImmutableMap): shown by type, never by its fields. */
  static class Pairs extends java.util.AbstractMap<String, String> {
    final String[] keys = {"password"};
    final String[] values = {"hunter2"};

    @Override
    public java.util.Set<Map.Entry<String, String>> entrySet() {
      throw new AssertionError("an application map's entrySet() must not run");
    }
  }

  @Test
  void mapKeysThatAreNotStringsStillNameTheirValues() {
    java.util.EnumMap<Key, String> byEnum = new java.util.EnumMap<>(Key.class);
    byEnum.put(Key.USER, "ann");
    byEnum.put(Key.PASSWORD, "hunter2");
    assertEquals("Map(2) {Key.USER => \"ann\", Key.PASSWORD => \"[REDACTED]\"}", render(byEnum));
    Map<Object, Object> other = new LinkedHashMap<>();
    other.put(new StringBuilder("api_key"), "k-123");
    other.put('p', "x");
    other.put(new StringBuilder("card"), 4111111111111111L);
    String out = render(other);
    assertFalse(out.contains("k-123") || out.contains("4111"), out);
  }

  @Test
  void mapsAndCollectionsThatAreNotTheJdksAreShownByType() {
    assertEquals("[Pairs]", render(new Pairs()));
    assertEquals("[UnmodifiableMap]", render(java.util.Collections.unmodifiableMap(new Pairs())));
    Map<String, String> jdk = new LinkedHashMap<>(Map.of("password", "hunter2"));
    // Views hold their map elsewhere: shown by type unless the JVM lets the agent see inside.
    String keys = render(jdk.keySet());
    assertTrue(keys.equals("[LinkedKeySet]") || keys.equals("Set(1) [\"password\"]"), keys);
  }

  @Test
  void jdkNumbersUnderACardNameAreCheckedLikeLongs() {
    for (Object n : new Object[] {new BigDecimal("4111111111111111"), new java.math.BigInteger("4111111111111111"),
        new java.util.concurrent.atomic.AtomicLong(4111111111111111L), 4111111111111111.0}) {
      assertEquals("\"[REDACTED]\"", ValueRenderer.render(n, 512, "cardNumber"), n.getClass().getName());
      assertEquals(n.toString(), ValueRenderer.render(n, 512, "orderId"));
    }
    assertEquals("12.50", ValueRenderer.render(new BigDecimal("12.50"), 512, "card"));
  }

  @Test
  void longTextsAreMaskedOnTheirWindowOnly() {
    StringBuilder huge = new StringBuilder(20_000_000);
    huge.append("password=hunter2 ");
    for (int i = 0; i < 20_000_000 - 17; i++) huge.append('a');
    String out = ValueRenderer.render(huge, 64, "");
    assertTrue(out.startsWith("password=[REDACTED] aaa") && out.endsWith("…"), out);
    assertTrue(out.getBytes(StandardCharsets.UTF_8).length <= 64, out);
    String message = "k:" + "a-".repeat(500_000);
    String thrown = ValueRenderer.render(new IllegalStateException(message), 64, "");
    assertTrue(thrown.startsWith("java.lang.IllegalStateException: k:a-a-") && thrown.endsWith("…"), thrown);
  }

  @Test
  void masksThatShortenTheTextUncoverNothingPastTheCap() {
    String jwt = "eyJhbGciOiJIUzI1NiJ9." + "eyJ" + "a".repeat(355) + "." + "S".repeat(43);
    String out = ValueRenderer.render("t " + jwt + " " + "x".repeat(122) + "4111111111111111 end", 512, "");
    assertFalse(out.contains("4111"), out);
    assertTrue(out.endsWith("x…"), out);
  }
}
