package io.marketplace.payments.refunds.chargeback;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** The chargeback statements on {@code payment_disputes}, {@code payment_refunds} and users. */
@RegisterConstructorMapper(DisputeRow.class)
public interface DisputeStore {

  @SqlQuery(
      """
      SELECT stripe_dispute_id, stripe_payment_intent_id, stripe_charge_id, user_id, amount_cents,
             reason, status, is_inquiry, closed_at
      FROM payment_disputes WHERE stripe_dispute_id = :id FOR UPDATE
      """)
  Optional<DisputeRow> lock(@Bind("id") String disputeId);

  /** When we first recorded the dispute (its first event), or empty when we have not. */
  @SqlQuery("SELECT created_at FROM payment_disputes WHERE stripe_dispute_id = :id")
  Optional<Instant> recordedAt(@Bind("id") String disputeId);

  /** The PaymentIntent a dispute is on (it never changes), read without a lock. */
  @SqlQuery("SELECT stripe_payment_intent_id FROM payment_disputes WHERE stripe_dispute_id = :id")
  Optional<String> paymentIntentOf(@Bind("id") String disputeId);

  /** A dispute recorded without a user, in the order the janitor takes them. */
  record WithoutUser(String stripeDisputeId, Instant createdAt) {}

  /**
   * Disputes recorded without a user (their events came before their payment's row) whose payment's
   * row exists now, oldest first, after the one created at {@code afterAt} as {@code afterId}
   * (null: from the first).
   */
  @SqlQuery(
      """
      SELECT d.stripe_dispute_id, d.created_at FROM payment_disputes d
      JOIN payments p ON p.stripe_payment_intent_id = d.stripe_payment_intent_id
      WHERE d.user_id IS NULL
        AND (CAST(:afterAt AS timestamptz) IS NULL
             OR (d.created_at, d.stripe_dispute_id)
                > (CAST(:afterAt AS timestamptz), CAST(:afterId AS text)))
      ORDER BY d.created_at, d.stripe_dispute_id
      LIMIT :limit
      """)
  @RegisterConstructorMapper(WithoutUser.class)
  List<WithoutUser> withoutUserButWithPayment(
      @Bind("afterAt") Instant afterAt, @Bind("afterId") String afterId, @Bind("limit") int limit);

  @SqlUpdate(
      """
      INSERT INTO payment_disputes
          (stripe_dispute_id, stripe_payment_intent_id, stripe_charge_id, user_id, amount_cents,
           amount_as_of, reason, status, status_as_of, is_inquiry, created_at, updated_at,
           closed_at)
      VALUES (:id, :pi, :charge, :userId, :amount, :toldAt, :reason, :status, :toldAt,
              :inquiry, :at, :at, :closedAt)
      ON CONFLICT (stripe_dispute_id) DO NOTHING
      """)
  int insert(
      @Bind("id") String disputeId,
      @Bind("pi") String paymentIntentId,
      @Bind("charge") String chargeId,
      @Bind("userId") UUID userId,
      @Bind("amount") long amountCents,
      @Bind("toldAt") Instant toldAt,
      @Bind("reason") String reason,
      @Bind("status") String status,
      @Bind("inquiry") boolean inquiry,
      @Bind("at") Instant at,
      @Bind("closedAt") Instant closedAt);

  /**
   * A later state of a dispute; an inquiry can escalate to a chargeback, never the reverse: an
   * inquiry's state ({@code warning_*}) told after the escalation (delivery order is not
   * guaranteed) changes nothing but {@code updated_at}. An escalation takes its own close (open, or
   * the chargeback's), not the close of the inquiry it was, and its own amount: the chargeback may
   * take back less than the inquiry was about (a part refunded during the inquiry, a part charged
   * back), and that amount is what the chargeback records as gone back. The card network may also
   * change the amount of a chargeback (or an inquiry) after it opened: an event created at Stripe
   * ({@code toldAt}) no earlier than the one whose amount is recorded brings its amount, and an
   * older one arriving late does not take it back. So with the status: a closed dispute's outcome
   * may be reversed (lost after won, or won after lost), and an event of the earlier outcome
   * delivered after the later one does not bring the earlier back ({@code status_as_of}, V54).
   */
  @SqlUpdate(
      """
      UPDATE payment_disputes
      SET status = CASE WHEN is_inquiry AND NOT :inquiry THEN :status
                        WHEN is_inquiry = :inquiry
                             AND CAST(:toldAt AS timestamptz)
                                 >= COALESCE(status_as_of, '-infinity') THEN :status
                        ELSE status END,
          status_as_of = CASE WHEN is_inquiry AND NOT :inquiry
                                   THEN CAST(:toldAt AS timestamptz)
                              WHEN is_inquiry = :inquiry
                                   AND CAST(:toldAt AS timestamptz)
                                       >= COALESCE(status_as_of, '-infinity')
                                   THEN CAST(:toldAt AS timestamptz)
                              ELSE status_as_of END,
          closed_at = CASE WHEN is_inquiry AND NOT :inquiry THEN :closedAt
                           WHEN is_inquiry = :inquiry
                                AND CAST(:toldAt AS timestamptz)
                                    >= COALESCE(status_as_of, '-infinity')
                                THEN COALESCE(closed_at, :closedAt)
                           ELSE closed_at END,
          amount_cents = CASE WHEN :amount > 0 AND is_inquiry AND NOT :inquiry THEN :amount
                              WHEN :amount > 0 AND is_inquiry = :inquiry
                                   AND CAST(:toldAt AS timestamptz)
                                       >= COALESCE(amount_as_of, '-infinity') THEN :amount
                              ELSE amount_cents END,
          amount_as_of = CASE WHEN :amount > 0 AND is_inquiry AND NOT :inquiry
                                   THEN CAST(:toldAt AS timestamptz)
                              WHEN :amount > 0 AND is_inquiry = :inquiry
                                   AND CAST(:toldAt AS timestamptz)
                                       >= COALESCE(amount_as_of, '-infinity')
                                   THEN CAST(:toldAt AS timestamptz)
                              ELSE amount_as_of END,
          is_inquiry = is_inquiry AND :inquiry, updated_at = :at
      WHERE stripe_dispute_id = :id
      """)
  int update(
      @Bind("id") String disputeId,
      @Bind("status") String status,
      @Bind("inquiry") boolean inquiry,
      @Bind("amount") long amountCents,
      @Bind("toldAt") Instant toldAt,
      @Bind("closedAt") Instant closedAt,
      @Bind("at") Instant at);

