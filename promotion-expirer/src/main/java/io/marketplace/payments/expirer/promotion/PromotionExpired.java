package io.marketplace.payments.expirer.promotion;

import java.time.Instant;
import java.util.UUID;

/**
 * The data of {@code promotion.expired}: a featured promotion ended. Its row stays, with {@code
 * expiredAt} set, for audit, replay and reconciliation.
 */
public record PromotionExpired(
    UUID promotionId,
    UUID listingId,
    String type,
    Instant startsAt,
    Instant expiresAt,
    Instant expiredAt) {}
