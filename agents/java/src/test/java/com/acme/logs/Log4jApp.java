package com.acme.logs;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.logging.log4j.core.config.builder.api.ConfigurationBuilder;
import org.apache.logging.log4j.core.config.builder.api.ConfigurationBuilderFactory;
import org.apache.logging.log4j.core.config.builder.impl.BuiltConfiguration;

/**
 * A JDK HTTP server logging through Log4j2 (log4j-core), its console pattern naming the context
 * data fields; run under the agent by LogCorrelationIT. Prints {@code listening <port>}.
 */
public final class Log4jApp {
  private Log4jApp() {}

  public static void main(String[] args) throws IOException {
    ConfigurationBuilder<BuiltConfiguration> config = ConfigurationBuilderFactory.newConfigurationBuilder();
    config.add(config.newAppender("out", "Console").add(config.newLayout("PatternLayout")
        .addAttribute("pattern", "LOG|%X{trace_id}|%X{span_id}|%X{flowtrace.correlation_id}|%m%n")));
    config.add(config.newRootLogger(Level.INFO).add(config.newAppenderRef("out")));
    Configurator.initialize(config.build());
    Logger log = LogManager.getLogger(Log4jApp.class);

    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/stock", exchange -> {
      log.info("stock of apple checked");
      reply(exchange, "12");
    });
    server.createContext("/quit", exchange -> {
      reply(exchange, "bye");
      server.stop(0);
      System.exit(0);
    });
    server.start();
    log.info("started outside any request");
    System.out.println("listening " + server.getAddress().getPort());
  }

  private static void reply(HttpExchange exchange, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.sendResponseHeaders(200, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }
}
