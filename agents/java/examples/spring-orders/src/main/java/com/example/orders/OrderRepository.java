package com.example.orders;

import org.springframework.stereotype.Repository;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/** Orders in memory: this example's stand-in for a database table. */
@Repository
public class OrderRepository {

  private final AtomicLong nextId = new AtomicLong(1000);
  private final Map<Long, Order> byId = new ConcurrentHashMap<>();

  public Order save(String customer, List<OrderLine> items, long totalCents, String cardLast4, String note) {
    Order order = new Order(nextId.getAndIncrement(), customer, List.copyOf(items), totalCents, cardLast4, note);
    byId.put(order.id(), order);
    return order;
  }

  public Optional<Order> findById(long id) {
    return Optional.ofNullable(byId.get(id));
  }
}
