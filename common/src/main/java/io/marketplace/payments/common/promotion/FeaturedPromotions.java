package io.marketplace.payments.common.promotion;

import io.marketplace.payments.common.events.PaymentEvent;
import io.marketplace.payments.common.events.PaymentEventType;
import io.marketplace.payments.common.outbox.Outbox;
import io.marketplace.payments.common.refund.RefundDao;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.StatementContext;

/**
 * The end of featured promotions (SPEC §1). A week that ends has its row marked ({@code
 * expired_at}), kept for audit, replay and reconciliation, and is announced as {@code
 * promotion.expired} keyed by listing id, under an id derived from the promotion id: however often
 * and by whichever service a week is ended, it is announced under one id, and a row once marked is
 * never ended again. The promotion expirer ends weeks whose time has come; moderation ends a
 * rejected listing's weeks still to run ({@link #endForRejectedListing}); a featured purchase whose
 * money all went back (a refund, a chargeback) ends its own week, and the weeks bought to follow it
 * move up ({@link #endForRefundedPayment}).
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

  /**
   * The featured week payment {@code :pi} bought, if it is still to run at {@code :now} (running,
   * or bought to follow the running one), and what was paid for it; no lock.
   */
  static final String WEEK_OF_PAYMENT =
      """
      SELECT p.id, p.listing_id, pay.amount_cents FROM listing_promotions p
      JOIN payments pay ON pay.stripe_payment_intent_id = p.stripe_payment_intent_id
      WHERE p.stripe_payment_intent_id = :pi AND p.type = 'featured' AND p.expired_at IS NULL
        AND p.expires_at > :now
      """;

  /**
   * Ends that week, locked, skipping it when another transaction holds it: only the expirer holds a
   * week without its listing's lock, and only one whose end has come by its clock, which it is
   * ending and announcing. The outer {@code expired_at IS NULL} is re-checked against the row as
   * locked.
   */
  static final String END_WEEK =
      """
      WITH week AS MATERIALIZED (
        SELECT id FROM listing_promotions
        WHERE id = :id AND expired_at IS NULL AND expires_at > :now
        FOR UPDATE SKIP LOCKED
      )
      UPDATE listing_promotions p
      SET expired_at = :now, updated_at = now()
      FROM week
      WHERE p.id = week.id AND p.expired_at IS NULL
      RETURNING p.id, p.listing_id, p.type, p.starts_at, p.expires_at, p.expired_at
      """;

  /**
   * Moves up by {@code :byMicros} the listing's featured weeks bought to follow the one ended: each
   * starts where the one before it ends, so they start at or after its end. They keep their seven
   * days, and the first starts where the ended week stopped.
   */
  static final String MOVE_UP_FOLLOWING =
      """
      UPDATE listing_promotions
      SET starts_at = starts_at - :byMicros * interval '1 microsecond',
          expires_at = expires_at - :byMicros * interval '1 microsecond', updated_at = now()
      WHERE listing_id = :listing AND type = 'featured' AND expired_at IS NULL
        AND id <> :ended AND starts_at >= :endedExpiresAt
      """;

  /** The end of the listing's featured weeks still running after {@code :now}, or null. */
  static final String FEATURED_UNTIL =
      """
      SELECT max(expires_at) FROM listing_promotions
      WHERE listing_id = :listing AND type = 'featured' AND expired_at IS NULL
        AND expires_at > :now
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

  /**
   * Ends, at {@code asked}, the featured week that payment {@code paymentIntentId} bought once all
   * of the payment's money went back ({@link RefundDao#RETURNED_CENTS}: refunds, ours or made in
   * Stripe's dashboard, and chargebacks of disputes not won), and appends {@code promotion.expired}
   * for it: the customer does not keep both the money and the week. The listing's weeks bought to
   * follow it move up by what was left of it, so that the listing stays featured, with no gap, for
   * as long as it is still paid for; the event's {@code listingFeaturedUntil} says until when.
   * Returns the week ended, or nothing when there is none to end: the payment bought no featured
   * week, not all of its money went back, its week is over (the expirer marks and announces it as
   * any other), or it was ended already (by a rejection, or by a twin of this call: the event id,
   * derived from the promotion id, is the same, and the row is changed once).
   *
   * <p>Called where money going back is recorded, in the same transaction: the executor moving a
   * refund to {@code processed}, the refund worker recording a dashboard refund or a chargeback. A
   * purchase whose money all went back before its success was applied gets no week at all (the
   * payment processor holds it back), so the order of refund and week does not matter. Takes the
   * listing's row lock, under which the payment processor adds weeks: no week is added after the
   * ended one while the following ones move up.
   */
  public static Optional<PromotionExpired> endForRefundedPayment(
      Handle tx, String paymentIntentId, Instant asked) {
    // at PostgreSQL's precision, so that the week that moves up starts where this one stopped
    Instant now = asked.truncatedTo(ChronoUnit.MICROS);
    OffsetDateTime at = now.atOffset(ZoneOffset.UTC);
    Optional<WeekOfPayment> week =
        tx.createQuery(WEEK_OF_PAYMENT)
            .bind("pi", paymentIntentId)
            .bind("now", at)
            .map(
                (rs, ctx) ->
                    new WeekOfPayment(
                        rs.getObject("id", UUID.class),
                        rs.getObject("listing_id", UUID.class),
                        rs.getLong("amount_cents")))
            .findFirst();
    if (week.isEmpty()
        || tx.attach(RefundDao.class).returnedCents(paymentIntentId) < week.get().paidCents()) {
      return Optional.empty();
    }
    UUID listingId = week.get().listingId();
    tx.createQuery("SELECT id FROM marketplace_listings WHERE id = :id FOR UPDATE")
        .bind("id", listingId)
        .mapTo(UUID.class)
        .findFirst();
    Optional<PromotionExpired> ended =
        tx.createQuery(END_WEEK)
            .bind("id", week.get().promotionId())
            .bind("now", at)
            .map(FeaturedPromotions::promotion)
            .findFirst();
    if (ended.isEmpty()) {
      return Optional.empty();
    }
    PromotionExpired promotion = ended.get();
    Instant stoppedAt = promotion.startsAt().isAfter(now) ? promotion.startsAt() : now;
    Duration unused = Duration.between(stoppedAt, promotion.expiresAt());
    tx.createUpdate(MOVE_UP_FOLLOWING)
        .bind("byMicros", unused.toNanos() / 1_000)
        .bind("listing", listingId)
        .bind("ended", promotion.promotionId())
        .bind("endedExpiresAt", promotion.expiresAt().atOffset(ZoneOffset.UTC))
        .execute();
    OffsetDateTime featuredUntil =
        tx.createQuery(FEATURED_UNTIL)
            .bind("listing", listingId)
            .bind("now", at)
            .mapTo(OffsetDateTime.class)
            .one();
    PromotionExpired announced =
        promotion.withListingFeaturedUntil(
            featuredUntil == null ? null : featuredUntil.toInstant());
    Outbox.append(tx, expired(announced), listingId.toString());
    return Optional.of(announced);
  }

  private record WeekOfPayment(UUID promotionId, UUID listingId, long paidCents) {}

  private static PromotionExpired promotion(ResultSet rs, StatementContext ctx)
      throws SQLException {
    return new PromotionExpired(
        rs.getObject("id", UUID.class),
        rs.getObject("listing_id", UUID.class),
        rs.getString("type"),
        instant(rs, "starts_at"),
        instant(rs, "expires_at"),
        instant(rs, "expired_at"),
        null);
  }

  private static Instant instant(ResultSet rs, String column) throws SQLException {
    OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
    return value == null ? null : value.toInstant();
  }
}
