package io.marketplace.payments.common.stripe;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.UUID;
import org.jdbi.v3.core.Handle;

/**
 * The PaymentIntents of a listing rejected or expired that someone could still pay ({@code
 * payment_intents_to_cancel}): written in the rejection's or the expiry's own transaction, whoever
 * rejected it, so that none is left payable because a cancellation at Stripe failed, or was never
 * asked for (a rejection from another service on {@code marketplace.moderation.v1}, an expiry).
 * Likewise the PaymentIntent of an open purchase that checkout-api closed because the rules now
 * refuse that purchase, written in the transaction that closes it. checkout-api cancels its own
 * rejection's and refusal's at once and deletes their rows; the refund worker's janitor cancels the
 * rest ({@link PaymentIntentCancellation}).
 */
public final class PaymentIntentsToCancel {

  private PaymentIntentsToCancel() {}

  /** Why a listing takes no more payments, as {@code payment_intents_to_cancel.reason}. */
  public enum Reason {
    LISTING_REJECTED("listing_rejected"),
    LISTING_EXPIRED("listing_expired"),
    /**
     * A checkout or promotion the rules refused (the listing expired, a featured week no longer
     * fits) closed the open purchase of the same listing and type, whose buyer holds its client
     * secret.
     */
    CHECKOUT_REFUSED("checkout_refused");

    private final String wire;

    Reason(String wire) {
      this.wire = wire;
    }

    public String wire() {
      return wire;
    }
  }

  /**
   * Records, and returns, every purchase of listing {@code listingId}, rejected now, that can still
   * be paid ({@link #ofClosedListings}).
   */
  public static List<String> ofRejectedListing(Handle tx, UUID listingId, Instant now) {
    return ofClosedListings(tx, List.of(listingId), Reason.LISTING_REJECTED, now);
  }

  /**
   * Records, and returns, every purchase of the listings {@code listingIds}, closed now for {@code
   * reason}, that can still be paid: the posting fee of a listing waiting for it, and promotions of
   * an active one (a declined attempt's PaymentIntent is still payable), and an open attempt whose
   * payment is not recorded yet. Not one paid or processing: an attempt is closed only when the
   * next purchase of its kind starts, so a paid promotion's is usually still open, and Stripe
   * refuses to cancel a paid PaymentIntent (a processing one is on its way to being paid; if it
   * succeeds, it is refunded as a dead listing's). Nor one canceled already. Recording one twice
   * keeps the first row.
   */
  public static List<String> ofClosedListings(
      Handle tx, Collection<UUID> listingIds, Reason reason, Instant now) {
    if (listingIds.isEmpty()) {
      return List.of();
    }
    return tx.createQuery(
            """
            WITH open AS (
                SELECT stripe_payment_intent_id, listing_id FROM payments
                WHERE listing_id = ANY(:ids) AND status IN ('requires_payment', 'failed')
                UNION
                SELECT a.stripe_payment_intent_id, a.listing_id
                FROM checkout_attempts a
                    LEFT JOIN payments p
                        ON p.stripe_payment_intent_id = a.stripe_payment_intent_id
                WHERE a.listing_id = ANY(:ids) AND a.status = 'open'
                    AND a.stripe_payment_intent_id IS NOT NULL
                    AND (p.status IS NULL OR p.status IN ('requires_payment', 'failed'))),
            recorded AS (
                INSERT INTO payment_intents_to_cancel
                    (stripe_payment_intent_id, listing_id, reason, next_attempt_at, created_at)
                SELECT stripe_payment_intent_id, listing_id, :reason, :now, :now FROM open
                ON CONFLICT (stripe_payment_intent_id) DO NOTHING)
            SELECT stripe_payment_intent_id FROM open ORDER BY 1
            """)
        .bindArray("ids", UUID.class, listingIds)
        .bind("reason", reason.wire())
        .bind("now", now)
        .mapTo(String.class)
        .list();
  }

  /**
   * Records PaymentIntent {@code paymentIntentId} of listing {@code listingId}, whose purchase the
   * rules refused now and which its buyer could still pay, in the transaction that closes its
   * purchase; one recorded already keeps its first row.
   */
  public static void ofRefusedCheckout(
      Handle tx, String paymentIntentId, UUID listingId, Instant now) {
    tx.createUpdate(
            """
            INSERT INTO payment_intents_to_cancel
                (stripe_payment_intent_id, listing_id, reason, next_attempt_at, created_at)
            VALUES (:id, :listing, :reason, :now, :now)
            ON CONFLICT (stripe_payment_intent_id) DO NOTHING
            """)
        .bind("id", paymentIntentId)
        .bind("listing", listingId)
        .bind("reason", Reason.CHECKOUT_REFUSED.wire())
        .bind("now", now)
        .execute();
  }

  /** Stripe canceled it, or said it cannot be canceled any more: nothing left to do for it. */
  public static void done(Handle handle, String paymentIntentId) {
    handle.execute(
        "DELETE FROM payment_intents_to_cancel WHERE stripe_payment_intent_id = ?",
        paymentIntentId);
  }
}
