package com.acme.shop;

import java.util.List;

/** An order, shown by its fields: its card number is masked. */
public final class Order {
  private final long id;
  private final List<Item> items;
  private final String note;
  private Order parent = this; // a cycle, rendered as [Circular]

  public Order(long id, List<Item> items, String note) {
    this.id = id;
    this.items = items;
    this.note = note;
  }

  public long getId() {
    return id;
  }

  public List<Item> items() {
    return items;
  }

  @Override
  public String toString() {
    throw new AssertionError("the agent must not call toString() on application objects");
  }
}
