package io.marketplace.payments.common.stripe;

import com.stripe.StripeClient;
import com.stripe.exception.ApiConnectionException;
import com.stripe.exception.StripeException;
import com.stripe.model.PaymentIntent;
import com.stripe.net.RequestOptions;
import com.stripe.net.StripeResponse;
import com.stripe.param.PaymentIntentCancelParams;

/**
 * Cancels a PaymentIntent nobody may pay any more, the same way wherever it is done (checkout-api
 * for a rejected listing or a refused checkout, the refund worker for a banned or flagged user and
 * for a rejected listing's PaymentIntents left open): reason {@code abandoned}, idempotency key
 * {@code cancel-<id>}, so that two services, or a retry, asking for the same cancellation get
 * Stripe's one answer.
 */
public final class PaymentIntentCancellation {

  /** Stripe's code for a PaymentIntent paid, processing or canceled already: not cancelable. */
  public static final String NOT_CANCELABLE = "payment_intent_unexpected_state";

  private PaymentIntentCancellation() {}

  /**
   * Whether Stripe answered a cancellation from its idempotency layer ({@code Idempotent-Replayed:
   * true}): an earlier call under the key canceled it, and this one changed nothing.
   */
  public static boolean answeredBefore(PaymentIntent canceled) {
    StripeResponse response = canceled == null ? null : canceled.getLastResponse();
    return response != null
        && response.headers().firstValue("Idempotent-Replayed").map("true"::equals).orElse(false);
  }

  /**
   * Stripe not reached, failing in itself (5xx) or holding us off (429): not this PaymentIntent's
   * doing, so a pass of cancellations ends there rather than asking for every other one.
   */
  public static boolean isStripeUnavailable(StripeException e) {
    Integer status = e.getStatusCode();
    return e instanceof ApiConnectionException
        || status == null
        || status == 0
        || status >= 500
        || status == 429;
  }

  /** Cancels it; Stripe's PaymentIntent, as its answer to this call. */
  public static PaymentIntent cancel(StripeClient stripe, String paymentIntentId)
      throws StripeException {
    return stripe
        .v1()
        .paymentIntents()
        .cancel(
            paymentIntentId,
            PaymentIntentCancelParams.builder()
                .setCancellationReason(PaymentIntentCancelParams.CancellationReason.ABANDONED)
                .build(),
            RequestOptions.builder().setIdempotencyKey("cancel-" + paymentIntentId).build());
  }
}
