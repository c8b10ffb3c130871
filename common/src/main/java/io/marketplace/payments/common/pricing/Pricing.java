package io.marketplace.payments.common.pricing;

import java.util.UUID;
import org.jdbi.v3.core.Handle;

/**
 * What the marketplace charges (SPEC §1), for checkout-api, which prices a purchase, and the
 * payment processor, which checks that a payment it has no checkout of was priced so. Posting fees
 * are per category and live in the {@code categories} table.
 */
public final class Pricing {

  /** Every payment is in this currency. */
  public static final String CURRENCY = "usd";

  /** A featured week. */
  public static final int FEATURED_CENTS = 500;

  /** A bump. */
  public static final int BUMP_CENTS = 200;

  private Pricing() {}

  /**
   * Whether a purchase the database holds no payment of is priced as we price it, always in our
   * currency (a checkout prices in nothing else, and an attempt does not record one): a checkout
   * attempt of the same listing, user, type and amount, not yet tied to another PaymentIntent; or,
   * when the attempt is gone too (a database restored from before the checkout), the listing's
   * owner paying today's price of the purchase. The payment processor rebuilds a missing payment
   * from a PaymentIntent's metadata only when this holds, and reconciliation repairs only what the
   * processor would deliver.
   */
  public static boolean pricedByACheckout(
      Handle h,
      String paymentIntentId,
      UUID listingId,
      UUID userId,
      String paymentType,
      long amountCents,
      String currency) {
    return h.createQuery(
            """
            SELECT :currency = :ourCurrency AND (EXISTS (
                SELECT 1 FROM checkout_attempts
                WHERE listing_id = :listing AND user_id = :user AND payment_type = :type
                  AND amount_cents = :amount
                  AND (stripe_payment_intent_id IS NULL OR stripe_payment_intent_id = :pi))
              OR EXISTS (
                SELECT 1 FROM marketplace_listings l JOIN categories c ON c.id = l.category_id
                WHERE l.id = :listing AND l.user_id = :user
                  AND :amount = CASE :type WHEN 'posting_fee' THEN c.posting_fee_cents
                                           WHEN 'promotion_featured' THEN :featured
                                           WHEN 'promotion_bump' THEN :bump END))
            """)
        .bind("listing", listingId)
        .bind("user", userId)
        .bind("type", paymentType)
        .bind("amount", amountCents)
        .bind("pi", paymentIntentId)
        .bind("currency", currency)
        .bind("ourCurrency", CURRENCY)
        .bind("featured", FEATURED_CENTS)
        .bind("bump", BUMP_CENTS)
        .mapTo(Boolean.class)
        .one();
  }
}
