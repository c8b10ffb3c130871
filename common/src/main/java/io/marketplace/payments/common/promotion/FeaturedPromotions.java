package io.marketplace.payments.common.promotion;

import io.marketplace.payments.common.events.PaymentEvent;
import io.marketplace.payments.common.events.PaymentEventType;
import io.marketplace.payments.common.outbox.Outbox;
import io.marketplace.payments.common.refund.RefundDao;
import java.nio.charset.StandardCharsets;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The end of featured promotions (SPEC §1). A week that ends has its row marked ({@code
 * expired_at}), kept for audit, replay and reconciliation, and is announced as {@code
 * promotion.expired} keyed by listing id, under an id derived from the promotion id: however often
 * and by whichever service a week is ended, it is announced under one id, and a row once marked is
 * never ended again. The promotion expirer ends weeks whose time has come; moderation ends a
 * rejected listing's weeks still to run ({@link #endForRejectedListing}); a featured purchase whose
 * money all went back (a refund, a chargeback) ends its own week, and the weeks bought to follow it
 * move up ({@link #endForRefundedPayment}, {@link #endForChargeback}). The row records what ended
 * it ({@code end_cause}, {@code ended_by_dispute_id}): a week a dispute's chargeback ended, alone
 * or with a refund of the rest recorded after it, is given back, for what was left of it, when that
 * dispute is won ({@link #restoreForWonDispute}); so is a week a refund's money helped end when
 * Stripe fails that refund ({@link #restoreForFailedRefund}).
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
      SET expired_at = :now, end_cause = :cause, updated_at = now()
      FROM still_to_run
      WHERE p.id = still_to_run.id AND p.expired_at IS NULL
      RETURNING p.id, p.listing_id, p.type, p.starts_at, p.expires_at, p.expired_at
      """;

  /**
   * The PaymentIntent that paid for week {@code :id}: its own, or, for a week given back ({@link
   * #restoreForWonDispute}), that of the week it gives back, followed to the week a payment bought.
   */
  static final String PAID_BY =
      """
      WITH RECURSIVE chain (id, restores, pi) AS (
        SELECT id, restores_promotion_id, stripe_payment_intent_id FROM listing_promotions
        WHERE id = :id
        UNION ALL
        SELECT p.id, p.restores_promotion_id, p.stripe_payment_intent_id
        FROM listing_promotions p JOIN chain c ON p.id = c.restores
        WHERE c.pi IS NULL
      )
      SELECT pi FROM chain WHERE pi IS NOT NULL
      """;

  /**
   * The featured week payment {@code :pi} bought, and what was paid for it; no lock. The week still
   * to run may be the last of the weeks given back for it ({@link #restoreForWonDispute}).
   */
  static final String WEEK_OF_PAYMENT =
      """
      SELECT p.id, p.listing_id, pay.amount_cents, pay.currency FROM listing_promotions p
      JOIN payments pay ON pay.stripe_payment_intent_id = p.stripe_payment_intent_id
      WHERE p.stripe_payment_intent_id = :pi AND p.type = 'featured'
      """;

  /**
   * Whether dispute {@code :dispute}'s chargeback of payment {@code :pi} counted as money gone back
   * at {@code :endedAt}, when a week of the payment ended: recorded by then, and not yet won (a
   * week given back for the win, which a refund ended later, did not end with the chargeback). Rows
   * keep microseconds; the millisecond allows for one rounded where the other was truncated.
   */
  static final String CHARGEBACK_COUNTED_AT =
      """
      SELECT EXISTS (SELECT 1 FROM payment_refunds
                     WHERE stripe_payment_intent_id = :pi AND stripe_dispute_id = :dispute
                       AND reason = 'chargeback'
                       AND processed_at <= :endedAt + interval '1 millisecond')
         AND NOT EXISTS (SELECT 1 FROM payment_disputes
                         WHERE stripe_dispute_id = :dispute AND status = 'won'
                           AND closed_at < :endedAt)
      """;

  /**
   * Whether a refund of payment {@code :pi} that Stripe failed after the week's end at {@code
   * :endedAt} was recorded by then: its money counted as gone back when the week ended, and is the
   * payment's again. A refund recorded after the week ended (the week had ended without it) does
   * not count, nor one that had failed before (its money was not counted then). Rows keep
   * microseconds; the millisecond allows for one rounded where the other was truncated.
   */
  static final String FAILED_REFUND_COUNTED_AT =
      """
      SELECT EXISTS (SELECT 1 FROM payment_refunds
                     WHERE stripe_payment_intent_id = :pi AND status = 'failed'
                       AND reason <> 'chargeback'
                       AND created_at <= :endedAt + interval '1 millisecond'
                       AND failed_at >= :endedAt - interval '1 millisecond')
      """;

  /** A featured week by id, as {@link #WEEK_OF_PAYMENT} and a restoration need it; no lock. */
  static final String WEEK =
      """
      SELECT id, listing_id, type, starts_at, expires_at, expired_at, end_cause,
             ended_by_dispute_id, amount_cents
      FROM listing_promotions WHERE id = :id
      """;

  /**
   * The week given back for {@code :restores}, under its id derived from that week's: a twin of the
   * restoration inserts nothing.
   */
  static final String INSERT_RESTORED =
      """
      INSERT INTO listing_promotions
          (id, listing_id, type, stripe_payment_intent_id, amount_cents, starts_at, expires_at,
           restores_promotion_id, created_at, updated_at)
      VALUES (:id, :listing, 'featured', NULL, :amount, :startsAt, :expiresAt, :restores, :now,
              :now)
      ON CONFLICT (id) DO NOTHING
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
      SET expired_at = :now, end_cause = :cause, ended_by_dispute_id = :dispute,
          updated_at = now()
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

  private static final Logger log = LoggerFactory.getLogger(FeaturedPromotions.class);

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
    List<PromotionExpired> ended = endStillToRun(tx, listingId, "listing_rejected", now);
    for (PromotionExpired promotion : ended) {
      Outbox.append(tx, expired(promotion), listingId.toString());
    }
    return ended;
  }

  /** A week ended with its listing's activation, and the PaymentIntent that paid for it. */
  public record WithdrawnWeek(PromotionExpired promotion, String paidBy) {}

  /**
   * Ends, at {@code now}, the featured weeks still to run of a listing whose activation is being
   * taken back ({@code listing.withdrawn}: its posting fee had activated it after all of that money
   * went back), marked {@code end_cause = 'listing_withdrawn'}: the listing waits for payment
   * again, is shown nowhere, and a week must not run on unseen. Returns them, earliest end first,
   * each with the PaymentIntent that paid for it, for the caller to announce ({@code
   * promotion.expired}, {@link #expired}) after the withdrawal and to refund: bought while the
   * listing was live only by an activation that should not have been, they are purchases that
   * cannot be delivered. Weeks whose end has passed, and rows another transaction holds (the
   * expirer's, ending them), are left as {@link #endForRejectedListing} leaves them.
   *
   * <p>The caller takes the activation back in {@code tx} and holds the listing's row lock, under
   * which weeks are added; none is added to a listing not active.
   */
  public static List<WithdrawnWeek> endForWithdrawnListing(Handle tx, UUID listingId, Instant now) {
    return endStillToRun(tx, listingId, "listing_withdrawn", now).stream()
        .map(
            promotion ->
                new WithdrawnWeek(
                    promotion,
                    tx.createQuery(PAID_BY)
                        .bind("id", promotion.promotionId())
                        .mapTo(String.class)
                        .findFirst()
                        .orElse(null)))
        .toList();
  }

  private static List<PromotionExpired> endStillToRun(
      Handle tx, UUID listingId, String cause, Instant now) {
    return tx
        .createQuery(END_STILL_TO_RUN)
        .bind("listing", listingId)
        .bind("cause", cause)
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
  }

  /**
   * Ends, at {@code asked}, the featured week that payment {@code paymentIntentId} bought (or the
   * week given back for it when a dispute that ended it was won), marked as ended by a refund
   * ({@code end_cause = 'refunded'}), once all of the payment's money went back ({@link
   * RefundDao#RETURNED_CENTS}: refunds, ours or made in Stripe's dashboard, and chargebacks of
   * disputes not won), and appends {@code promotion.expired} for it: the customer does not keep
   * both the money and the week. The listing's weeks bought to follow it move up by what was left
   * of it, so that the listing stays featured, with no gap, for as long as it is still paid for;
   * the event's {@code listingFeaturedUntil} says until when. Returns the week ended, or nothing
   * when there is none to end: the payment bought no featured week, not all of its money went back,
   * its week is over (the expirer marks and announces it as any other), or it was ended already (by
   * a rejection, or by a twin of this call: the event id, derived from the promotion id, is the
   * same, and the row is changed once).
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
    return end(tx, paymentIntentId, null, asked);
  }

  /**
   * {@link #endForRefundedPayment}, called where dispute {@code disputeId}'s chargeback is
   * recorded: a week it ends is marked as ended by that dispute ({@code end_cause = 'disputed'}),
   * so that it is given back if the dispute is won ({@link #restoreForWonDispute}).
   */
  public static Optional<PromotionExpired> endForChargeback(
      Handle tx, String paymentIntentId, String disputeId, Instant asked) {
    return end(tx, paymentIntentId, disputeId, asked);
  }

  private static Optional<PromotionExpired> end(
      Handle tx, String paymentIntentId, String disputeId, Instant asked) {
    // at PostgreSQL's precision, so that the week that moves up starts where this one stopped
    Instant now = asked.truncatedTo(ChronoUnit.MICROS);
    OffsetDateTime at = now.atOffset(ZoneOffset.UTC);
    Optional<WeekOfPayment> bought = weekOfPayment(tx, paymentIntentId);
    if (bought.isEmpty()
        || tx.attach(RefundDao.class).returnedCents(paymentIntentId) < bought.get().paidCents()) {
      return Optional.empty();
    }
    UUID listingId = bought.get().listingId();
    lockListing(tx, listingId);
    // read again under the lock: a week given back meanwhile is the one to end
    Optional<WeekOfPayment> week = weekOfPayment(tx, paymentIntentId);
    if (week.get().last().expiredAt() != null || !week.get().last().expiresAt().isAfter(now)) {
      return Optional.empty();
    }
    Optional<PromotionExpired> ended =
        tx.createQuery(END_WEEK)
            .bind("id", week.get().last().id())
            .bind("now", at)
            .bind("cause", disputeId == null ? "refunded" : "disputed")
            .bind("dispute", disputeId)
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
    PromotionExpired announced =
        promotion.withListingFeaturedUntil(featuredUntil(tx, listingId, now).orElse(null));
    Outbox.append(tx, expired(announced), listingId.toString());
    return Optional.of(announced);
  }

  /**
   * Gives back, once dispute {@code disputeId} on payment {@code paymentIntentId} is won, what was
   * left of the featured week its chargeback ended ({@link #endForChargeback}), alone or with a
   * refund of the rest of the payment recorded after it ({@link #endForRefundedPayment}: a week
   * ends with the last of its money, whichever that is): the card network gave the money back to
   * us, so the customer paid for a week that was cut short. The week given back is a new row
   * ({@code restores_promotion_id}), as long as what was left of the ended week (from when it was
   * ended, or from its start if it had not begun, to its original end), placed after the listing's
   * featured weeks still to run (from {@code asked} if none runs), announced as {@code
   * promotion.created} under an id derived from its own id, itself derived from the ended week's:
   * however often the win is told (closed, funds reinstated, redeliveries), it is created and
   * announced once. Returns it, or nothing when there is nothing to give back.
   *
   * <p>Nothing is given back for a week that ran out, that a rejection ended, or whose money had
   * all gone back before this dispute's chargeback was recorded (refunds alone, or another
   * dispute); nor when the payment's money went back another way meanwhile (a refund took all of
   * it: the customer has the money); nor for a listing no longer {@code active} or past its {@code
   * expires_at}: promotions run only on live listings (SPEC §1), and a week is never sold past its
   * listing's end, so the week given back ends there at the latest, and nothing is left to give on
   * a listing that has ended. A rejected listing's payments get the rejection's refund rule
   * instead, decided when the won dispute gives the money back to the payment (the refund worker's
   * {@code AwaitingRoom}); an expired listing's owner may ask for a refund, which an admin decides
   * on as any other.
   *
   * <p>Called by the refund worker in the transaction recording the dispute as won, holding the
   * payment's lock; takes the listing's row lock, under which weeks are added and moved.
   */
  public static Optional<PromotionCreated> restoreForWonDispute(
      Handle tx, String paymentIntentId, String disputeId, Instant asked) {
    Instant now = asked.truncatedTo(ChronoUnit.MICROS);
    Optional<WeekOfPayment> week = weekOfPayment(tx, paymentIntentId);
    if (week.isEmpty()) {
      return Optional.empty();
    }
    Week ended = week.get().last();
    if (ended.expiredAt() == null || !endedWith(tx, ended, paymentIntentId, disputeId)) {
      return Optional.empty(); // running, or not ended with this dispute, or given back already
    }
    return giveBack(tx, paymentIntentId, week.get(), now, "dispute " + disputeId + " won");
  }

  /**
   * Gives back, once a refund of payment {@code paymentIntentId} failed at Stripe after it was
   * made, what was left of the featured week that refund's money helped end ({@link
   * #endForRefundedPayment}, or {@link #endForChargeback} when a chargeback was the last of the
   * money): no money went back, so the customer paid for a week that was cut short. It ends as if
   * the money had never been counted gone: in the other order (the refund recorded before the
   * payment's success, the purchase held back, then the refund failed) the purchase is delivered
   * when the refund fails ({@code AwaitingRoom}), and here the week is given back as {@link
   * #restoreForWonDispute} gives it back for a won dispute: a new row ({@code
   * restores_promotion_id}) as long as what was left of the ended week, after the listing's
   * featured weeks still to run (from {@code asked} if none runs), announced as {@code
   * promotion.created} under an id derived from the ended week's, so that however often and in
   * whatever form the failure is told, it is created and announced once. Should the refund then be
   * made after all (an admin's retry), the week given back ends with its money, as any other.
   * Returns it, or nothing when there is nothing to give back.
   *
   * <p>Only a week ended by the last of its money ({@code end_cause} {@code refunded} or {@code
   * disputed}) while a refund that has failed since was recorded is given back: never one whose
   * refunds were recorded after it ended, nor one that ran out or that a rejection or a withdrawal
   * ended. Nothing is given back while all of the payment's money is still gone back another way,
   * nor on a listing no longer {@code active} or past its {@code expires_at} (see {@link
   * #restoreForWonDispute}).
   *
   * <p>Called by the refund worker where it offers a payment's room back, holding the payment's
   * lock: when it records a refund failed at Stripe (and again for a twin of that failure), and on
   * its janitor's passes. Takes the listing's row lock, under which weeks are added and moved.
   */
  public static Optional<PromotionCreated> restoreForFailedRefund(
      Handle tx, String paymentIntentId, Instant asked) {
    Instant now = asked.truncatedTo(ChronoUnit.MICROS);
    Optional<WeekOfPayment> week = weekOfPayment(tx, paymentIntentId);
    if (week.isEmpty()) {
      return Optional.empty();
    }
    Week ended = week.get().last();
    if (ended.expiredAt() == null || !endedWithFailedRefund(tx, ended, paymentIntentId)) {
      return Optional.empty(); // running (given back already), or not ended with such a refund
    }
    return giveBack(
        tx, paymentIntentId, week.get(), now, "a refund of " + paymentIntentId + " failed");
  }

  /**
   * Gives back what was left of the payment's last week, {@code week.last()}, ended, now that money
   * that counted when it ended came back to us ({@code why}); see {@link #restoreForWonDispute}.
   */
  private static Optional<PromotionCreated> giveBack(
      Handle tx, String paymentIntentId, WeekOfPayment week, Instant now, String why) {
    Week ended = week.last();
    UUID listingId = week.listingId();
    // under the lock a refund ending the payment's week takes: either it sees the week given back
    // and ends it, or this sees its money gone back and gives nothing
    Optional<LiveListing> listing = lockListing(tx, listingId);
    if (tx.attach(RefundDao.class).returnedCents(paymentIntentId) >= week.paidCents()) {
      log.info(
          "{}, but all of {} went back another way: week {} stays ended",
          why,
          paymentIntentId,
          ended.id());
      return Optional.empty();
    }
    Instant stoppedAt =
        ended.startsAt().isAfter(ended.expiredAt()) ? ended.startsAt() : ended.expiredAt();
    Duration left = Duration.between(stoppedAt, ended.expiresAt());
    if (listing.isEmpty()
        || !"active".equals(listing.get().status())
        || (listing.get().expiresAt() != null && !listing.get().expiresAt().isAfter(now))) {
      log.info(
          "{}; listing {} is no longer active: the {} left of week {} is not given back",
          why,
          listingId,
          left,
          ended.id());
      return Optional.empty();
    }
    Instant startsAt = featuredUntil(tx, listingId, now).orElse(now);
    Instant expiresAt = startsAt.plus(left);
    if (listing.get().expiresAt() != null && expiresAt.isAfter(listing.get().expiresAt())) {
      expiresAt = listing.get().expiresAt(); // never featured past its own end
    }
    if (!expiresAt.isAfter(startsAt)) {
      log.info(
          "{}; listing {} is featured up to its end: week {} is not given back",
          why,
          listingId,
          ended.id());
      return Optional.empty();
    }
    UUID id = restoredId(ended.id());
    int inserted =
        tx.createUpdate(INSERT_RESTORED)
            .bind("id", id)
            .bind("listing", listingId)
            .bind("amount", ended.amountCents())
            .bind("startsAt", startsAt.atOffset(ZoneOffset.UTC))
            .bind("expiresAt", expiresAt.atOffset(ZoneOffset.UTC))
            .bind("restores", ended.id())
            .bind("now", now.atOffset(ZoneOffset.UTC))
            .execute();
    if (inserted == 0) {
      return Optional.empty();
    }
    PromotionCreated created =
        new PromotionCreated(
            id,
            listingId,
            listing.get().userId(),
            "featured",
            paymentIntentId,
            ended.amountCents(),
            week.currency(),
            startsAt,
            expiresAt);
    Outbox.append(
        tx,
        PaymentEvent.of(PaymentEventType.PROMOTION_CREATED, id.toString(), now, created),
        listingId.toString());
    log.info(
        "{}: week {} given back as {} from {} to {}", why, ended.id(), id, startsAt, expiresAt);
    return Optional.of(created);
  }

  /**
   * Whether dispute {@code disputeId}'s chargeback took part in ending week {@code ended}: the week
   * ended as disputed by it, or it ended when all of its money had gone back ({@code disputed} by
   * another dispute of the payment, or {@code refunded}: the last of the money a refund) while this
   * dispute's chargeback was counted among that money. A week whose money all went back with
   * refunds alone, before the dispute's chargeback was recorded or after it was won, did not end
   * with it.
   */
  private static boolean endedWith(
      Handle tx, Week ended, String paymentIntentId, String disputeId) {
    if ("disputed".equals(ended.endCause()) && disputeId.equals(ended.endedByDisputeId())) {
      return true;
    }
    if (!"disputed".equals(ended.endCause()) && !"refunded".equals(ended.endCause())) {
      return false;
    }
    return tx.createQuery(CHARGEBACK_COUNTED_AT)
        .bind("pi", paymentIntentId)
        .bind("dispute", disputeId)
        .bind("endedAt", ended.expiredAt().atOffset(ZoneOffset.UTC))
        .mapTo(Boolean.class)
        .one();
  }

  /**
   * Whether week {@code ended} ended with the last of its money ({@code refunded} or {@code
   * disputed}) while a refund of the payment was recorded that Stripe has failed since: that
   * refund's money counted when the week ended, and is the payment's again.
   */
  private static boolean endedWithFailedRefund(Handle tx, Week ended, String paymentIntentId) {
    if (!"refunded".equals(ended.endCause()) && !"disputed".equals(ended.endCause())) {
      return false;
    }
    return tx.createQuery(FAILED_REFUND_COUNTED_AT)
        .bind("pi", paymentIntentId)
        .bind("endedAt", ended.expiredAt().atOffset(ZoneOffset.UTC))
        .mapTo(Boolean.class)
        .one();
  }

  /** The id of the week given back for week {@code endedId}: one per ended week. */
  static UUID restoredId(UUID endedId) {
    return UUID.nameUUIDFromBytes(
        ("listing_promotions/restored/" + endedId).getBytes(StandardCharsets.UTF_8));
  }

  /**
   * The featured week payment {@code paymentIntentId} bought, as it is now: the row the payment
   * bought, or the last of the weeks given back for it, each given back for the one before.
   */
  private static Optional<WeekOfPayment> weekOfPayment(Handle tx, String paymentIntentId) {
    Optional<Bought> row =
        tx.createQuery(WEEK_OF_PAYMENT)
            .bind("pi", paymentIntentId)
            .map(
                (rs, ctx) ->
                    new Bought(
                        rs.getObject("id", UUID.class),
                        rs.getObject("listing_id", UUID.class),
                        rs.getLong("amount_cents"),
                        rs.getString("currency")))
            .findFirst();
    Optional<WeekOfPayment> bought =
        row.map(
            b ->
                new WeekOfPayment(
                    b.listingId(), b.paidCents(), b.currency(), week(tx, b.id()).orElseThrow()));
    if (bought.isEmpty()) {
      return bought;
    }
    Week last = bought.get().last();
    for (Optional<Week> next = week(tx, restoredId(last.id()));
        next.isPresent();
        next = week(tx, restoredId(last.id()))) {
      last = next.get();
    }
    return Optional.of(bought.get().withLast(last));
  }

  private static Optional<Week> week(Handle tx, UUID id) {
    return tx.createQuery(WEEK)
        .bind("id", id)
        .map(
            (rs, ctx) ->
                new Week(
                    rs.getObject("id", UUID.class),
                    instant(rs, "starts_at"),
                    instant(rs, "expires_at"),
                    instant(rs, "expired_at"),
                    rs.getString("end_cause"),
                    rs.getString("ended_by_dispute_id"),
                    rs.getLong("amount_cents")))
        .findFirst();
  }

  private static Optional<LiveListing> lockListing(Handle tx, UUID listingId) {
    return tx.createQuery(
            "SELECT user_id, status, expires_at FROM marketplace_listings WHERE id = :id FOR UPDATE")
        .bind("id", listingId)
        .map(
            (rs, ctx) ->
                new LiveListing(
                    rs.getObject("user_id", UUID.class),
                    rs.getString("status"),
                    instant(rs, "expires_at")))
        .findFirst();
  }

  private static Optional<Instant> featuredUntil(Handle tx, UUID listingId, Instant now) {
    OffsetDateTime until =
        tx.createQuery(FEATURED_UNTIL)
            .bind("listing", listingId)
            .bind("now", now.atOffset(ZoneOffset.UTC))
            .mapTo(OffsetDateTime.class)
            .one();
    return Optional.ofNullable(until).map(OffsetDateTime::toInstant);
  }

  private record Week(
      UUID id,
      Instant startsAt,
      Instant expiresAt,
      Instant expiredAt,
      String endCause,
      String endedByDisputeId,
      long amountCents) {}

  private record WeekOfPayment(UUID listingId, long paidCents, String currency, Week last) {
    WeekOfPayment withLast(Week week) {
      return new WeekOfPayment(listingId, paidCents, currency, week);
    }
  }

  private record Bought(UUID id, UUID listingId, long paidCents, String currency) {}

  private record LiveListing(UUID userId, String status, Instant expiresAt) {}

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
