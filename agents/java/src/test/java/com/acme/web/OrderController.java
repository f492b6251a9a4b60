package com.acme.web;

import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RestController;

/** One endpoint, calling the service. */
@RestController
public class OrderController {
  private final OrderService orders;

  public OrderController(OrderService orders) {
    this.orders = orders;
  }

  @GetMapping("/orders/{id}")
  public String order(@PathVariable("id") long id, @RequestHeader(value = "x-api-token", defaultValue = "") String apiToken) {
    return orders.describe(id, apiToken);
  }
}
