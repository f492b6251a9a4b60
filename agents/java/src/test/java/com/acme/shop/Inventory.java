package com.acme.shop;

/** Static methods. */
public final class Inventory {
  private Inventory() {}

  public static int stockOf(String name) {
    int base = name.length() * 10;
    return base + 2;
  }
}
