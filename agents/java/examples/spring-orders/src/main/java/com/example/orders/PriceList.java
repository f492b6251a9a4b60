package com.example.orders;

import org.springframework.stereotype.Component;

import java.util.List;
import java.util.Map;

/** Unit prices in cents (the compose demo's catalog). */
@Component
public class PriceList {

  private static final Map<String, Long> CENTS =
      Map.of("apple", 50L, "banana", 25L, "coffee", 899L, "tea", 450L, "chocolate", 275L, "cheese", 1250L);

  public long total(List<OrderLine> items) {
    long sum = 0;
    for (OrderLine line : items) sum += priceOf(line.sku()) * line.qty();
    return sum;
  }

  long priceOf(String sku) {
    Long cents = CENTS.get(sku);
    if (cents == null) throw new IllegalArgumentException("unknown product " + sku);
    return cents;
  }
}
