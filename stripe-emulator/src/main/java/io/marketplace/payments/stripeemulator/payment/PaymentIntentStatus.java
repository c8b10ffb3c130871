package io.marketplace.payments.stripeemulator.payment;

import java.util.Locale;

/**
 * The statuses of Stripe's PaymentIntent that a card flow without 3-D Secure reaches, and which
 * calls each allows:
 *
 * <pre>
 * requires_payment_method --(create/confirm with a PaymentMethod)--> requires_confirmation
 * requires_payment_method | requires_confirmation --(confirm, card approved)--> succeeded
 * requires_payment_method | requires_confirmation --(confirm, card declined)--> requires_payment_method
 * requires_payment_method | requires_confirmation --(test control: held)--> processing
 * processing --(test control: the payment fails)--> requires_payment_method
 * any but processing, succeeded and canceled --(cancel)--> canceled
 * </pre>
 *
 * A card payment that is processing (its outcome not known yet) cannot be canceled: Stripe answers
 * 400 {@code payment_intent_unexpected_state}.
 */
public enum PaymentIntentStatus {
  REQUIRES_PAYMENT_METHOD,
  REQUIRES_CONFIRMATION,
  REQUIRES_ACTION,
  PROCESSING,
  REQUIRES_CAPTURE,
  SUCCEEDED,
  CANCELED;

  public String wire() {
    return name().toLowerCase(Locale.ROOT);
  }

  public boolean confirmable() {
    return this == REQUIRES_PAYMENT_METHOD
        || this == REQUIRES_CONFIRMATION
        || this == REQUIRES_ACTION;
  }

  public boolean cancelable() {
    return this != PROCESSING && this != SUCCEEDED && this != CANCELED;
  }
}
