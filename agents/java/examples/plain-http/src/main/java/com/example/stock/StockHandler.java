package com.example.stock;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** Answers GET /stock/{sku} with {"sku": …, "available": …}, 404 for an unknown product. */
final class StockHandler implements HttpHandler {

  private final StockService stock;

  StockHandler(StockService stock) {
    this.stock = stock;
  }

  @Override
  public void handle(HttpExchange exchange) throws IOException {
    String sku = exchange.getRequestURI().getPath().substring("/stock/".length());
    if (!"GET".equals(exchange.getRequestMethod())) {
      respond(exchange, 405, "{\"error\": \"method not allowed\"}");
      return;
    }
    Integer available = stock.available(sku);
    if (available == null) respond(exchange, 404, "{\"error\": \"unknown product\"}");
    else respond(exchange, 200, "{\"sku\": \"" + sku + "\", \"available\": " + available + "}");
  }

  private static void respond(HttpExchange exchange, int status, String json) throws IOException {
    byte[] body = json.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("content-type", "application/json");
    exchange.sendResponseHeaders(status, body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }
}
