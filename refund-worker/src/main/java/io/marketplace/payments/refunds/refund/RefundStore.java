package io.marketplace.payments.refunds.refund;

import io.marketplace.payments.common.refund.RefundDao;
import io.marketplace.payments.common.refund.RefundRecord;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.config.RegisterRowMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/**
 * The refund worker's statements on {@code payments} and {@code payment_refunds}. Every path that
 * adds money going back first locks the payment's row, so the sums it checks cannot change under it
 * (a moderation decision and a dashboard refund of one payment arrive on different topics).
 */
@RegisterConstructorMapper(Payment.class)
@RegisterRowMapper(RefundRecord.Mapper.class)
public interface RefundStore {

  String PAYMENT_COLUMNS =
      "stripe_payment_intent_id AS payment_intent_id, listing_id, user_id, payment_type,"
          + " amount_cents, currency, status, created_at, succeeded_at";

  @SqlQuery(
      "SELECT "
          + PAYMENT_COLUMNS
          + " FROM payments WHERE stripe_payment_intent_id = :pi FOR UPDATE")
  Optional<Payment> lockPayment(@Bind("pi") String paymentIntentId);

  @SqlQuery(
      "SELECT "
          + PAYMENT_COLUMNS
          + " FROM payments WHERE listing_id = :listingId AND status = 'succeeded'"
          + " ORDER BY succeeded_at, stripe_payment_intent_id")
  List<Payment> succeededPaymentsOf(@Bind("listingId") UUID listingId);

  /** Money that went back according to our records (not a chargeback of a dispute we won). */
  @SqlQuery(
      """
      SELECT COALESCE(sum(amount_cents), 0) FROM payment_refunds
      WHERE stripe_payment_intent_id = :pi AND status = 'processed'
        AND NOT EXISTS (SELECT 1 FROM payment_disputes d
                        WHERE d.stripe_dispute_id = payment_refunds.stripe_dispute_id
                          AND d.status = 'won')
      """)
  long processedCents(@Bind("pi") String paymentIntentId);

  /**
   * {@link RefundDao#RETURNED_CENTS} of payment {@code :pi} but for the chargebacks of disputes
   * still open: the money that went back for good, or is on its way. An open dispute may yet be
   * won, and its money come back to the payment.
   */
  @SqlQuery(
      RefundDao.RETURNED_CENTS
          + """
           - COALESCE((SELECT sum(c.amount_cents) FROM payment_refunds c
                       JOIN payment_disputes cd ON cd.stripe_dispute_id = c.stripe_dispute_id
                       WHERE c.stripe_payment_intent_id = :pi AND c.status = 'processed'
                         AND cd.status NOT IN ('won', 'lost')), 0)
           - COALESCE((SELECT sum(od.amount_cents) FROM payment_disputes od
                       WHERE od.stripe_payment_intent_id = :pi AND od.user_id IS NULL
                         AND NOT od.is_inquiry
                         AND od.status NOT IN ('won', 'prevented', 'lost')), 0)
          """)
  long returnedForGoodCents(@Bind("pi") String paymentIntentId);

  /**
   * Records part {@code part} of a payment's automatic refund ({@code approved} or {@code
   * pending}); 0 when the payment has that part already (unique index {@code
   * refunds_one_automatic_part_per_payment}).
   */
  @SqlUpdate(
      """
      INSERT INTO payment_refunds
          (id, user_id, listing_id, stripe_payment_intent_id, amount_cents, reason, status, note,
           automatic_part, created_at, updated_at)
      VALUES (:id, :userId, :listingId, :pi, :amount, :reason, :status, :note, :part, :at, :at)
      ON CONFLICT DO NOTHING
      """)
  int insertDecision(
      @Bind("part") int part,
      @Bind("id") UUID id,
      @Bind("userId") UUID userId,
      @Bind("listingId") UUID listingId,
      @Bind("pi") String paymentIntentId,
      @Bind("amount") long amountCents,
      @Bind("reason") String reason,
      @Bind("status") String status,
      @Bind("note") String note,
      @Bind("at") Instant at);

