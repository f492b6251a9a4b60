package com.acme.web;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Service;

/** The traced business method: a secret-named parameter, and a log line (Logback, Spring Boot's default) inside the request. */
@Service
public class OrderService {
  private static final Logger LOG = LoggerFactory.getLogger(OrderService.class);

  public String describe(long orderId, String apiToken) {
    String status = orderId % 2 == 0 ? "shipped" : "open";
    LOG.info("order {} looked up with api_token={}", orderId, apiToken);
    return "order " + orderId + " " + status + (apiToken.isEmpty() ? "" : " (authorised)");
  }
}
