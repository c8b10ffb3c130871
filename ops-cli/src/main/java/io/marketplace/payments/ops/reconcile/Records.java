package io.marketplace.payments.ops.reconcile;

import io.marketplace.payments.common.pricing.Pricing;
import io.marketplace.payments.common.refund.RefundDao;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Supplier;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.transaction.TransactionIsolationLevel;

/** What the database says about the PaymentIntents and refunds Stripe lists; read only. */
public final class Records {

  /**
   * Our record of a PaymentIntent and of what it bought.
   *
   * @param listingStatus null when the listing does not exist
   * @param listingPaymentIntentId the PaymentIntent that activated the listing (or, until then, the
   *     one checkout created for it)
   * @param listingActivated whether the listing was ever activated
   * @param heldBack whether the processor holds the purchase back while all of its money is gone
   *     ({@code payments.delivery_withheld_at}); it delivers it if the money comes back
   * @param amountCents what checkout priced the purchase at
   * @param currency the currency it priced it in
   */
  public record PaymentState(
      String status,
      String paymentType,
      UUID listingId,
      String listingStatus,
      String listingPaymentIntentId,
      boolean listingActivated,
      boolean hasPromotion,
      boolean hasAutomaticRefund,
      boolean refundedInFull,
      boolean heldBack,
      long amountCents,
      String currency) {

    /** Whether {@code paymentIntentId} is the payment that activated the listing. */
    public boolean activatedListing(String paymentIntentId) {
      return listingActivated && paymentIntentId.equals(listingPaymentIntentId);
    }

    /**
     * Settled without its purchase: all of its money went back (a dashboard refund, a chargeback)
     * and the processor holds the purchase back, whichever of the two it learnt first; the customer
     * has the money, and gets the purchase if the money comes back (a dispute won, a refund
     * failed).
     */
    public boolean heldBackWithItsMoneyGone() {
      return heldBack && refundedInFull;
    }
  }

  /**
   * Our record of a refund.
   *
   * @param paymentIntentId the payment it refunds
   * @param attempt its current attempt at Stripe: 0, and one more for each admin's retry
   */
  public record RefundState(
      UUID id, String status, String stripeRefundId, String paymentIntentId, int attempt) {}

  private final Jdbi jdbi;

  public Records(Jdbi jdbi) {
    this.jdbi = jdbi;
  }

  /**
   * Runs {@code reads}, calls of this object's methods, in one read-only transaction whose reads
   * all see the database as it was at its first: each method's handle is then that transaction's (a
   * handle Jdbi opens on a thread is reused there by nested calls). A check reads what is missing
   * and which of its repairs were applied: read at two moments, a worker applying a repair between
   * them would make the fact look missing although its repair was applied, and the next generation
   * would be minted for nothing. In one snapshot the repair either was applied and its fact is
   * there, or was not and is proposed again under the id the worker already knows.
   */
  public <T> T inOneSnapshot(Supplier<T> reads) {
    return jdbi.inTransaction(
        TransactionIsolationLevel.REPEATABLE_READ,
        h -> {
          h.execute("SET TRANSACTION READ ONLY");
          return reads.get();
        });
  }

