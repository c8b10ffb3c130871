package io.marketplace.payments.refunds.chargeback;

import java.time.Instant;
import java.util.UUID;

/** A row of {@code payment_disputes}. */
public record DisputeRow(
    String stripeDisputeId,
    String stripePaymentIntentId,
    String stripeChargeId,
    UUID userId,
    long amountCents,
    String reason,
    String status,
    boolean isInquiry,
    Instant closedAt) {

  /** The dispute as its events last told it. */
  Dispute dispute() {
    return new Dispute(
        stripeDisputeId, stripePaymentIntentId, stripeChargeId, amountCents, reason, status);
  }
}