  /** True when the payment has its automatic refund record already, whatever its status. */
  @SqlQuery(
      """
      SELECT EXISTS (SELECT 1 FROM payment_refunds
                     WHERE stripe_payment_intent_id = :pi
                       AND reason IN ('technical_failure', 'moderation_rejection'))
      """)
  boolean hasAutomaticRecord(@Bind("pi") String paymentIntentId);

  /**
   * Closes the payment's failed refunds an admin could still retry, but for automatic ones: the
   * automatic refund just decided owes their money, which must not be claimed twice (an admin's
   * retry of one of them would refund it a second time). Each names the automatic refund's record
   * ({@code closed_for}, V48): an admin who rejects that record reopens them. Returns how many it
   * closed.
   */
  @SqlUpdate(
      """
      UPDATE payment_refunds
      SET closed_at = :at, close_reason = :reason, close_outcome = 'not_owed',
          closed_for = :owedBy, updated_at = :at
      WHERE stripe_payment_intent_id = :pi AND status = 'failed' AND closed_at IS NULL
        AND reason NOT IN ('technical_failure', 'moderation_rejection')
      """)
  int closeFailedOwedBy(
      @Bind("pi") String paymentIntentId,
      @Bind("owedBy") UUID owedBy,
      @Bind("reason") String reason,
      @Bind("at") Instant at);

  /**
   * rejected → pending for the payment's user requests closed as not owed for the record {@code
   * takenBy} ({@link RequestsTakenBack}): that record's money came back to us, so what they ask for
   * is owed again, for an admin to decide on. Counts the reopening ({@code reopened}, V51). Returns
   * their ids.
   */
  @SqlQuery(
      """
      UPDATE payment_refunds
      SET status = 'pending', rejection_reason = NULL, closed_at = NULL, close_reason = NULL,
          close_outcome = NULL, closed_for = NULL, reopened = reopened + 1, updated_at = :at
      WHERE stripe_payment_intent_id = :pi AND closed_for = :takenBy
        AND reason = 'user_request' AND status = 'rejected' AND close_outcome = 'not_owed'
      RETURNING id
      """)
  List<UUID> reopenRequestsClosedFor(
      @Bind("pi") String paymentIntentId, @Bind("takenBy") UUID takenBy, @Bind("at") Instant at);

  /** The parts of the payment's automatic refund so far, in order. */
  @SqlQuery(
      """
      SELECT automatic_part, amount_cents, status, close_outcome FROM payment_refunds
      WHERE stripe_payment_intent_id = :pi
        AND reason IN ('technical_failure', 'moderation_rejection')
      ORDER BY automatic_part
      """)
  @RegisterConstructorMapper(AutomaticPart.class)
  List<AutomaticPart> automaticParts(@Bind("pi") String paymentIntentId);

  /** A failed part of a payment's automatic refund, open for an admin's retry or close. */
  record FailedPart(
      UUID id,
      int automaticPart,
      long amountCents,
      String reason,
      String note,
      Instant createdAt) {}

  /**
   * The payment's failed automatic parts that are not closed, in order, locked, but for those
   * Stripe refused for a chargeback ({@code charge_disputed}: asked again once it is won, {@link
   * #refusedForWonDispute}).
   */
  @SqlQuery(
      """
      SELECT id, automatic_part, amount_cents, reason, note, created_at FROM payment_refunds
      WHERE stripe_payment_intent_id = :pi AND status = 'failed' AND closed_at IS NULL
        AND reason IN ('technical_failure', 'moderation_rejection')
        AND failure_reason IS DISTINCT FROM 'charge_disputed'
      ORDER BY automatic_part
      FOR UPDATE
      """)
  @RegisterConstructorMapper(FailedPart.class)
  List<FailedPart> openFailedAutomaticParts(@Bind("pi") String paymentIntentId);

