package dev.flowtrace.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainClassTest {
  @TempDir Path dir;

  private static String detect(String command) {
    Properties p = new Properties();
    if (command != null) p.setProperty("sun.java.command", command);
    return MainClass.detect(p);
  }

  private Path jar(String name, String... attributes) throws IOException {
    Manifest m = new Manifest();
    m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    for (int i = 0; i < attributes.length; i += 2) m.getMainAttributes().putValue(attributes[i], attributes[i + 1]);
    Path jar = dir.resolve(name);
    try (OutputStream out = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(out, m)) {
      j.flush();
    }
    return jar;
  }

  @Test
  void aClassOnTheCommandLine() {
    assertEquals("com.acme.shop.Main", detect("com.acme.shop.Main --port 8080"));
    assertEquals("com.acme.shop.Main", detect("shop.module/com.acme.shop.Main"));
    assertNull(detect(null));
    assertNull(detect(""));
  }

  @Test
  void theMainClassOfAJar() throws IOException {
    assertEquals("com.acme.shop.Main", detect(jar("shop.jar", "Main-Class", "com.acme.shop.Main") + " arg"));
    assertNull(detect(jar("lib.jar").toString()));
    assertNull(detect(dir.resolve("missing.jar").toString()));
  }

  @Test
  void theStartClassOfASpringBootJar() throws IOException {
    assertEquals("com.acme.shop.ShopApplication", detect(jar("boot.jar",
        "Main-Class", "org.springframework.boot.loader.launch.JarLauncher",
        "Start-Class", "com.acme.shop.ShopApplication").toString()));
    assertEquals("com.acme.shop.ShopApplication", detect(jar("boot2.jar",
        "Main-Class", "org.springframework.boot.loader.JarLauncher",
        "Start-Class", "com.acme.shop.ShopApplication").toString()));
  }
}
