package dev.flowtrace.agent.it;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A test application in its own JVM, optionally under the agent: the shop (com.acme.shop.ShopApp)
 * or the Spring MVC application (com.acme.web.WebApp). Stopped through its process handle.
 */
final class AppProcess implements AutoCloseable {
  private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  private final Process process;
  private final CompletableFuture<Integer> port = new CompletableFuture<>();
  private final List<String> stderr = new ArrayList<>();
  private final List<String> stdout = new ArrayList<>();

  // The shop prints `listening <port>`; Spring Boot logs `Tomcat started on port <port>`.
  private static final Pattern PORT = Pattern.compile("^listening (\\d+)|Tomcat started on port\\D*(\\d+)");

  /** The shop, on the test classes alone. */
  AppProcess(String agentJar, Map<String, String> env) throws IOException {
    this(agentJar, env, System.getProperty("flowtrace.test.appClasses"), List.of("com.acme.shop.ShopApp"));
  }

  AppProcess(String agentJar, Map<String, String> env, String classPath, List<String> mainAndArgs) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    if (agentJar != null) command.add("-javaagent:" + agentJar);
    command.addAll(List.of("-cp", classPath));
    command.addAll(mainAndArgs);
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().keySet().removeIf(k -> k.startsWith("OTEL_") || k.startsWith("FLOWTRACE_") || k.equals("JAVA_TOOL_OPTIONS"));
    pb.environment().putAll(env);
    process = pb.start();
    Thread out = new Thread(() -> read(new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)), true));
    Thread err = new Thread(() -> read(new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8)), false));
    out.setDaemon(true);
    err.setDaemon(true);
    out.start();
    err.start();
  }

  private void read(BufferedReader reader, boolean stdout) {
    try {
      for (String line; (line = reader.readLine()) != null; ) {
        Matcher m = PORT.matcher(line);
        if (m.find()) port.complete(Integer.parseInt(m.group(1) != null ? m.group(1) : m.group(2)));
        List<String> lines = stdout ? this.stdout : stderr;
        synchronized (lines) {
          lines.add(line);
        }
      }
    } catch (IOException e) {
      // the process ended
    } finally {
      if (stdout) port.completeExceptionally(new IllegalStateException("the application exited: " + stderr()));
    }
  }

  /**
   * Waits (bounded) until the application listens. A Spring Boot start under the agent took 40 s
   * on this 2-core machine at a load average of 3 and 70–165 s at 26: the bound is for a hang.
   */
  AppProcess started() throws Exception {
    port.get(240, TimeUnit.SECONDS);
    return this;
  }

  HttpResponse<String> get(String path, Map<String, String> headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port.get() + path)).timeout(Duration.ofSeconds(30));
    headers.forEach(b::header);
    return CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Asks the application to exit (the agent flushes its spans on the way out) and waits, bounded. */
  void quit() throws Exception {
    try {
      get("/quit", Map.of());
    } catch (IOException e) {
      // the application may close the connection as it exits
    }
    if (!process.waitFor(60, TimeUnit.SECONDS)) throw new IllegalStateException("the application did not exit");
  }

  /** Ends the application with SIGTERM (its shutdown hooks, the agent's flush among them, run) and waits, bounded. */
  void terminate() throws Exception {
    process.destroy();
    if (!process.waitFor(60, TimeUnit.SECONDS)) throw new IllegalStateException("the application did not exit");
  }

  /** The application's standard output so far (its console log). */
  String stdout() {
    synchronized (stdout) {
      return String.join("\n", stdout);
    }
  }

  String stderr() {
    synchronized (stderr) {
      return String.join("\n", stderr);
    }
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroyForcibly();
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
