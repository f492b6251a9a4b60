package com.acme.shop;

import java.util.ArrayList;
import java.util.List;

/** A generic class with a synchronized method. */
public final class Repository<T> {
  private final List<T> saved = new ArrayList<>();

  public synchronized T save(T value) {
    saved.add(value);
    return value;
  }
}
