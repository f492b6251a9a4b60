package com.example.stock;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Units on hand per product, in memory: this example's stand-in for a database. */
final class StockLedger {

  private final Map<String, Integer> units = new ConcurrentHashMap<>(Map.of("apple", 40, "pear", 12, "coffee", 3));

  Integer onHand(String sku) {
    return units.get(sku);
  }
}
