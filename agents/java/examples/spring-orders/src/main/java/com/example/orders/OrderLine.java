package com.example.orders;

/** One line of an order: a product and how many of it. */
public record OrderLine(String sku, int qty) {}
