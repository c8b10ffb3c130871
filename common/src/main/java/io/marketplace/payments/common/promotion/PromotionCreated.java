package io.marketplace.payments.common.promotion;

import java.time.Instant;
import java.util.UUID;

/**
 * The data of {@code promotion.created} for a featured week given back when the dispute that ended
 * a week is won ({@link FeaturedPromotions#restoreForWonDispute}): the same fields as a week the
 * payment processor creates for a purchase. {@code paymentIntentId} and {@code amountCents} are
 * those of the payment that bought the week given back; no new money was paid.
 */
public record PromotionCreated(
    UUID promotionId,
    UUID listingId,
    UUID userId,
    String type,
    String paymentIntentId,
    long amountCents,
    String currency,
    Instant startsAt,
    Instant expiresAt) {}
