package com.acme.reactive;

import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import reactor.core.publisher.Mono;

/** One reactive endpoint, calling the service. */
@RestController
public class QuoteController {
  private final QuoteService quotes;

  public QuoteController(QuoteService quotes) {
    this.quotes = quotes;
  }

  @GetMapping("/quotes/{sku}")
  public Mono<String> quote(@PathVariable("sku") String sku) {
    return Mono.fromSupplier(() -> quotes.price(sku));
  }
}
