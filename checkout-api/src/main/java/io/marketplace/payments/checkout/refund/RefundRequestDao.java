package io.marketplace.payments.checkout.refund;

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

/** This service's statements on {@code payment_refunds} and the payments they refund. */
@RegisterRowMapper(RefundRecord.Mapper.class)
@RegisterConstructorMapper(RefundRequestDao.Payment.class)
public interface RefundRequestDao {

  /**
   * The listing's succeeded posting fees, latest first: a listing has one, but a second paid while
   * the first was on its way (refunded as undeliverable) or after the first went back is another.
   */
  @SqlQuery(
      """
      SELECT stripe_payment_intent_id FROM payments
      WHERE listing_id = :listingId AND payment_type = 'posting_fee' AND status = 'succeeded'
      ORDER BY succeeded_at DESC, stripe_payment_intent_id
      """)
  List<String> succeededPostingFees(@Bind("listingId") UUID listingId);

  /** A row of {@code payments}, as a refund of it needs it. */
  record Payment(
      String stripePaymentIntentId,
      UUID listingId,
      UUID userId,
      String paymentType,
      long amountCents,
      String status) {

    public boolean succeeded() {
      return "succeeded".equals(status);
    }
  }

  /**
   * Reads a payment and holds its row until the transaction ends: every path that reserves part of
   * a payment for a refund takes this lock first, so two refunds cannot both take the last of it.
   */
  @SqlQuery(
      """
      SELECT stripe_payment_intent_id, listing_id, user_id, payment_type, amount_cents, status
      FROM payments WHERE stripe_payment_intent_id = :pi FOR UPDATE
      """)
  Optional<Payment> lockPayment(@Bind("pi") String paymentIntentId);

  @SqlUpdate(
      """
      INSERT INTO payment_refunds
          (id, user_id, listing_id, stripe_payment_intent_id, amount_cents, reason, status, note,
           created_at, updated_at)
      VALUES (:id, :userId, :listingId, :paymentIntentId, :amountCents, 'user_request', 'pending',
              :note, :now, :now)
      """)
  void insertUserRequest(
      @Bind("id") UUID id,
      @Bind("userId") UUID userId,
      @Bind("listingId") UUID listingId,
      @Bind("paymentIntentId") String paymentIntentId,
      @Bind("amountCents") long amountCents,
      @Bind("note") String note,
      @Bind("now") Instant now);

  /**
   * The latest refund {@code adminId} made of the payment for {@code amountCents} with {@code note}
   * since {@code since}, if any: the first of a double click sent without an Idempotency-Key.
   */
  @SqlQuery(
      """
      SELECT id FROM payment_refunds
      WHERE stripe_payment_intent_id = :pi AND created_by = :adminId
        AND amount_cents = :amountCents AND note = :note AND created_at > :since
      ORDER BY created_at DESC LIMIT 1
      """)
  Optional<UUID> sameAdminRefundSince(
      @Bind("pi") String paymentIntentId,
      @Bind("adminId") UUID adminId,
      @Bind("amountCents") long amountCents,
      @Bind("note") String note,
      @Bind("since") Instant since);

  /**
   * A super_admin's refund of a chosen amount: born {@code approved} (an admin decided it), with
   * the admin's note and who they are.
   */
  @SqlUpdate(
      """
      INSERT INTO payment_refunds
          (id, user_id, listing_id, stripe_payment_intent_id, amount_cents, reason, status, note,
           created_by, created_at, updated_at)
      VALUES (:id, :userId, :listingId, :paymentIntentId, :amountCents, 'user_request', 'approved',
              :note, :createdBy, :now, :now)
      """)
  void insertAdminRefund(
      @Bind("id") UUID id,
      @Bind("userId") UUID userId,
      @Bind("listingId") UUID listingId,
      @Bind("paymentIntentId") String paymentIntentId,
      @Bind("amountCents") long amountCents,
      @Bind("note") String note,
      @Bind("createdBy") UUID createdBy,
      @Bind("now") Instant now);

