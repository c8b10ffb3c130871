package io.marketplace.payments.common.promotion;

import java.time.Instant;
import java.util.UUID;

/**
 * The data of {@code promotion.expired}: a featured promotion ended, when its time came (the
 * promotion expirer) or early, when its listing was rejected. Its row stays, with {@code expiredAt}
 * set, for audit, replay and reconciliation. {@code listingFeaturedUntil} is the end of the
 * listing's featured weeks still running after this one (a second week bought while featured starts
 * where the first ends), null when none is: the listing stays featured until then.
 */
public record PromotionExpired(
    UUID promotionId,
    UUID listingId,
    String type,
    Instant startsAt,
    Instant expiresAt,
    Instant expiredAt,
    Instant listingFeaturedUntil) {

  public PromotionExpired withListingFeaturedUntil(Instant until) {
    return new PromotionExpired(
        promotionId, listingId, type, startsAt, expiresAt, expiredAt, until);
  }
}
