package com.acme.shop;

import java.util.concurrent.CompletableFuture;

/** The traced business code: overloads, lambdas, recursion, a caught exception, an async step. */
public final class CheckoutService implements Discounts {
  private final Repository<Receipt> receipts;

  public CheckoutService(Repository<Receipt> receipts) {
    this.receipts = receipts;
  }

  public Receipt checkout(Order order, String password, String cardNumber) {
    long subtotal = order.items().stream().mapToLong(item -> price(item.quantity(), item.unitCents())).sum();
    long total = discounted(subtotal) + price(factorial(3));
    try {
      validate(order);
    } catch (IllegalArgumentException expected) {
      total += 0;
    }
    long finalTotal = total;
    CompletableFuture.supplyAsync(() -> audit(order.getId(), finalTotal)).join();
    return receipts.save(new Receipt(order.getId(), total));
  }

  long price(int quantity, long unitCents) {
    long cents = quantity * unitCents;
    return cents;
  }

  long price(long flat) {
    long cents = flat * 100;
    return cents;
  }

  long factorial(long n) {
    if (n <= 1) return 1;
    return n * factorial(n - 1);
  }

  void validate(Order order) {
    if (order.getId() > 0) throw new IllegalArgumentException("order " + order.getId() + " needs review");
  }

  String audit(long orderId, long total) {
    String line = "order " + orderId + " total " + total;
    return line;
  }

  public void refund(long cents) {
    checkRefund(cents);
  }

  private void checkRefund(long cents) {
    if (cents < 0) throw new IllegalStateException("negative refund " + cents);
  }
}