  /**
   * The review queue, oldest first; every status when {@code status} is null. A page starts after
   * the record ({@code afterCreatedAt}, {@code afterId}), or at the oldest when both are null.
   */
  @SqlQuery(
      "SELECT "
          + RefundRecord.COLUMNS
          + " FROM payment_refunds"
          + " WHERE (CAST(:status AS text) IS NULL OR status = :status)"
          + " AND (CAST(:afterCreatedAt AS timestamptz) IS NULL"
          + " OR (created_at, id) > (CAST(:afterCreatedAt AS timestamptz), CAST(:afterId AS uuid)))"
          + " ORDER BY created_at, id LIMIT :limit")
  List<RefundRecord> list(
      @Bind("status") String status,
      @Bind("afterCreatedAt") Instant afterCreatedAt,
      @Bind("afterId") UUID afterId,
      @Bind("limit") int limit);

  /**
   * Keeps a super_admin's decision on a refund ({@code approved}, {@code rejected}, {@code
   * retried}, {@code closed}): who, when, the reason given, if any, and the request's {@link
   * io.marketplace.payments.checkout.idempotency.RequestKey} (null without an Idempotency-Key).
   * Called in the transaction that changes the refund.
   */
  @SqlUpdate(
      """
      INSERT INTO refund_decisions
          (refund_id, decision, decided_by, reason, decided_at, request_key)
      VALUES (:refundId, :decision, :decidedBy, :reason, :at, :requestKey)
      """)
  void recordDecision(
      @Bind("refundId") UUID refundId,
      @Bind("decision") String decision,
      @Bind("decidedBy") UUID decidedBy,
      @Bind("reason") String reason,
      @Bind("requestKey") String requestKey,
      @Bind("at") Instant at);

  /**
   * Whether the request of {@code requestKey} took this {@code decision} on the refund since {@code
   * since}: a rerun of a request whose answer was lost after its decision committed.
   */
  @SqlQuery(
      """
      SELECT EXISTS (
          SELECT 1 FROM refund_decisions
          WHERE refund_id = :refundId AND decision = :decision AND request_key = :requestKey
            AND decided_at > :since)
      """)
  boolean decidedUnder(
      @Bind("refundId") UUID refundId,
      @Bind("decision") String decision,
      @Bind("requestKey") String requestKey,
      @Bind("since") Instant since);

  /** A part of a payment's automatic refund (a moderation rejection's, a technical failure's). */
  record AutomaticRefund(UUID id, String reason, int automaticPart, String status) {}

  /**
   * The latest part of the payment's automatic refund that still gives its money back or owes it
   * (not rejected by an admin, not a failed one closed), if any.
   */
  @SqlQuery(
      """
      SELECT id, reason, automatic_part, status FROM payment_refunds
      WHERE stripe_payment_intent_id = :pi
        AND reason IN ('technical_failure', 'moderation_rejection')
        AND status <> 'rejected' AND NOT (status = 'failed' AND closed_at IS NOT NULL)
      ORDER BY automatic_part DESC LIMIT 1
      """)
  @RegisterConstructorMapper(AutomaticRefund.class)
  Optional<AutomaticRefund> automaticRefund(@Bind("pi") String paymentIntentId);

  /** Which part of its payment's automatic refund a refund is (0 for the first, V21). */
  @SqlQuery("SELECT automatic_part FROM payment_refunds WHERE id = :id")
  int automaticPart(@Bind("id") UUID id);

  @SqlUpdate(
      "UPDATE payment_refunds SET status = 'approved', updated_at = :now"
          + " WHERE id = :id AND status = 'pending'")
  int approve(@Bind("id") UUID id, @Bind("now") Instant now);

  @SqlUpdate(
      """
      UPDATE payment_refunds SET status = 'rejected', rejection_reason = :reason, updated_at = :now
      WHERE id = :id AND status = 'pending'
      """)
  int reject(@Bind("id") UUID id, @Bind("reason") String reason, @Bind("now") Instant now);

  /**
   * Reopens the payment's failed refunds the refund worker closed because the automatic refund
   * {@code id} owed their money ({@code closed_for}, V48): that refund is rejected and will never
   * pay it, so they are owed again, for an admin to retry or close. Returns how many.
   */
  @SqlUpdate(
      """
      UPDATE payment_refunds
      SET closed_at = NULL, close_reason = NULL, close_outcome = NULL, closed_for = NULL,
          updated_at = :now
      WHERE stripe_payment_intent_id = :pi AND closed_for = :id
        AND status = 'failed' AND close_outcome = 'not_owed'
      """)
  int reopenClosedFor(
      @Bind("pi") String paymentIntentId, @Bind("id") UUID id, @Bind("now") Instant now);
}
