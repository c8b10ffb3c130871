package io.marketplace.payments.stripeemulator.payment;

import io.marketplace.payments.stripeemulator.http.StripeError;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Test control: makes the next PaymentIntent creations answer a 500 {@code api_error} raised inside
 * the endpoint, which Stripe keeps for the request's Idempotency-Key: every retry with that key
 * gets the same 500 for 24 hours.
 *
 * <ul>
 *   <li>{@link Mode#ERROR}: the 500 comes before the PaymentIntent is made.
 *   <li>{@link Mode#ERROR_AFTER_CREATE}: the PaymentIntent is made, then the 500: an object exists
 *       at Stripe that no answer ever named.
 * </ul>
 */
public final class PaymentIntentFaults {
  public enum Mode {
    ERROR,
    ERROR_AFTER_CREATE
  }

  private final ConcurrentLinkedQueue<Mode> armed = new ConcurrentLinkedQueue<>();

  public void arm(int count, Mode mode) {
    if (count < 0 || count > 1000) {
      throw StripeError.invalidRequest("count must be between 0 and 1000", "count", null);
    }
    for (int i = 0; i < count; i++) {
      armed.add(mode);
    }
  }

  public void clear() {
    armed.clear();
  }

  public int remaining() {
    return armed.size();
  }

  /** Called first thing by the creation endpoint: the fault this creation suffers, or null. */
  Mode next() {
    Mode next = armed.poll();
    if (next == Mode.ERROR) {
      throw failure();
    }
    return next;
  }

  static StripeError failure() {
    return StripeError.apiAfterStart(
        "An unknown error occurred (injected by the emulator's PaymentIntent failure control).");
  }
}
