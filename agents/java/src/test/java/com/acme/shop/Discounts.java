package com.acme.shop;

/** A default interface method, traced in the class that inherits it. */
public interface Discounts {
  default long discounted(long cents) {
    long off = cents / 10;
    return cents - off;
  }
}
