package io.marketplace.payments.refunds.chargeback;

import java.time.Instant;
import java.util.UUID;

/** A row of {@code payment_disputes}. */
public record DisputeRow(
    String stripeDisputeId,
    String stripePaymentIntentId,
    UUID userId,
    String status,
    boolean isInquiry,
    Instant closedAt) {}
