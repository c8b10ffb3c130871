package io.marketplace.payments.processor.payment;

import io.marketplace.payments.processor.audit.Outcome;

/** The reasons the payment handlers give for ignoring an event, in one place. */
final class PaymentOutcomes {

  static final String NOT_OURS = "not a PaymentIntent of ours";

  private PaymentOutcomes() {}

  /** The payment is past the state the event would move it from: a duplicate or late event. */
  static Outcome already(PaymentRow payment) {
    return Outcome.ignored("payment is already " + payment.status());
  }
}
