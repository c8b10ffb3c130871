package io.marketplace.payments.checkout.checkout;

import java.time.Instant;
import java.util.UUID;

/**
 * One purchase of one thing for one listing ({@code checkout_attempts}). At most one is open per
 * listing and payment type; its id is the Stripe idempotency key of its PaymentIntent, so every
 * retried or concurrent checkout of that purchase reaches the same PaymentIntent.
 */
public record CheckoutAttempt(
    UUID id,
    UUID listingId,
    UUID userId,
    String paymentType,
    int amountCents,
    String stripePaymentIntentId,
    String status,
    Instant createdAt,
    String stripeKeyFingerprint) {

  public String idempotencyKey() {
    return id.toString();
  }

  public PaymentType type() {
    return PaymentType.fromWire(paymentType);
  }
}
