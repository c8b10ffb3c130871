package io.marketplace.payments.common.refund;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.sqlobject.config.RegisterRowMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** The statements of the refund executor on {@code payment_refunds}. */
@RegisterRowMapper(RefundRecord.Mapper.class)
public interface RefundDao {

  /**
   * The term of {@link #RETURNED_CENTS} and {@link #claimedCents} for the disputes of payment
   * {@code :pi} whose events all came before its row: the refund worker keeps them in {@code
   * payment_disputes} without a user, and records their chargebacks only once the row exists. Until
   * then, a dispute that is a chargeback (not an inquiry, not prevented) and not won took its
   * amount back; once counted it has a user, and its chargeback record counts instead.
   */
  String KEPT_CHARGEBACK_CENTS =
      """
           + COALESCE((SELECT sum(kd.amount_cents) FROM payment_disputes kd
                       WHERE kd.stripe_payment_intent_id = :pi AND kd.user_id IS NULL
                         AND NOT kd.is_inquiry
                         AND kd.status NOT IN ('won', 'prevented')), 0)
      """;

  /**
   * The cents of payment {@code :pi} that went back, or are on their way back: refunds approved or
   * processed, chargebacks included but for disputes we won (the card network gave that money back
   * to us), failed refunds an admin closed as paid back another way ({@code close_outcome =
   * 'refunded_elsewhere'}), refunds Stripe made before we had the payment's row, which the refund
   * worker keeps until it can record them ({@code refunds_awaiting_payment}), and chargebacks of
   * disputes recorded before we had the row, not counted yet ({@link #KEPT_CHARGEBACK_CENTS}). A
   * constant, so that a query may embed it as a subquery.
   */
  String RETURNED_CENTS =
      """
      SELECT COALESCE((SELECT sum(r.amount_cents) FROM payment_refunds r
                       WHERE r.stripe_payment_intent_id = :pi
                         AND (r.status IN ('approved', 'processed')
                              OR r.close_outcome = 'refunded_elsewhere')
                         AND NOT EXISTS (SELECT 1 FROM payment_disputes d
                                         WHERE d.stripe_dispute_id = r.stripe_dispute_id
                                           AND d.status = 'won')), 0)
           + COALESCE((SELECT sum(w.amount_cents) FROM refunds_awaiting_payment w
                       WHERE w.stripe_payment_intent_id = :pi), 0)
      """
          + KEPT_CHARGEBACK_CENTS;

  /**
   * {@link #RETURNED_CENTS} of the payment whose PaymentIntent id is the SQL expression {@code
   * paymentIntent}, such as a column of an enclosing query that embeds it per row.
   */
  static String returnedCentsOf(String paymentIntent) {
    return RETURNED_CENTS.replace(":pi", paymentIntent);
  }

  @SqlQuery("SELECT " + RefundRecord.COLUMNS + " FROM payment_refunds WHERE id = :id")
  Optional<RefundRecord> find(@Bind("id") UUID id);

  /** {@link #RETURNED_CENTS} of a payment. */
  @SqlQuery(RETURNED_CENTS)
  long returnedCents(@Bind("pi") String paymentIntentId);

  /** Reads a refund and holds its row until the transaction ends: callers re-check its status. */
  @SqlQuery("SELECT " + RefundRecord.COLUMNS + " FROM payment_refunds WHERE id = :id FOR UPDATE")
  Optional<RefundRecord> lock(@Bind("id") UUID id);

  /**
   * The cents of a payment no longer free to refund: every refund recorded for it that is not
   * {@code rejected} and not a {@code failed} one closed other than as paid back another way
   * ({@code not_owed}, or closed before outcomes were kept). That is money that went back
   * (processed, chargebacks and refunds made in Stripe's dashboard included, and a failed refund
   * the customer got back another way), money on its way (approved), money a user asked for and an
   * admin has yet to decide on (pending), and a failed refund an admin may still retry. What is
   * left to refund is the amount paid minus this; callers lock the payment's row first, so that two
   * refunds cannot both take the last of it. A chargeback whose dispute we won is not money
   * returned: the card network gave it back to us. A refund Stripe made before the payment's row
   * existed, not recorded yet ({@code refunds_awaiting_payment}), went back too, and so did a
   * chargeback of a dispute recorded before that row, not counted yet ({@link
   * #KEPT_CHARGEBACK_CENTS}).
   */
  @SqlQuery(
      """
      SELECT COALESCE((SELECT sum(amount_cents) FROM payment_refunds
                       WHERE stripe_payment_intent_id = :pi AND status <> 'rejected'
                         AND NOT (status = 'failed' AND closed_at IS NOT NULL
                                  AND close_outcome IS DISTINCT FROM 'refunded_elsewhere')
                         AND NOT EXISTS (SELECT 1 FROM payment_disputes d
                                         WHERE d.stripe_dispute_id
                                                   = payment_refunds.stripe_dispute_id
                                           AND d.status = 'won')), 0)
           + COALESCE((SELECT sum(amount_cents) FROM refunds_awaiting_payment
                       WHERE stripe_payment_intent_id = :pi), 0)
      """
          + KEPT_CHARGEBACK_CENTS)
  long claimedCents(@Bind("pi") String paymentIntentId);

  /** approved → processed; 0 when the row is no longer approved. */
  @SqlUpdate(
      """
      UPDATE payment_refunds
      SET status = 'processed', stripe_refund_id = :stripeRefundId, processed_at = :at,
          last_error = NULL, updated_at = :at
      WHERE id = :id AND status = 'approved'
      """)
  int markProcessed(
      @Bind("id") UUID id, @Bind("stripeRefundId") String stripeRefundId, @Bind("at") Instant at);

