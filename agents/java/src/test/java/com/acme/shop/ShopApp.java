package com.acme.shop;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A small shop on the JDK's own HTTP server, run under the agent by the integration test:
 * {@code /checkout} calls the traced code and, through the JDK HttpClient, {@code /inventory} on
 * the same server; {@code /virtual} runs a method on a virtual thread (Java 21+); {@code /fail}
 * answers with the stack trace of an exception thrown by traced methods.
 */
public final class ShopApp {
  private static final HttpClient CLIENT = HttpClient.newHttpClient();
  private static int port;

  public static void main(String[] args) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/checkout", ShopApp::checkout);
    server.createContext("/inventory", ShopApp::inventory);
    server.createContext("/virtual", ShopApp::virtual);
    server.createContext("/fail", ShopApp::fail);
    server.createContext("/quit", exchange -> {
      respond(exchange, 200, "bye");
      server.stop(0);
      System.exit(0);
    });
    server.setExecutor(Executors.newFixedThreadPool(4));
    server.start();
    port = server.getAddress().getPort();
    System.out.println("listening " + port);
    System.out.flush();
  }

  private static void checkout(HttpExchange exchange) throws IOException {
    try {
      CheckoutService service = new CheckoutService(new Repository<>());
      Order order = new Order(7, List.of(new Item("book", 2, 1250), new Item("pen", 3, 150)), "4111 1111 1111 1111");
      Receipt receipt = service.checkout(order, "hunter2", "4111111111111111");
      String downstream = callInventory();
      respond(exchange, 200, receipt.total() + " " + downstream);
    } catch (Exception e) {
      respond(exchange, 500, e.toString());
    }
  }

  private static String callInventory() throws IOException, InterruptedException {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/inventory")).build();
    return CLIENT.send(request, HttpResponse.BodyHandlers.ofString()).body();
  }

  private static void inventory(HttpExchange exchange) throws IOException {
    String requestId = exchange.getRequestHeaders().getFirst("x-request-id");
    String baggage = exchange.getRequestHeaders().getFirst("baggage");
    int left = Inventory.stockOf("book");
    respond(exchange, 200, "x-request-id=" + requestId + ";baggage=" + baggage + ";left=" + left);
  }

  private static void virtual(HttpExchange exchange) throws IOException {
    try {
      ExecutorService executor = (ExecutorService) Executors.class.getMethod("newVirtualThreadPerTaskExecutor").invoke(null);
      try {
        int stock = executor.submit(() -> Inventory.stockOf("pen")).get();
        respond(exchange, 200, "virtual " + stock);
      } finally {
        executor.shutdown();
      }
    } catch (ReflectiveOperationException | InterruptedException | java.util.concurrent.ExecutionException e) {
      respond(exchange, 500, e.toString());
    }
  }

  private static void fail(HttpExchange exchange) throws IOException {
    try {
      new CheckoutService(new Repository<>()).refund(-1);
      respond(exchange, 200, "no exception");
    } catch (IllegalStateException e) {
      StringWriter trace = new StringWriter();
      e.printStackTrace(new PrintWriter(trace));
      respond(exchange, 500, trace.toString());
    }
  }

  private static void respond(HttpExchange exchange, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }
}
