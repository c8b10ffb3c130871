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
 *   <li>{@link Mode#ERROR_KEPT}: a 500 {@code api_error} raised inside the endpoint before the
 *       refund is made, which Stripe keeps for the request's Idempotency-Key: every retry with that
 *       key gets the same 500 for 24 hours.
 *   <li>{@link Mode#ERROR_AFTER_CREATE}: the refund is made, then the same kept 500: money went
 *       back although no answer names the refund.
 * </ul>
 */
public final class RefundFaults {
  public enum Mode {
    ERROR,
    HANG,
    ERROR_KEPT,
    ERROR_AFTER_CREATE
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

  /**
   * Called first thing by the refund endpoint; returns {@link Mode#ERROR_AFTER_CREATE} when the
   * endpoint must make the refund and then throw {@link #keptFailure()}, else null.
   */
  public Mode apply() {
    Armed next = armed.poll();
    if (next == null) {
      return null;
    }
    switch (next.mode()) {
      case ERROR ->
          throw StripeError.api(
              "An unknown error occurred (injected by the emulator's refund failure control).");
      case ERROR_KEPT -> throw keptFailure();
      case ERROR_AFTER_CREATE -> {
        return Mode.ERROR_AFTER_CREATE;
      }
      case HANG -> hold(next.hold());
    }
    return null;
  }

  /** The 500 raised inside the endpoint, kept for the request's Idempotency-Key. */
  public static StripeError keptFailure() {
    return StripeError.apiAfterStart(
        "An unknown error occurred (injected by the emulator's refund failure control, kept for"
            + " the Idempotency-Key).");
  }

  private void hold(Duration hold) {
    try {
      if (closing.await(hold.toMillis(), TimeUnit.MILLISECONDS)) {
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