  /**
   * The payment's automatic parts pending an admin's review, in order, locked: past 24 h, they wait
   * for an approval that checkout-api refuses once they no longer fit in what is left.
   */
  @SqlQuery(
      """
      SELECT id, automatic_part, amount_cents, reason, note, created_at FROM payment_refunds
      WHERE stripe_payment_intent_id = :pi AND status = 'pending'
        AND reason IN ('technical_failure', 'moderation_rejection')
      ORDER BY automatic_part
      FOR UPDATE
      """)
  @RegisterConstructorMapper(FailedPart.class)
  List<FailedPart> pendingAutomaticParts(@Bind("pi") String paymentIntentId);

  /**
   * Closes a pending automatic part as superseded by a later one: {@code rejected}, closed as
   * {@code superseded} with {@code reason} as why; 0 when it is not pending.
   */
  @SqlUpdate(
      """
      UPDATE payment_refunds
      SET status = 'rejected', rejection_reason = :reason, closed_at = :at, close_reason = :reason,
          close_outcome = 'superseded', updated_at = :at
      WHERE id = :id AND status = 'pending'
      """)
  int closePendingSuperseded(
      @Bind("id") UUID id, @Bind("reason") String reason, @Bind("at") Instant at);

  /** Closes a failed automatic part as superseded by a later one; 0 when it is not open. */
  @SqlUpdate(
      """
      UPDATE payment_refunds
      SET closed_at = :at, close_reason = :reason, close_outcome = 'superseded', updated_at = :at
      WHERE id = :id AND status = 'failed' AND closed_at IS NULL
      """)
  int closeSuperseded(@Bind("id") UUID id, @Bind("reason") String reason, @Bind("at") Instant at);

  /** A part of a payment's automatic refund Stripe refused for a chargeback, since won. */
  record RefusedForDispute(UUID id, int automaticPart, long amountCents, String wonDisputeId) {}

  /**
   * The parts of the payment's automatic refund that Stripe refused for a chargeback ({@code
   * charge_disputed}: the refund was decided before we heard of the dispute), failed and not
   * closed, each with the payment's won chargeback it was not retried for yet ({@code
   * refunds_retried_after_won_dispute}, V42). None while the payment has a chargeback not won (open
   * or lost, its events perhaps not all here yet): Stripe refuses the charge's refunds then.
   */
  @SqlQuery(
      """
      SELECT r.id, r.automatic_part, r.amount_cents, won.stripe_dispute_id AS won_dispute_id
      FROM payment_refunds r
      CROSS JOIN LATERAL (SELECT d.stripe_dispute_id FROM payment_refunds c
                          JOIN payment_disputes d ON d.stripe_dispute_id = c.stripe_dispute_id
                          WHERE c.stripe_payment_intent_id = r.stripe_payment_intent_id
                            AND c.reason = 'chargeback' AND d.status = 'won'
                          ORDER BY d.closed_at DESC NULLS LAST, d.stripe_dispute_id DESC
                          LIMIT 1) won
      WHERE r.stripe_payment_intent_id = :pi AND r.status = 'failed' AND r.closed_at IS NULL
        AND r.failure_reason = 'charge_disputed'
        AND r.reason IN ('technical_failure', 'moderation_rejection')
        AND NOT EXISTS (SELECT 1 FROM refunds_retried_after_won_dispute m
                        WHERE m.refund_id = r.id AND m.stripe_dispute_id = won.stripe_dispute_id)
        AND NOT EXISTS (SELECT 1 FROM payment_refunds c
                        JOIN payment_disputes d ON d.stripe_dispute_id = c.stripe_dispute_id
                        WHERE c.stripe_payment_intent_id = :pi AND c.reason = 'chargeback'
                          AND d.status NOT IN ('won', 'prevented'))
        AND NOT EXISTS (SELECT 1 FROM payment_disputes kd
                        WHERE kd.stripe_payment_intent_id = :pi AND kd.user_id IS NULL
                          AND NOT kd.is_inquiry AND kd.status NOT IN ('won', 'prevented'))
      ORDER BY r.automatic_part
      """)
  @RegisterConstructorMapper(RefusedForDispute.class)
  List<RefusedForDispute> refusedForWonDispute(@Bind("pi") String paymentIntentId);

