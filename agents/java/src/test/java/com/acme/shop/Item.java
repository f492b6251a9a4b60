package com.acme.shop;

/** A line of an order. */
public record Item(String name, int quantity, long unitCents) {}
