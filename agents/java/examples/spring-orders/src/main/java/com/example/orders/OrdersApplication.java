package com.example.orders;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.web.context.WebServerInitializedEvent;
import org.springframework.context.event.EventListener;

/** The orders service: POST /orders places an order. */
@SpringBootApplication
public class OrdersApplication {

  public static void main(String[] args) {
    SpringApplication.run(OrdersApplication.class, args);
  }

  /** One line with the bound port, so whoever started the service (a test, a script) can find it. */
  @EventListener
  public void announce(WebServerInitializedEvent event) {
    System.out.println("listening " + event.getWebServer().getPort());
  }
}
