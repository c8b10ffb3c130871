package io.marketplace.payments.ops.reconcile;

import java.util.Locale;

/**
 * One difference between Stripe and the database.
 *
 * @param repair the event that lets the workers apply the missing fact, or null when a person must
 *     look (nothing the workers do would fix it)
 */
public record Finding(
    Kind kind, String paymentIntentId, String listingId, String detail, Repair repair) {

  /** What is missing, as the report names it. */
  public enum Kind {
    /** Stripe says succeeded; our payment is not (or we have no row, but the metadata is ours). */
    PAYMENT_NOT_RECORDED,
    /** A paid posting fee whose listing still waits for payment. */
    LISTING_NOT_ACTIVE,
    /** A paid posting fee whose listing does not exist. */
    LISTING_MISSING,
    /** A paid promotion with no promotion row and no automatic refund. */
    PROMOTION_MISSING,
    /**
     * A paid posting fee that activated nothing (its listing was activated by another payment, or
     * is over) and has no automatic refund: a person must refund it.
     */
    PAYMENT_NOT_DELIVERED,
    /** A refund Stripe made on one of our payments that we have no record of. */
    REFUND_MISSING,
    /** Our refund, done at Stripe, whose record does not say so. */
    REFUND_NOT_RECORDED,
    /** Our refund, failed or canceled at Stripe, whose record still says approved or processed. */
    REFUND_FAILED_NOT_RECORDED,
    /** A refund failed at Stripe that no admin has retried or closed yet: a person must decide. */
    REFUND_FAILED_OPEN,
    /** A dispute Stripe has on one of our payments that we have no record of. */
    DISPUTE_NOT_RECORDED,
    /** A dispute Stripe closed (won, lost, ...) whose record does not say so. */
    DISPUTE_OUTCOME_NOT_RECORDED,
    /**
     * An inquiry the issuer escalated to a chargeback (the same dispute id), whose record still
     * says inquiry: the money went back, and no chargeback is recorded or counted toward a ban.
     */
    DISPUTE_ESCALATION_NOT_RECORDED,
    /**
     * A chargeback (not an inquiry, not won) whose amount at Stripe, changed by the card network
     * after it opened, is not the amount our record holds: the wrong amount counts as gone back.
     */
    DISPUTE_AMOUNT_DIFFERS,
    /**
     * A PaymentIntent, refund or dispute the database holds that Stripe answers it does not have:
     * nearly always a {@code STRIPE_SECRET_KEY} of another account or mode (test, live) than the
     * services use, under which every other check comes back empty too.
     */
    NOT_AT_STRIPE;

    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  public boolean repairable() {
    return repair != null;
  }

  /**
   * Whether it leaves the reconciliation undone: a difference with Stripe no worker can repair. A
   * failed refund awaiting an admin is listed as a reminder, but it is no difference (our record
   * says failed, as Stripe does) and has its own queue and alert.
   */
  public boolean needsPerson() {
    return repair == null && kind != Kind.REFUND_FAILED_OPEN;
  }
}