  /**
   * Notes that a refund was retried, as its current attempt, for a won dispute; 0 when it was
   * retried for that dispute before.
   */
  @SqlUpdate(
      """
      INSERT INTO refunds_retried_after_won_dispute
          (refund_id, stripe_dispute_id, attempt, retried_at)
      SELECT id, :disputeId, attempt, :at FROM payment_refunds WHERE id = :id
      ON CONFLICT DO NOTHING
      """)
  int noteRetriedForWonDispute(
      @Bind("id") UUID refundId, @Bind("disputeId") String disputeId, @Bind("at") Instant at);

  /**
   * Keeps an automatic refund decided while nothing was left to refund ({@code
   * refund_decisions_awaiting_room}); 0 when the payment has one waiting already (the first
   * stands).
   */
  @SqlUpdate(
      """
      INSERT INTO refund_decisions_awaiting_room
          (stripe_payment_intent_id, reason, decided_at, note, parked_at)
      VALUES (:pi, :reason, :decidedAt, :note, :at)
      ON CONFLICT DO NOTHING
      """)
  int parkDecision(
      @Bind("pi") String paymentIntentId,
      @Bind("reason") String reason,
      @Bind("decidedAt") Instant decidedAt,
      @Bind("note") String note,
      @Bind("at") Instant at);

  /** The automatic refund decision of a payment waiting for room, if any. */
  @SqlQuery(
      """
      SELECT reason, decided_at, note FROM refund_decisions_awaiting_room
      WHERE stripe_payment_intent_id = :pi
      """)
  @RegisterConstructorMapper(WaitingDecision.class)
  Optional<WaitingDecision> waitingDecision(@Bind("pi") String paymentIntentId);

  /** The payment's automatic refund no longer waits: it is recorded. */
  @SqlUpdate("DELETE FROM refund_decisions_awaiting_room WHERE stripe_payment_intent_id = :pi")
  int unparkDecision(@Bind("pi") String paymentIntentId);

  /**
   * Keeps a refund made outside the system that our records cannot hold yet ({@code
   * refunds_awaiting_room}); 0 when it is kept already.
   */
  @SqlUpdate(
      """
      INSERT INTO refunds_awaiting_room (stripe_refund_id, stripe_payment_intent_id, refund, parked_at)
      VALUES (:re, :pi, CAST(:refund AS jsonb), :at)
      ON CONFLICT DO NOTHING
      """)
  int park(
      @Bind("re") String stripeRefundId,
      @Bind("pi") String paymentIntentId,
      @Bind("refund") String refundJson,
      @Bind("at") Instant at);

  /** The refunds of a payment waiting for room, oldest first, as Stripe's refund objects. */
  @SqlQuery(
      """
      SELECT refund::text FROM refunds_awaiting_room
      WHERE stripe_payment_intent_id = :pi ORDER BY parked_at, stripe_refund_id
      """)
  List<String> parked(@Bind("pi") String paymentIntentId);

  /** A refund no longer waits: recorded, or failed at Stripe. */
  @SqlUpdate("DELETE FROM refunds_awaiting_room WHERE stripe_refund_id = :re")
  int unpark(@Bind("re") String stripeRefundId);

