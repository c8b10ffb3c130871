package io.marketplace.payments.common.promotion;

import io.marketplace.payments.common.events.PaymentEvent;
import io.marketplace.payments.common.events.PaymentEventType;
import io.marketplace.payments.common.outbox.Outbox;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import org.jdbi.v3.core.Handle;

/**
 * The end of featured promotions (SPEC §1). A week that ends has its row marked ({@code
 * expired_at}), kept for audit, replay and reconciliation, and is announced as {@code
 * promotion.expired} keyed by listing id, under an id derived from the promotion id: however often
 * and by whichever service a week is ended, it is announced under one id, and a row once marked is
 * never ended again. The promotion expirer ends weeks whose time has come; moderation ends a
 * rejected listing's weeks still to run ({@link #endForRejectedListing}).
 */
public final class FeaturedPromotions {

  /**
   * The listing's featured weeks still to run at {@code :now} (the running one and any bought to
   * follow it), locked, skipping rows another transaction holds; the outer {@code expired_at IS
   * NULL} is re-checked against the row as locked.
   */
  static final String END_STILL_TO_RUN =
      """
      WITH still_to_run AS MATERIALIZED (
        SELECT id FROM listing_promotions
        WHERE listing_id = :listing AND type = 'featured' AND expired_at IS NULL
          AND expires_at > :now
        FOR UPDATE SKIP LOCKED
      )
      UPDATE listing_promotions p
      SET expired_at = :now, updated_at = now()
      FROM still_to_run
      WHERE p.id = still_to_run.id AND p.expired_at IS NULL
      RETURNING p.id, p.listing_id, p.type, p.starts_at, p.expires_at, p.expired_at
      """;

  private FeaturedPromotions() {}

  /** {@code promotion.expired} for {@code promotion}, its id derived from the promotion id. */
  public static PaymentEvent expired(PromotionExpired promotion) {
    return PaymentEvent.of(
        PaymentEventType.PROMOTION_EXPIRED,
        promotion.promotionId().toString(),
        promotion.expiredAt(),
        promotion);
  }

  /**
   * Ends, at {@code now}, the featured weeks of a listing being rejected that are still to run, and
   * appends {@code promotion.expired} for each, with nothing featured after it: a rejected listing
   * is featured no more, and its weeks must not run on, to be announced days later by the expirer.
   * Returns them, earliest end first.
   *
   * <p>The caller rejects the listing in {@code tx} and holds its row lock: weeks are added only
   * under it (the payment processor), and none is added to a rejected listing, so none is being
   * added meanwhile or later. Weeks whose end has passed are not touched: they ended on their own,
   * and the expirer marks and announces them as any other. A row another transaction holds is one
   * of those (the expirer locks due rows only, and then the listing, the other way round from a
   * rejection), so it is skipped rather than waited for.
   */
  public static List<PromotionExpired> endForRejectedListing(
      Handle tx, UUID listingId, Instant now) {
    List<PromotionExpired> ended =
        tx
            .createQuery(END_STILL_TO_RUN)
            .bind("listing", listingId)
            .bind("now", now.atOffset(ZoneOffset.UTC))
            .map(
                (rs, ctx) ->
                    new PromotionExpired(
                        rs.getObject("id", UUID.class),
                        rs.getObject("listing_id", UUID.class),
                        rs.getString("type"),
                        instant(rs, "starts_at"),
                        instant(rs, "expires_at"),
                        instant(rs, "expired_at"),
                        null))
            .list()
            .stream()
            .sorted(Comparator.comparing(PromotionExpired::expiresAt))
            .toList();
    for (PromotionExpired promotion : ended) {
      Outbox.append(tx, expired(promotion), listingId.toString());
    }
    return ended;
  }

  private static Instant instant(ResultSet rs, String column) throws SQLException {
    OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
    return value == null ? null : value.toInstant();
  }
}
