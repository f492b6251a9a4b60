package dev.flowtrace.agent.core;

import java.io.File;
import java.io.IOException;
import java.util.Properties;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

/**
 * The application's main class, read from the command line the JVM was started with
 * ({@code sun.java.command}): the class itself, or the {@code Main-Class} of the jar run with
 * {@code -jar} — for a Spring Boot jar, whose Main-Class is Boot's launcher, its {@code Start-Class}.
 */
public final class MainClass {
  private MainClass() {}

  /** The main class's binary name, or null when it cannot be told. */
  public static String detect(Properties props) {
    String command = props.getProperty("sun.java.command", "").trim();
    if (command.isEmpty()) return null;
    String first = command.split("\\s+", 2)[0];
    if (first.endsWith(".jar") || first.endsWith(".war")) return fromJar(new File(first));
    // `java -m module/com.acme.Main`
    int slash = first.indexOf('/');
    return slash >= 0 ? first.substring(slash + 1) : first;
  }

  static String fromJar(File jar) {
    try (JarFile file = new JarFile(jar)) {
      Manifest manifest = file.getManifest();
      if (manifest == null) return null;
      Attributes main = manifest.getMainAttributes();
      String start = main.getValue("Start-Class");
      String mainClass = main.getValue("Main-Class");
      if (start != null && (mainClass == null || mainClass.startsWith("org.springframework.boot.loader."))) {
        return start.trim();
      }
      return mainClass == null ? null : mainClass.trim();
    } catch (IOException | SecurityException e) {
      return null;
    }
  }
}
