package com.example.stock;

import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.Executors;

/** GET /stock/{sku} on the JDK's HTTP server. HOST and PORT from the environment; prints `listening PORT`. */
public final class StockServer {

  private StockServer() {}

  public static void main(String[] args) throws IOException {
    String host = System.getenv().getOrDefault("HOST", "0.0.0.0");
    int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8080"));
    HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 0);
    server.createContext("/stock/", new StockHandler(new StockService(new StockLedger())));
    server.setExecutor(Executors.newFixedThreadPool(4));
    server.start();
    System.out.println("listening " + server.getAddress().getPort());
  }
}
