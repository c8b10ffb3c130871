package io.marketplace.payments.checkout.checkout;

import io.marketplace.payments.common.pricing.Pricing;
import java.time.Duration;

/**
 * The prices of promotions and the bump rule (SPEC §1), in one place. Posting fees are per category
 * and live in the {@code categories} table.
 */
public final class Prices {

  public static final String CURRENCY = Pricing.CURRENCY;
  public static final int FEATURED_CENTS = Pricing.FEATURED_CENTS;
  public static final int BUMP_CENTS = Pricing.BUMP_CENTS;

  /** How long a featured promotion runs; a second one extends from the end of the first. */
  public static final Duration FEATURED_FOR = Duration.ofDays(7);

  /** At most one bump per listing in this interval, checked when it is bought. */
  public static final Duration BUMP_INTERVAL = Duration.ofHours(24);

  private Prices() {}

  /** The price of a promotion; posting fees come from the listing's category. */
  public static int promotionCents(PaymentType type) {
    return switch (type) {
      case PROMOTION_FEATURED -> FEATURED_CENTS;
      case PROMOTION_BUMP -> BUMP_CENTS;
      case POSTING_FEE ->
          throw new IllegalArgumentException("a posting fee is priced by its category");
    };
  }
}
