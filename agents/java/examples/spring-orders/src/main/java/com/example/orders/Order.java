package com.example.orders;

import java.util.List;

/** A placed order. Only the card's last four digits are kept, for the receipt. */
public record Order(long id, String customer, List<OrderLine> items, long totalCents, String cardLast4, String note) {}
