package com.acme.web;

import org.springframework.stereotype.Service;

/** The traced business method: a secret-named parameter. */
@Service
public class OrderService {
  public String describe(long orderId, String apiToken) {
    String status = orderId % 2 == 0 ? "shipped" : "open";
    return "order " + orderId + " " + status + (apiToken.isEmpty() ? "" : " (authorised)");
  }
}
