package io.marketplace.payments.system.support;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.StripeClient;
import com.stripe.exception.StripeException;
import com.stripe.model.PaymentIntent;
import com.stripe.param.PaymentIntentCreateParams;
import java.util.UUID;

/**
 * A PaymentIntent paid at Stripe with a test card, carrying the metadata checkout-api gives one.
 */
public final class PaidAtStripe {

  private PaidAtStripe() {}

  /** Creates and confirms it with {@code pm_card_visa}; returns its id, once it has succeeded. */
  public static String withVisa(
      StripeClient stripe, UUID userId, UUID listingId, String paymentType, long amountCents) {
    PaymentIntent pi;
    try {
      pi =
          stripe
              .v1()
              .paymentIntents()
              .create(
                  PaymentIntentCreateParams.builder()
                      .setAmount(amountCents)
                      .setCurrency("usd")
                      .setPaymentMethod("pm_card_visa")
                      .setConfirm(true)
                      .putMetadata("listing_id", listingId.toString())
                      .putMetadata("user_id", userId.toString())
                      .putMetadata("category_id", "1")
                      .putMetadata("payment_type", paymentType)
                      .build());
    } catch (StripeException e) {
      throw new IllegalStateException(e);
    }
    assertThat(pi.getStatus()).isEqualTo("succeeded");
    return pi.getId();
  }
}