  public Optional<PaymentState> payment(String paymentIntentId) {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    """
                    SELECT p.status, p.payment_type, p.listing_id,
                           l.status AS listing_status, l.payment_intent_id AS listing_pi,
                           l.activated_at IS NOT NULL AS listing_activated,
                           EXISTS (SELECT 1 FROM listing_promotions lp
                                   WHERE lp.stripe_payment_intent_id = p.stripe_payment_intent_id)
                             AS has_promotion,
                           EXISTS (SELECT 1 FROM payment_refunds r
                                   WHERE r.stripe_payment_intent_id = p.stripe_payment_intent_id
                                     AND r.reason IN ('technical_failure', 'moderation_rejection'))
                             AS has_automatic_refund,
                           ("""
                        + RefundDao.RETURNED_CENTS
                        + """
                           ) >= p.amount_cents AS refunded_in_full,
                           p.delivery_withheld_at IS NOT NULL AS held_back,
                           p.amount_cents, p.currency
                    FROM payments p LEFT JOIN marketplace_listings l ON l.id = p.listing_id
                    WHERE p.stripe_payment_intent_id = :pi
                    """)
                .bind("pi", paymentIntentId)
                .map(
                    (rs, ctx) ->
                        new PaymentState(
                            rs.getString("status"),
                            rs.getString("payment_type"),
                            rs.getObject("listing_id", UUID.class),
                            rs.getString("listing_status"),
                            rs.getString("listing_pi"),
                            rs.getBoolean("listing_activated"),
                            rs.getBoolean("has_promotion"),
                            rs.getBoolean("has_automatic_refund"),
                            rs.getBoolean("refunded_in_full"),
                            rs.getBoolean("held_back"),
                            rs.getLong("amount_cents"),
                            rs.getString("currency")))
                .findOne());
  }

  /**
   * Whether the processor would rebuild the missing payment of {@code paymentIntentId} from its
   * metadata: a purchase priced as we price it ({@link Pricing#pricedByACheckout}).
   */
  public boolean pricedByACheckout(
      String paymentIntentId,
      UUID listingId,
      UUID userId,
      String paymentType,
      long amountCents,
      String currency) {
    return jdbi.withHandle(
        h ->
            Pricing.pricedByACheckout(
                h, paymentIntentId, listingId, userId, paymentType, amountCents, currency));
  }

  /**
   * The PaymentIntents whose row was written at or after {@code from} that the database holds as
   * unpaid (not succeeded, not canceled), or as paid at or after {@code paidFrom}: checkout hands
   * the same PaymentIntent back while it is unpaid, so one created long ago can be paid at any
   * time, and what its payment bought is checked like that of one created since.
   */
  public List<String> unpaidSince(Instant from, Instant paidFrom) {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    """
                    SELECT stripe_payment_intent_id FROM payments
                    WHERE created_at >= :from
                      AND (status IN ('requires_payment', 'processing', 'failed')
                           OR (status = 'succeeded' AND succeeded_at >= :paidFrom))
                    ORDER BY created_at
                    """)
                .bind("from", from)
                .bind("paidFrom", paidFrom)
                .mapTo(String.class)
                .list());
  }

  /**
   * The Stripe refunds the database holds as made (processed, or approved with Stripe's id) whose
   * record was written at or after {@code from}: Stripe may fail a refund days after making it.
   */
  public List<String> madeRefundsSince(Instant from) {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    """
                    SELECT stripe_refund_id FROM payment_refunds
                    WHERE stripe_refund_id IS NOT NULL AND status IN ('approved', 'processed')
                      AND created_at >= :from
                    ORDER BY created_at
                    """)
                .bind("from", from)
                .mapTo(String.class)
                .list());
  }

  /**
   * Our record of a dispute.
   *
   * @param amountCents the dispute's amount as our record holds it: what a chargeback not yet
   *     counted (recorded before its payment's row) counts as gone back
   * @param chargebackCents the amount of its chargeback record ({@code payment_refunds}, reason
   *     {@code chargeback}), what counts as gone back once it is counted; null when it has none
   */
  public record DisputeState(String status, long amountCents, Long chargebackCents) {

    /** Whether the record, and its chargeback record if it has one, are for {@code amount}. */
    public boolean holdsAmount(long amount) {
      return amountCents == amount && (chargebackCents == null || chargebackCents == amount);
    }
  }

  /** Our record of a dispute, if we have one. */
  public Optional<DisputeState> dispute(String disputeId) {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    """
                    SELECT d.status, d.amount_cents,
                           (SELECT sum(r.amount_cents) FROM payment_refunds r
                            WHERE r.stripe_dispute_id = d.stripe_dispute_id
                              AND r.reason = 'chargeback') AS chargeback_cents
                    FROM payment_disputes d WHERE d.stripe_dispute_id = :id
                    """)
                .bind("id", disputeId)
                .map(
                    (rs, ctx) ->
                        new DisputeState(
                            rs.getString("status"),
                            rs.getLong("amount_cents"),
                            rs.getObject("chargeback_cents", Long.class)))
                .findOne());
  }

  /**
   * The disputes the database holds as open, or as an inquiry, whose record was written at or after
   * {@code from}: Stripe closes a dispute weeks after opening it, and an inquiry, even one closed
   * without a chargeback, may escalate to one under the same id.
   */
  public List<String> openDisputesSince(Instant from) {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    """
                    SELECT stripe_dispute_id FROM payment_disputes
                    WHERE (closed_at IS NULL OR is_inquiry) AND created_at >= :from
                    ORDER BY created_at
                    """)
                .bind("from", from)
                .mapTo(String.class)
                .list());
  }

  public boolean listingExists(UUID listingId) {
    return jdbi.withHandle(
        h ->
            h.createQuery("SELECT count(*) FROM marketplace_listings WHERE id = :id")
                    .bind("id", listingId)
                    .mapTo(Long.class)
                    .one()
                > 0);
  }

  /** A refund that ended failed at Stripe and awaits an admin's retry or close. */
  public record FailedRefund(
      UUID id, String paymentIntentId, UUID listingId, long amountCents, String failureReason) {}

  public List<FailedRefund> openFailedRefunds(java.time.Instant since) {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    """
                    SELECT id, stripe_payment_intent_id, listing_id, amount_cents, failure_reason
                    FROM payment_refunds
                    WHERE status = 'failed' AND closed_at IS NULL AND failed_at >= :since
                    ORDER BY failed_at
                    """)
                .bind("since", since)
                .map(
                    (rs, ctx) ->
                        new FailedRefund(
                            rs.getObject("id", UUID.class),
                            rs.getString("stripe_payment_intent_id"),
                            rs.getObject("listing_id", UUID.class),
                            rs.getLong("amount_cents"),
                            rs.getString("failure_reason")))
                .list());
  }

  /**
   * Whether the refund worker keeps the Stripe refund until its PaymentIntent has a payments row
   * ({@code refunds_awaiting_payment}): it counts as money gone back, and is recorded once the row
   * exists.
   */
  public boolean refundAwaitingPayment(String stripeRefundId) {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                        "SELECT count(*) FROM refunds_awaiting_payment WHERE stripe_refund_id = :id")
                    .bind("id", stripeRefundId)
                    .mapTo(Long.class)
                    .one()
                > 0);
  }

  public Optional<RefundState> refundByStripeId(String stripeRefundId) {
    return refund("stripe_refund_id = :key", stripeRefundId);
  }

  public Optional<RefundState> refundById(UUID id) {
    return refund("id = :key", id);
  }

  private Optional<RefundState> refund(String where, Object key) {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    "SELECT id, status, stripe_refund_id, stripe_payment_intent_id, attempt"
                        + " FROM payment_refunds WHERE "
                        + where)
                .bind("key", key)
                .map(
                    (rs, ctx) ->
                        new RefundState(
                            rs.getObject("id", UUID.class),
                            rs.getString("status"),
                            rs.getString("stripe_refund_id"),
                            rs.getString("stripe_payment_intent_id"),
                            rs.getInt("attempt")))
                .findOne());
  }

  /**
   * The repair events of {@code repair} that {@code consumer}, the worker applying that kind of
   * fact, has already applied: the first generation and any later ones ({@code ..._2}, ...). Other
   * consumers of the topic may record them too (the payment processor audits every event); they do
   * not count.
   */
  public List<String> appliedRepairs(Repair repair, String consumer) {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    """
                    SELECT event_key FROM processed_events
                    WHERE consumer = :consumer
                      AND (event_key = :base OR event_key ~ ('^' || :base || '_[0-9]+$'))
                    """)
                .bind("consumer", consumer)
                .bind("base", repair.baseEventId())
                .mapTo(String.class)
                .list());
  }

  /**
   * What the payment processor's audit trail ({@code webhook_events}) says became of an event:
   * {@code ignored: payment is already succeeded}, for instance.
   */
  public Optional<String> outcome(String eventId) {
    return jdbi.withHandle(
        h ->
            h.createQuery("SELECT status, error_message FROM webhook_events WHERE event_id = :id")
                .bind("id", eventId)
                .map(
                    (rs, ctx) ->
                        rs.getString("status")
                            + (rs.getString("error_message") == null
                                ? ""
                                : ": " + rs.getString("error_message")))
                .findOne());
  }
}