  /**
   * Gives a dispute recorded without a user (its first event came before its payment's row) the
   * user of the payment, once the row is there; 0 when it had one.
   */
  @SqlUpdate(
      """
      UPDATE payment_disputes SET user_id = :userId, updated_at = :at
      WHERE stripe_dispute_id = :id AND user_id IS NULL
      """)
  int attachUser(@Bind("id") String disputeId, @Bind("userId") UUID userId, @Bind("at") Instant at);

  /** Records the chargeback as a processed refund; 0 when the dispute is already recorded. */
  @SqlUpdate(
      """
      INSERT INTO payment_refunds
          (id, user_id, listing_id, stripe_payment_intent_id, stripe_dispute_id, amount_cents,
           reason, status, note, created_at, updated_at, processed_at)
      VALUES (:id, :userId, :listingId, :pi, :disputeId, :amount, 'chargeback', 'processed', :note,
              :at, :at, :at)
      ON CONFLICT DO NOTHING
      """)
  int insertChargeback(
      @Bind("id") UUID refundId,
      @Bind("userId") UUID userId,
      @Bind("listingId") UUID listingId,
      @Bind("pi") String paymentIntentId,
      @Bind("disputeId") String disputeId,
      @Bind("amount") long amountCents,
      @Bind("note") String note,
      @Bind("at") Instant at);

  /** The amount of the dispute's chargeback record, locked, or empty when it has none yet. */
  @SqlQuery(
      """
      SELECT amount_cents FROM payment_refunds
      WHERE stripe_dispute_id = :disputeId AND reason = 'chargeback' FOR UPDATE
      """)
  Optional<Long> lockChargebackAmount(@Bind("disputeId") String disputeId);

  /** The dispute's chargeback record takes the dispute's amount as it is now. */
  @SqlUpdate(
      """
      UPDATE payment_refunds SET amount_cents = :amount, updated_at = :at
      WHERE stripe_dispute_id = :disputeId AND reason = 'chargeback'
      """)
  int setChargebackAmount(
      @Bind("disputeId") String disputeId,
      @Bind("amount") long amountCents,
      @Bind("at") Instant at);

  @SqlUpdate(
      """
      UPDATE payment_refunds SET note = :note, updated_at = :at
      WHERE stripe_dispute_id = :disputeId AND note IS DISTINCT FROM :note
      """)
  int noteOutcome(
      @Bind("disputeId") String disputeId, @Bind("note") String note, @Bind("at") Instant at);

  /** Makes sure the user has a row to lock and ban (users are created lazily elsewhere). */
  @SqlUpdate("INSERT INTO users (id) VALUES (:id) ON CONFLICT (id) DO NOTHING")
  int ensureUser(@Bind("id") UUID userId);

  /**
   * Locks the user: chargebacks of one user on different partitions are counted one after the
   * other, so two concurrent disputes still see each other and the second one bans.
   */
  @SqlQuery("SELECT id FROM users WHERE id = :id FOR UPDATE")
  Optional<UUID> lockUser(@Bind("id") UUID userId);

  /**
   * Marks a dispute as counted the first time it is a chargeback that is not won (nor prevented); 1
   * only then, so a ban is decided once per new dispute, never again on later events about it.
   */
  @SqlUpdate(
      """
      UPDATE payment_disputes SET counted_at = :at
      WHERE stripe_dispute_id = :id AND counted_at IS NULL AND NOT is_inquiry
        AND status NOT IN ('won', 'prevented')
      """)
  int markCounted(@Bind("id") String disputeId, @Bind("at") Instant at);

  /**
   * Marks as counted a chargeback first told already won, its closing events delivered before its
   * opening ones: it was a chargeback not won from its opening to its win, and in Stripe's order
   * was counted then. 1 only the first time, so its ban is decided once, as for any other.
   */
  @SqlUpdate(
      """
      UPDATE payment_disputes SET counted_at = :at
      WHERE stripe_dispute_id = :id AND counted_at IS NULL AND NOT is_inquiry AND status = 'won'
      """)
  int markCountedWonFirst(@Bind("id") String disputeId, @Bind("at") Instant at);

  /** The user's disputes that count toward a ban: counted chargebacks not closed as won. */
  @SqlQuery(
      """
      SELECT stripe_dispute_id FROM payment_disputes
      WHERE user_id = :userId AND counted_at IS NOT NULL AND status NOT IN ('won', 'prevented')
      ORDER BY created_at, stripe_dispute_id
      """)
  List<String> chargebacksOf(@Bind("userId") UUID userId);

  /** Bans a user not yet banned; 0 when already banned. */
  @SqlUpdate(
      """
      UPDATE users SET banned_at = :at, ban_reason = :reason, updated_at = :at
      WHERE id = :id AND banned_at IS NULL
      """)
  int ban(@Bind("id") UUID userId, @Bind("reason") String reason, @Bind("at") Instant at);
}