  /**
   * Stamps the first call to Stripe of the record's current attempt; later calls keep the first
   * stamp (the janitor's claim bumps {@code updated_at}, never this).
   */
  @SqlUpdate(
      """
      UPDATE payment_refunds SET first_attempted_at = :at
      WHERE id = :id AND status = 'approved' AND first_attempted_at IS NULL
      """)
  int markAttempted(@Bind("id") UUID id, @Bind("at") Instant at);

  /**
   * approved or processed → failed: Stripe refused it for good, or failed it after creating it.
   * Keeps the Stripe refund id the record had when {@code stripeRefundId} is null. 0 when the row
   * is in neither state.
   */
  @SqlUpdate(
      """
      UPDATE payment_refunds
      SET status = 'failed', stripe_refund_id = COALESCE(:stripeRefundId, stripe_refund_id),
          failure_reason = :failureReason, last_error = :error, failed_at = :at, updated_at = :at
      WHERE id = :id AND status IN ('approved', 'processed')
      """)
  int markFailed(
      @Bind("id") UUID id,
      @Bind("stripeRefundId") String stripeRefundId,
      @Bind("failureReason") String failureReason,
      @Bind("error") String error,
      @Bind("at") Instant at);

  /**
   * Notes a Stripe refund that failed, once per {@code re_} id; 0 when it was noted before (the
   * same failure re-delivered, perhaps under another event id or type).
   */
  @SqlUpdate(
      """
      INSERT INTO refund_stripe_failures (stripe_refund_id, refund_id, failure_reason, recorded_at)
      VALUES (:re, :refundId, :failureReason, :at)
      ON CONFLICT (stripe_refund_id) DO NOTHING
      """)
  int noteStripeFailure(
      @Bind("re") String stripeRefundId,
      @Bind("refundId") UUID refundId,
      @Bind("failureReason") String failureReason,
      @Bind("at") Instant at);

  /** Whether Stripe refund {@code re} is known to have failed. */
  @SqlQuery("SELECT EXISTS (SELECT 1 FROM refund_stripe_failures WHERE stripe_refund_id = :re)")
  boolean stripeRefundFailed(@Bind("re") String stripeRefundId);

  /**
   * failed → approved for an admin's retry: the next attempt, under a new Stripe idempotency key,
   * with no Stripe refund yet. 0 when the row is not an open failed refund.
   */
  @SqlUpdate(
      """
      UPDATE payment_refunds
      SET status = 'approved', attempt = attempt + 1, key_round = 0, key_round_at = NULL,
          stripe_refund_id = NULL,
          first_attempted_at = NULL, last_error = NULL, failure_reason = NULL, failed_at = NULL,
          processed_at = NULL, updated_at = :at
      WHERE id = :id AND status = 'failed' AND closed_at IS NULL
      """)
  int retryFailed(@Bind("id") UUID id, @Bind("at") Instant at);

  /**
   * Closes a failed refund an admin will not retry; it stays failed, with where its money stands
   * ({@code refunded_elsewhere} or {@code not_owed}, V28).
   */
  @SqlUpdate(
      """
      UPDATE payment_refunds
      SET closed_at = :at, close_reason = :reason, close_outcome = :outcome, updated_at = :at
      WHERE id = :id AND status = 'failed' AND closed_at IS NULL
      """)
  int closeFailed(
      @Bind("id") UUID id,
      @Bind("reason") String reason,
      @Bind("outcome") String outcome,
      @Bind("at") Instant at);

  /**
   * pending → rejected for the payment's user requests that the automatic refund {@code owedBy}
   * owes ({@link RequestsOwedByAutomaticRefund}): closed as {@code not_owed} for it, with {@code
   * reason} as both why it was rejected and why it was closed. Returns their ids.
   */
  @SqlQuery(
      """
      UPDATE payment_refunds
      SET status = 'rejected', rejection_reason = :reason, closed_at = :at, close_reason = :reason,
          close_outcome = 'not_owed', closed_for = :owedBy, updated_at = :at
      WHERE stripe_payment_intent_id = :pi AND status = 'pending' AND reason = 'user_request'
      RETURNING id
      """)
  List<UUID> closePendingRequestsOwedBy(
      @Bind("pi") String paymentIntentId,
      @Bind("owedBy") UUID owedBy,
      @Bind("reason") String reason,
      @Bind("at") Instant at);

  /** Notes why Stripe did not refund yet; the record stays approved, to be retried. */
  @SqlUpdate(
      """
      UPDATE payment_refunds SET last_error = :error, updated_at = :at
      WHERE id = :id AND status = 'approved'
      """)
  int noteFailure(@Bind("id") UUID id, @Bind("error") String error, @Bind("at") Instant at);

  /**
   * Moves an approved refund from key round {@code round} to the next (see {@code V22}): Stripe
   * keeps the 500 it answered under the round's key. 0 when another caller moved it already.
   */
  @SqlUpdate(
      """
      UPDATE payment_refunds SET key_round = key_round + 1, key_round_at = :at
      WHERE id = :id AND status = 'approved' AND attempt = :attempt AND key_round = :round
      """)
  int nextKeyRound(
      @Bind("id") UUID id,
      @Bind("attempt") int attempt,
      @Bind("round") int round,
      @Bind("at") Instant at);
}
