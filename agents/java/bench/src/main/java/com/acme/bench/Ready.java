package com.acme.bench;

/**
 * The start-up probe: loads and calls the traced class, then prints {@code ready}. The driver
 * times the launch of this program up to that line, with and without each agent.
 */
public final class Ready {
  private Ready() {}

  public static void main(String[] args) {
    long sum = 0;
    for (int i = 0; i < 100; i++) {
      sum += Work.checksum(i);
    }
    System.out.println("ready " + sum);
  }
}
