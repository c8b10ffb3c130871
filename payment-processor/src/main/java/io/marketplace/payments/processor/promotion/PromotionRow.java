package io.marketplace.payments.processor.promotion;

import java.time.Instant;
import java.util.UUID;

/** A new {@code listing_promotions} row: one per PaymentIntent; a bump has no end. */
public record PromotionRow(
    UUID id,
    UUID listingId,
    String type,
    String paymentIntentId,
    long amountCents,
    Instant startsAt,
    Instant expiresAt) {}
