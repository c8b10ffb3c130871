package io.marketplace.payments.stripeemulator.refund;

import io.marketplace.payments.stripeemulator.http.StripeError;
import java.time.Duration;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Test control: makes the next refund calls fail, for tests of the caller's retries.
 *
 * <ul>
 *   <li>{@link Mode#ERROR}: a 500 {@code api_error} before anything is done. The answer is not kept
 *       for the Idempotency-Key (as a failure in front of Stripe's API would not be), so a retry
 *       with the same key goes through.
 *   <li>{@link Mode#HANG}: the call is held for {@code hold}, then carried out and answered. A
 *       caller that timed out meanwhile does not know the refund happened: the UNKNOWN outcome. A
 *       retry with the same key while held gets Stripe's 409; after, it gets the replay.
 * </ul>
 */
public final class RefundFaults {
  public enum Mode {
    ERROR,
    HANG
  }

  private record Armed(Mode mode, Duration hold) {}

  private final ConcurrentLinkedQueue<Armed> armed = new ConcurrentLinkedQueue<>();
  private final CountDownLatch closing = new CountDownLatch(1);

  public void arm(int count, Mode mode, Duration hold) {
    if (count < 0 || count > 1000) {
      throw StripeError.invalidRequest("count must be between 0 and 1000", "count", null);
    }
    for (int i = 0; i < count; i++) {
      armed.add(new Armed(mode, hold));
    }
  }

  public void clear() {
    armed.clear();
  }

  public int remaining() {
    return armed.size();
  }

  /** Called first thing by the refund endpoint. */
  public void apply() {
    Armed next = armed.poll();
    if (next == null) {
      return;
    }
    if (next.mode() == Mode.ERROR) {
      throw StripeError.api(
          "An unknown error occurred (injected by the emulator's refund failure control).");
    }
    try {
      if (closing.await(next.hold().toMillis(), TimeUnit.MILLISECONDS)) {
        throw StripeError.api("The emulator is shutting down.");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw StripeError.api("Interrupted.");
    }
  }

  /** Releases held calls at shutdown. */
  public void close() {
    closing.countDown();
  }
}
