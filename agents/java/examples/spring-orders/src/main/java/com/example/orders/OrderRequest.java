package com.example.orders;

import java.util.List;

/** The body of POST /orders. */
public record OrderRequest(String customer, String cardNumber, List<OrderLine> items, String note) {}
