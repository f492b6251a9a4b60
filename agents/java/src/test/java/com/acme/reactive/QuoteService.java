package com.acme.reactive;

import org.springframework.stereotype.Service;

/** The traced business method, run when the reactive pipeline is subscribed. */
@Service
public class QuoteService {
  public String price(String sku) {
    return sku.concat(" costs ").concat(String.valueOf(sku.length() * 100));
  }
}
