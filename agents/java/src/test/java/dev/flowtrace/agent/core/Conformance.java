package dev.flowtrace.agent.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** The shared cases in agents/conformance/, loaded where they live (tests run in agents/java). */
final class Conformance {
  private Conformance() {}

  static final Path DIR = Path.of("..", "conformance");

  static JsonNode load(String file) {
    try {
      return new ObjectMapper().readTree(DIR.resolve(file).toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
