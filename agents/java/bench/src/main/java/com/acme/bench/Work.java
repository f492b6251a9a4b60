package com.acme.bench;

/**
 * The method every case of the benchmark calls: a little arithmetic, an argument and a return
 * value (for the capture case), big enough not to count as trivial. It sits in a package of its
 * own so that the filters can name it, include it or exclude it, without touching JMH's classes.
 */
public final class Work {
  private Work() {}

  /** A short mix of the seed, about as much work as a small service method does around its calls. */
  public static long checksum(int seed) {
    long h = 1469598103934665603L ^ seed;
    for (int i = 0; i < 8; i++) {
      h = (h ^ (seed >>> i)) * 1099511628211L;
    }
    return h;
  }
}
