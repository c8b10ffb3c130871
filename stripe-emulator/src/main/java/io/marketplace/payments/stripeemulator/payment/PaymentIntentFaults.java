package io.marketplace.payments.stripeemulator.payment;

import io.marketplace.payments.stripeemulator.http.StripeError;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Test control: makes the next PaymentIntent creations answer an error raised inside the endpoint,
 * which Stripe keeps for the request's Idempotency-Key: every retry with that key gets the same
 * answer for 24 hours.
 *
 * <ul>
 *   <li>{@link Mode#ERROR}: a 500 {@code api_error} before the PaymentIntent is made.
 *   <li>{@link Mode#ERROR_AFTER_CREATE}: the PaymentIntent is made, then the 500: an object exists
 *       at Stripe that no answer ever named.
 *   <li>{@link Mode#REFUSED}: a 400 {@code invalid_request_error} by the account's state (not the
 *       request's parameters), nothing made: what Stripe answers an account that cannot take
 *       charges for now, until its owner settles what Stripe asks.
 * </ul>
 */
public final class PaymentIntentFaults {
  public enum Mode {
    ERROR,
    ERROR_AFTER_CREATE,
    REFUSED
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
    if (next == Mode.REFUSED) {
      throw refusal();
    }
    return next;
  }

  static StripeError refusal() {
    return StripeError.invalidRequest(
            "Your account cannot currently make charges (injected by the emulator's PaymentIntent"
                + " failure control).",
            null,
            null)
        .keptForTheKey();
  }

  static StripeError failure() {
    return StripeError.apiAfterStart(
        "An unknown error occurred (injected by the emulator's PaymentIntent failure control).");
  }
}
