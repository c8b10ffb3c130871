package io.marketplace.payments.gateway.webhook;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Bounds the memory that request bodies hold at once. Every request runs on a virtual thread of its
 * own, so concurrency alone does not bound it: without this, a few hundred slow 1 MiB uploads would
 * exhaust the heap. A Stripe event is a few KB, so in normal traffic the budget never binds.
 */
final class BodyBudget {

  private static final int KIB = 1024;

  private final Semaphore kibibytes;

  BodyBudget(long maxBytes) {
    this.kibibytes = new Semaphore((int) Math.max(1, maxBytes / KIB), false);
  }

  /**
   * Reserves room for a body of {@code declaredLength} bytes (-1 when unknown: room for the largest
   * allowed), waiting at most {@code timeoutMillis}; returns the reservation to release, or null
   * when there is no room.
   */
  Reservation reserve(long declaredLength, long maxBytes, long timeoutMillis) {
    long bytes = declaredLength < 0 || declaredLength > maxBytes ? maxBytes : declaredLength;
    int permits = (int) Math.max(1, (bytes + KIB - 1) / KIB);
    try {
      if (!kibibytes.tryAcquire(permits, timeoutMillis, TimeUnit.MILLISECONDS)) {
        return null;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
    return new Reservation(permits);
  }

  /** Room held for one body; release it once the body is no longer needed. */
  final class Reservation implements AutoCloseable {
    private final int permits;

    private Reservation(int permits) {
      this.permits = permits;
    }

    @Override
    public void close() {
      kibibytes.release(permits);
    }
  }
}
