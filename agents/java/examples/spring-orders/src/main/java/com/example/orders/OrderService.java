package com.example.orders;

import org.springframework.stereotype.Service;

import java.util.List;
import java.util.Optional;

/** Places orders: checks the lines, prices them, keeps the card's last digits and stores the order. */
@Service
public class OrderService {

  private final PriceList prices;
  private final OrderRepository repository;

  public OrderService(PriceList prices, OrderRepository repository) {
    this.prices = prices;
    this.repository = repository;
  }

  public Order place(String customer, String cardNumber, List<OrderLine> items, String note) {
    if (items == null || items.isEmpty()) throw new IllegalArgumentException("an order needs at least one item");
    long total = prices.total(items);
    return repository.save(customer, items, total, last4(cardNumber), note == null ? "" : note);
  }

  public Optional<Order> find(long id) {
    return repository.findById(id);
  }

  private static String last4(String cardNumber) {
    String digits = cardNumber == null ? "" : cardNumber.replaceAll("\\D", "");
    if (digits.length() < 12) throw new IllegalArgumentException("not a card number");
    return digits.substring(digits.length() - 4);
  }
}
