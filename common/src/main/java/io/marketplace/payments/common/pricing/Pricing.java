package io.marketplace.payments.common.pricing;

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
}
