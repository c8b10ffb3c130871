package io.marketplace.payments.common.stripe;

/** A body that is not a Stripe event. Its message says what is wrong, never what the body holds. */
public final class InvalidStripeEventException extends RuntimeException {

  public InvalidStripeEventException(String message) {
    super(message, null, false, false);
  }
}
