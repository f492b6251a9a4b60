package com.example.stock;

/** What can be sold: what the ledger holds, minus a safety reserve. */
final class StockService {

  private static final int SAFETY_RESERVE = 2;

  private final StockLedger ledger;

  StockService(StockLedger ledger) {
    this.ledger = ledger;
  }

  Integer available(String sku) {
    Integer onHand = ledger.onHand(sku);
    return onHand == null ? null : Math.max(0, onHand - SAFETY_RESERVE);
  }
}
