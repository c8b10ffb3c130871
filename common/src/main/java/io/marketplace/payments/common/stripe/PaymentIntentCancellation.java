package io.marketplace.payments.common.stripe;

import com.stripe.StripeClient;
import com.stripe.exception.ApiConnectionException;
import com.stripe.exception.StripeException;
import com.stripe.model.PaymentIntent;
import com.stripe.model.StripeError;
import com.stripe.net.RequestOptions;
import com.stripe.net.StripeResponse;
import com.stripe.param.PaymentIntentCancelParams;
import java.util.UUID;

/**
 * Cancels a PaymentIntent nobody may pay any more, the same way wherever it is done (checkout-api
 * for a rejected listing or a refused checkout, the refund worker for a banned or flagged user and
 * for a rejected listing's PaymentIntents left open): reason {@code abandoned}, idempotency key
 * {@code cancel-<id>}, so that two services, or a retry, asking for the same cancellation get
 * Stripe's one answer once it is canceled.
 *
 * <p>Stripe keeps for 24 hours whatever it answered under a key, a refusal (400 {@code
 * payment_intent_unexpected_state} while the PaymentIntent was processing) or a server error
 * included, and replays it to every call with that key. Such an answer may no longer hold: a
 * processing payment that failed leaves the PaymentIntent in {@code requires_payment_method},
 * payable again and cancelable. So an error Stripe answers from its idempotency layer ({@code
 * Idempotent-Replayed: true}) is not taken as the answer: the cancellation is asked again at once
 * under a key of that call's own ({@code cancel-<id>-<random>}), which reaches the PaymentIntent as
 * it is now. Callers asking at once (two replicas, two services) then both reach Stripe, which is
 * harmless: a cancellation is idempotent by nature, and the second is refused with {@link
 * #NOT_CANCELABLE}, which every caller takes as done.
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
   * Whether Stripe refused the cancellation because the PaymentIntent's payment is processing: not
   * settled, since a payment that fails leaves it payable again, and then cancelable.
   */
  public static boolean refusedWhileProcessing(StripeException e) {
    StripeError error = e.getStripeError();
    return NOT_CANCELABLE.equals(e.getCode())
        && error != null
        && error.getPaymentIntent() != null
        && "processing".equals(error.getPaymentIntent().getStatus());
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

  /**
   * Cancels it; Stripe's PaymentIntent, as its answer to this call. An error Stripe replays from an
   * earlier call under the key is not the answer: the cancellation is asked again under a new key.
   */
  public static PaymentIntent cancel(StripeClient stripe, String paymentIntentId)
      throws StripeException {
    try {
      return cancel(stripe, paymentIntentId, "cancel-" + paymentIntentId);
    } catch (StripeException e) {
      if (!replayed(e)) {
        throw e;
      }
      // an earlier call's refusal or failure, kept for the key: ask Stripe as the PaymentIntent is
      return cancel(stripe, paymentIntentId, "cancel-" + paymentIntentId + "-" + UUID.randomUUID());
    }
  }

  private static PaymentIntent cancel(StripeClient stripe, String paymentIntentId, String key)
      throws StripeException {
    return stripe
        .v1()
        .paymentIntents()
        .cancel(
            paymentIntentId,
            PaymentIntentCancelParams.builder()
                .setCancellationReason(PaymentIntentCancelParams.CancellationReason.ABANDONED)
                .build(),
            RequestOptions.builder().setIdempotencyKey(key).build());
  }

  /** Whether Stripe answered an error from its idempotency layer, not from the PaymentIntent. */
  private static boolean replayed(StripeException e) {
    StripeResponse response =
        e.getStripeError() == null ? null : e.getStripeError().getLastResponse();
    return response != null
        && response.headers().firstValue("Idempotent-Replayed").map("true"::equals).orElse(false);
  }
}
