package io.marketplace.payments.processor.payment;

import io.marketplace.payments.common.stripe.StripeEvent;
import io.marketplace.payments.processor.audit.Outcome;
import org.jdbi.v3.core.Handle;

/**
 * {@code payment_intent.canceled}: the PaymentIntent will never be paid; the payment is marked
 * {@code canceled} unless it succeeded. Nothing is published: no money moved and no state that
 * subscribers see changed.
 */
public final class PaymentCanceledHandler {

  private final Payments payments;

  public PaymentCanceledHandler(Payments payments) {
    this.payments = payments;
  }

  public Outcome handle(Handle tx, StripeEvent event) {
    Payments.Moved moved = payments.transition(tx, event, pi -> payments.markCanceled(tx, pi));
    return moved.isMoved() ? Outcome.processed() : moved.ignored();
  }
}
