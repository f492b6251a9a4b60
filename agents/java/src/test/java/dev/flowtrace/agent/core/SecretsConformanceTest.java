package dev.flowtrace.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** agents/conformance/masking/secrets.json and rendering/strings.json. */
class SecretsConformanceTest {
  private static final JsonNode SECRETS = Conformance.load("masking/secrets.json");
  private static final JsonNode STRINGS = Conformance.load("rendering/strings.json");

  private static Stream<JsonNode> items(JsonNode root, String field) {
    return StreamSupport.stream(root.get(field).spliterator(), false);
  }

  @TestFactory
  Stream<DynamicTest> secretKeys() {
    return items(SECRETS, "secret_keys").map(k -> DynamicTest.dynamicTest("secret " + k.asText(),
        () -> assertTrue(Redactor.isSecretKey(k.asText()))));
  }

  @TestFactory
  Stream<DynamicTest> plainKeys() {
    return items(SECRETS, "plain_keys").map(k -> DynamicTest.dynamicTest("plain " + k.asText(),
        () -> assertFalse(Redactor.isSecretKey(k.asText()))));
  }

  @TestFactory
  Stream<DynamicTest> text() {
    String mask = SECRETS.get("mask").asText();
    return items(SECRETS, "text").map(c -> DynamicTest.dynamicTest(c.get("value").asText(), () -> assertEquals(
        c.get("expected").asText(),
        Redactor.maskText(c.get("value").asText(), c.get("key").asText()).replace(Redactor.MASK, mask))));
  }

  @TestFactory
  Stream<DynamicTest> renderedStrings() {
    String mask = STRINGS.get("mask").asText();
    assertEquals(STRINGS.get("ellipsis").asText(), ValueRenderer.ELLIPSIS);
    return items(STRINGS, "strings").map(c -> DynamicTest.dynamicTest(c.get("value").asText() + " / " + c.get("max_bytes"),
        () -> assertEquals(c.get("expected").asText(),
            ValueRenderer.render(c.get("value").asText(), c.get("max_bytes").asInt(), "").replace(Redactor.MASK, mask))));
  }
}
