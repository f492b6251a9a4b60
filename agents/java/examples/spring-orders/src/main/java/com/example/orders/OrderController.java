package com.example.orders;

import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

import java.util.Map;

@RestController
public class OrderController {

  private final OrderService orders;

  public OrderController(OrderService orders) {
    this.orders = orders;
  }

  @PostMapping("/orders")
  public ResponseEntity<Order> create(@RequestBody OrderRequest request) {
    Order order = orders.place(request.customer(), request.cardNumber(), request.items(), request.note());
    return ResponseEntity.status(HttpStatus.CREATED).body(order);
  }

  @GetMapping("/orders/{id}")
  public ResponseEntity<Order> get(@PathVariable long id) {
    return orders.find(id).map(ResponseEntity::ok).orElseGet(() -> ResponseEntity.notFound().build());
  }

  @ExceptionHandler(IllegalArgumentException.class)
  public ResponseEntity<Map<String, String>> rejected(IllegalArgumentException e) {
    return ResponseEntity.unprocessableEntity().body(Map.of("error", e.getMessage()));
  }
}
