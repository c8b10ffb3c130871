package io.marketplace.payments.expirer.promotion;

import io.marketplace.payments.common.events.PaymentEvent;
import io.marketplace.payments.common.outbox.Outbox;
import io.marketplace.payments.common.promotion.FeaturedPromotions;
import io.marketplace.payments.common.promotion.PromotionExpired;
import io.marketplace.payments.expirer.pass.Expiry;
import io.marketplace.payments.expirer.pass.OutboxSeqs;
import io.marketplace.payments.expirer.pass.Times;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.jdbi.v3.core.Handle;

/**
 * Ends featured promotions whose {@code expires_at} has come ({@code expires_at <= now}): sets
 * {@code expired_at}, so {@code featuredUntil} stops showing them while the row stays, and appends
 * {@code promotion.expired} keyed by listing id ({@link FeaturedPromotions#expired}). The event id
 * derives from the promotion id: however often a pass is re-run, a promotion is announced under one
 * id, and a week a moderation rejection ended early ({@link
 * FeaturedPromotions#endForRejectedListing}) is marked already, so it is not ended or announced
 * again. Bumps are instant and never expire.
 */
public final class PromotionExpiry implements Expiry {

  /**
   * The oldest due promotions, locked, skipping those another transaction holds (a payment worker
   * extending one, another pass); the outer {@code expired_at IS NULL} is re-checked against the
   * row as locked. Walks the partial index {@code promotions_featured_running}.
   */
  static final String EXPIRE_BATCH =
      """
      WITH due AS MATERIALIZED (
        SELECT id FROM listing_promotions
        WHERE type = 'featured' AND expired_at IS NULL AND expires_at <= :now
        ORDER BY expires_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
      )
      UPDATE listing_promotions p
      SET expired_at = :now, end_cause = 'expired', updated_at = now()
      FROM due
      WHERE p.id = due.id AND p.expired_at IS NULL
      RETURNING p.id, p.listing_id, p.type, p.starts_at, p.expires_at, p.expired_at
      """;

  /**
   * The end of each listing's featured weeks still running after {@code now}, for the listings of a
   * batch: what {@code promotion.expired} says the listing stays featured until.
   */
  static final String FEATURED_UNTIL =
      """
      SELECT listing_id, max(expires_at) AS featured_until FROM listing_promotions
      WHERE listing_id = ANY(:listings) AND type = 'featured' AND expired_at IS NULL
        AND expires_at > :now
      GROUP BY listing_id
      """;

  /** What {@link #EXPIRE_BATCH} would take, held rows included, on the same partial index. */
  static final String STILL_DUE =
      """
      SELECT count(*) FROM listing_promotions
      WHERE type = 'featured' AND expired_at IS NULL AND expires_at <= :now
      """;

  @Override
  public String name() {
    return PROMOTIONS;
  }

  @Override
  public long stillDue(Handle handle, Instant now) {
    return handle.createQuery(STILL_DUE).bind("now", Times.bindable(now)).mapTo(Long.class).one();
  }

  @Override
  public Batch expireBatch(Handle tx, Instant now, int limit) {
    List<PromotionExpired> ended =
        tx.createQuery(EXPIRE_BATCH)
            .bind("now", Times.bindable(now))
            .bind("limit", limit)
            .map(
                (rs, ctx) ->
                    new PromotionExpired(
                        rs.getObject("id", UUID.class),
                        rs.getObject("listing_id", UUID.class),
                        rs.getString("type"),
                        Times.read(rs, "starts_at"),
                        Times.read(rs, "expires_at"),
                        Times.read(rs, "expired_at"),
                        null))
            .list();
    if (ended.isEmpty()) {
      return Batch.EMPTY;
    }
    Map<UUID, Instant> featuredUntil = featuredUntil(tx, ended, now);
    List<UUID> eventIds = new ArrayList<>(ended.size());
    for (PromotionExpired ending : ended) {
      PromotionExpired promotion =
          ending.withListingFeaturedUntil(featuredUntil.get(ending.listingId()));
      PaymentEvent event = FeaturedPromotions.expired(promotion);
      Outbox.append(tx, event, promotion.listingId().toString());
      eventIds.add(event.id());
    }
    return new Batch(ended.size(), OutboxSeqs.of(tx, eventIds));
  }

  /**
   * Read under a share lock of the listings: the payment processor adds a listing's next week under
   * its row lock, so a week being added as this one ends is committed, and counted, first.
   */
  private static Map<UUID, Instant> featuredUntil(
      Handle tx, List<PromotionExpired> ended, Instant now) {
    UUID[] listings =
        ended.stream().map(PromotionExpired::listingId).distinct().sorted().toArray(UUID[]::new);
    tx.createQuery(
            "SELECT id FROM marketplace_listings WHERE id = ANY(:listings) ORDER BY id FOR SHARE")
        .bind("listings", listings)
        .mapTo(UUID.class)
        .list();
    Map<UUID, Instant> until = new HashMap<>();
    tx.createQuery(FEATURED_UNTIL)
        .bind("listings", listings)
        .bind("now", Times.bindable(now))
        .map(
            (rs, ctx) ->
                Map.entry(rs.getObject("listing_id", UUID.class), Times.read(rs, "featured_until")))
        .forEach(e -> until.put(e.getKey(), e.getValue()));
    return until;
  }
}
