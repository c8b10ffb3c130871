package io.marketplace.payments.stripeemulator;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/** A bounded poll for conditions that no callback announces. */
final class Eventually {
  private Eventually() {}

  /**
   * Whether {@code condition} becomes true within {@code window}: for what must not happen, given
   * the time it would take if it did.
   */
  static boolean happensWithin(Duration window, BooleanSupplier condition) {
    long deadline = System.nanoTime() + window.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      LockSupport.parkNanos(Duration.ofMillis(10).toNanos());
    }
    return true;
  }

  static void await(String what, Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("Timed out after " + timeout + " waiting for " + what);
      }
      LockSupport.parkNanos(Duration.ofMillis(10).toNanos());
    }
  }
}
