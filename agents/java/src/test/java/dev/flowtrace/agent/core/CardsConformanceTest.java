package dev.flowtrace.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * agents/conformance/masking/cards.json, as its README says: strings through the text masking
 * under their key; ints as Java integers (long, or BigInteger past 2^63) captured in a map under
 * their key; random IDs from mulberry32 under the false-positive bounds.
 */
class CardsConformanceTest {
  private static final JsonNode CASES = Conformance.load("masking/cards.json");
  private static final String MASK = CASES.get("mask").asText();

  /** The agent's output for one value, with its mask written as the data file writes it. */
  static String mask(String key, String type, String value) {
    if (type.equals("string")) return Redactor.maskText(value, key).replace(Redactor.MASK, MASK);
    BigInteger big = new BigInteger(value);
    Object number = big.bitLength() < 64 ? (Object) big.longValueExact() : big;
    String out = ValueRenderer.render(Map.of(key, number), 256, "");
    String prefix = "Map(1) {" + ValueRenderer.quote(key) + " => ";
    assertTrue(out.startsWith(prefix), out);
    String shown = out.substring(prefix.length(), out.length() - 1);
    if (shown.equals(value)) return value;
    assertEquals(ValueRenderer.quote(Redactor.MASK), shown);
    assertEquals(Redactor.MASK, Redactor.maskInteger(value, key));
    return MASK;
  }

  private static Stream<JsonNode> items(String field) {
    return StreamSupport.stream(CASES.get(field).spliterator(), false);
  }

  private static String label(JsonNode c) {
    String key = c.get("key").asText();
    return (key.isEmpty() ? "(text)" : key) + " " + c.get("type").asText() + " " + c.get("value").asText();
  }

  @TestFactory
  Stream<DynamicTest> positives() {
    return items("positives").map(c -> DynamicTest.dynamicTest("masks " + label(c), () -> assertEquals(
        c.get("expected").asText(), mask(c.get("key").asText(), c.get("type").asText(), c.get("value").asText()))));
  }

  @TestFactory
  Stream<DynamicTest> negatives() {
    return items("negatives").map(c -> DynamicTest.dynamicTest("keeps " + label(c), () -> assertEquals(
        c.get("expected").asText(), mask(c.get("key").asText(), c.get("type").asText(), c.get("value").asText()))));
  }

  /** mulberry32, as agents/conformance/README.md describes it. */
  static final class Mulberry32 {
    private int a;

    Mulberry32(long seed) {
      this.a = (int) seed;
    }

    double next() {
      a += 0x6D2B79F5;
      int t = a;
      t = (t ^ (t >>> 15)) * (t | 1);
      t ^= t + (t ^ (t >>> 7)) * (t | 61);
      return Integer.toUnsignedLong(t ^ (t >>> 14)) / 4294967296.0;
    }
  }

  static List<String> randomIds(JsonNode shape, int count) {
    Mulberry32 r = new Mulberry32(shape.get("seed").asLong());
    String generator = shape.get("generator").asText();
    List<String> ids = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      if (generator.equals("uint64")) {
        BigInteger hi = BigInteger.valueOf((long) Math.floor(r.next() * 4294967296.0));
        BigInteger lo = BigInteger.valueOf((long) Math.floor(r.next() * 4294967296.0));
        ids.add(hi.shiftLeft(32).or(lo).toString());
      } else {
        int n = generator.equals("digits19") ? 19 : 16;
        StringBuilder s = new StringBuilder().append(1 + (int) Math.floor(r.next() * 9));
        for (int k = 1; k < n; k++) s.append((int) Math.floor(r.next() * 10));
        ids.add(s.toString());
      }
    }
    return ids;
  }

  @TestFactory
  Stream<DynamicTest> randomShapes() {
    int count = CASES.get("count_per_random_shape").asInt();
    return items("random").map(shape -> DynamicTest.dynamicTest("random " + shape.get("shape").asText(), () -> {
      List<String> ids = randomIds(shape, count);
      for (int i = 0; i < 3; i++) assertEquals(shape.get("first").get(i).asText(), ids.get(i));
      String key = shape.get("key").asText();
      String type = shape.get("type").asText();
      String template = shape.has("template") ? shape.get("template").asText() : null;
      int changed = 0;
      for (String id : ids) {
        String value = template == null ? id : template.replace("{ID}", id);
        if (!mask(key, type, value).equals(value)) changed++;
      }
      double rate = changed / (double) count;
      assertTrue(rate <= shape.get("max_rate").asDouble(), shape.get("shape").asText() + ": " + rate);
    }));
  }
}
