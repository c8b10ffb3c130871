package io.marketplace.payments.refunds.refund;

import java.time.Instant;
import java.util.UUID;

/** A row of {@code payments}: what a PaymentIntent paid for, the truth the refund rules rely on. */
public record Payment(
    String paymentIntentId,
    UUID listingId,
    UUID userId,
    String paymentType,
    long amountCents,
    String currency,
    String status,
    Instant createdAt,
    Instant succeededAt) {

  public boolean succeeded() {
    return "succeeded".equals(status);
  }

  /** When the money was taken: the 24 h of the automatic refund rule count from here. */
  public Instant paidAt() {
    return succeededAt != null ? succeededAt : createdAt;
  }
}
