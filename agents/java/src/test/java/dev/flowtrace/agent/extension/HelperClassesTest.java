package dev.flowtrace.agent.extension;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class HelperClassesTest {
  @Test
  void everyCoreClassIsInjected() throws IOException {
    Path core = Path.of("target", "classes", "dev", "flowtrace", "agent", "core");
    List<String> compiled;
    try (Stream<Path> files = Files.list(core)) {
      compiled = files.map(p -> p.getFileName().toString())
          .filter(n -> n.endsWith(".class"))
          .map(n -> "dev.flowtrace.agent.core." + n.substring(0, n.length() - ".class".length()))
          .sorted()
          .collect(Collectors.toList());
    }
    assertEquals(compiled, HelperClasses.NAMES.stream().sorted().collect(Collectors.toList()));
  }
}