  /**
   * Keeps a refund made outside the system on a PaymentIntent we have no payments row for yet
   * ({@code refunds_awaiting_payment}); 0 when it is kept already.
   */
  @SqlUpdate(
      """
      INSERT INTO refunds_awaiting_payment
          (stripe_refund_id, stripe_payment_intent_id, amount_cents, refund, parked_at)
      VALUES (:re, :pi, :amount, CAST(:refund AS jsonb), :at)
      ON CONFLICT DO NOTHING
      """)
  int parkUntilPayment(
      @Bind("re") String stripeRefundId,
      @Bind("pi") String paymentIntentId,
      @Bind("amount") long amountCents,
      @Bind("refund") String refundJson,
      @Bind("at") Instant at);

  /** A refund kept for want of its payment's row, in the order the janitor takes them. */
  record AwaitingPayment(String stripeRefundId, Instant parkedAt) {}

  /**
   * The refunds kept for want of their payment's row whose row exists now, oldest first, by {@code
   * re_} id, after the one kept at {@code afterAt} as {@code afterId} (null: from the first).
   */
  @SqlQuery(
      """
      SELECT w.stripe_refund_id, w.parked_at FROM refunds_awaiting_payment w
      JOIN payments p ON p.stripe_payment_intent_id = w.stripe_payment_intent_id
      WHERE CAST(:afterAt AS timestamptz) IS NULL
         OR (w.parked_at, w.stripe_refund_id)
            > (CAST(:afterAt AS timestamptz), CAST(:afterId AS text))
      ORDER BY w.parked_at, w.stripe_refund_id
      LIMIT :limit
      """)
  @RegisterConstructorMapper(AwaitingPayment.class)
  List<AwaitingPayment> awaitingPaymentWithPayment(
      @Bind("afterAt") Instant afterAt, @Bind("afterId") String afterId, @Bind("limit") int limit);

  /** A refund kept for want of its payment's row, as Stripe's refund object, if it still is. */
  @SqlQuery("SELECT refund::text FROM refunds_awaiting_payment WHERE stripe_refund_id = :re")
  Optional<String> awaitingPayment(@Bind("re") String stripeRefundId);

  /** A refund no longer waits for its payment's row: recorded, kept for room, or failed. */
  @SqlUpdate("DELETE FROM refunds_awaiting_payment WHERE stripe_refund_id = :re")
  int unparkFromPayment(@Bind("re") String stripeRefundId);

  /** Records a refund Stripe made without us; 0 when its {@code re_} id is already recorded. */
  @SqlUpdate(
      """
      INSERT INTO payment_refunds
          (id, user_id, listing_id, stripe_payment_intent_id, stripe_refund_id, amount_cents,
           reason, status, note, created_at, updated_at, processed_at)
      VALUES (:id, :userId, :listingId, :pi, :re, :amount, 'user_request', 'processed', :note,
              :at, :at, :processedAt)
      ON CONFLICT DO NOTHING
      """)
  int insertExternal(
      @Bind("id") UUID id,
      @Bind("userId") UUID userId,
      @Bind("listingId") UUID listingId,
      @Bind("pi") String paymentIntentId,
      @Bind("re") String stripeRefundId,
      @Bind("amount") long amountCents,
      @Bind("note") String note,
      @Bind("at") Instant at,
      @Bind("processedAt") Instant processedAt);

  @SqlQuery(
      "SELECT "
          + RefundRecord.COLUMNS
          + " FROM payment_refunds WHERE stripe_refund_id = :re FOR UPDATE")
  Optional<RefundRecord> lockByStripeRefundId(@Bind("re") String stripeRefundId);

  @SqlQuery("SELECT " + RefundRecord.COLUMNS + " FROM payment_refunds WHERE id = :id FOR UPDATE")
  Optional<RefundRecord> lock(@Bind("id") UUID id);

  /** Flags a record whose Stripe refund went wrong after the fact, for operators. */
  @SqlUpdate("UPDATE payment_refunds SET last_error = :error, updated_at = :at WHERE id = :id")
  int flag(@Bind("id") UUID id, @Bind("error") String error, @Bind("at") Instant at);
}
