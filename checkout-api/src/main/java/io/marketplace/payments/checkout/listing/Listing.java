package io.marketplace.payments.checkout.listing;

import java.time.Instant;
import java.util.UUID;

/**
 * A listing with its category slug and {@code featuredUntil}: the latest end of its running
 * featured promotions (not marked expired and ending in the future), or null.
 */
public record Listing(
    UUID id,
    UUID userId,
    long categoryId,
    String categorySlug,
    String title,
    String status,
    String paymentIntentId,
    Instant activatedAt,
    Instant expiresAt,
    Instant lastBumpedAt,
    Instant featuredUntil,
    Instant createdAt) {

  public ListingStatus listingStatus() {
    return ListingStatus.fromWire(status);
  }

  /** Active and not yet past its end, whether or not the expirer has run. */
  public boolean isLive(Instant now) {
    return listingStatus() == ListingStatus.ACTIVE && expiresAt != null && expiresAt.isAfter(now);
  }

  /** The same listing with {@code featuredUntil} read apart (see {@link ListingDao#lock}). */
  public Listing withFeaturedUntil(Instant until) {
    return new Listing(
        id,
        userId,
        categoryId,
        categorySlug,
        title,
        status,
        paymentIntentId,
        activatedAt,
        expiresAt,
        lastBumpedAt,
        until,
        createdAt);
  }

  /**
   * The listing JSON at {@code now}. An active listing past its end is {@code expired}, as the
   * promotion expirer will mark it at its next pass (daily by default): until then it is live
   * nowhere, and promote answers 409 for it. {@code featuredUntil} is null unless the listing is
   * live: a rejected or expired listing is shown nowhere, so it is featured nowhere, whatever weeks
   * it had.
   */
  public ListingView view(Instant now) {
    boolean pastItsEnd = listingStatus() == ListingStatus.ACTIVE && !isLive(now);
    return new ListingView(
        id,
        userId,
        categorySlug,
        title,
        pastItsEnd ? ListingStatus.EXPIRED.wire() : status,
        paymentIntentId,
        activatedAt,
        expiresAt,
        lastBumpedAt,
        isLive(now) ? featuredUntil : null);
  }

  /** The listing JSON of SPEC §3, field for field. */
  public record ListingView(
      UUID id,
      UUID userId,
      String categorySlug,
      String title,
      String status,
      String paymentIntentId,
      Instant activatedAt,
      Instant expiresAt,
      Instant lastBumpedAt,
      Instant featuredUntil) {}
}
