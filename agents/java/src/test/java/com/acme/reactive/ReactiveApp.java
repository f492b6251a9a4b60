package com.acme.reactive;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/** A Spring WebFlux application (Reactor Netty, reactive path), run under the agent by the integration test. */
@SpringBootApplication
public class ReactiveApp {
  public static void main(String[] args) {
    SpringApplication app = new SpringApplication(ReactiveApp.class);
    // Spring MVC is on the test class path too: this one is reactive.
    app.setWebApplicationType(WebApplicationType.REACTIVE);
    app.run(args);
  }
}
