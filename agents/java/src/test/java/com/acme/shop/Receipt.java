package com.acme.shop;

/** What a checkout returns. */
public record Receipt(long orderId, long total) {}
