package com.example.orders;

import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

import java.util.Map;

/** GET /healthz, as every service of the compose demo answers it (its container healthcheck). */
@RestController
public class HealthController {

  private static final Map<String, String> OK = Map.of("status", "ok", "service", "orders");

  @GetMapping("/healthz")
  public Map<String, String> healthz() {
    return OK; // a constant: a trivial method, so health checks add no method span
  }
}
