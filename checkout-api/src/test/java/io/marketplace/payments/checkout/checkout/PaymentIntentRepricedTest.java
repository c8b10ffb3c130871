package io.marketplace.payments.checkout.checkout;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.exception.StripeException;
import com.stripe.model.PaymentIntent;
import com.stripe.param.PaymentIntentUpdateParams;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.stripeemulator.http.ApiFaults;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A checkout whose open purchase holds a PaymentIntent that someone with the account's secret key
 * changed at Stripe (its dashboard, a script) before it was paid: another amount, or another
 * currency. Whoever holds its client secret pays what Stripe has, not what the API answers.
 */
class PaymentIntentRepricedTest {

  private static final String CANCEL = "POST /v1/payment_intents/{id}/cancel";

  private static TestApi app;

  @BeforeAll
  static void start() {
    app = TestApi.shared();
  }

  @ParameterizedTest(name = "changed at Stripe to {0} {1}")
  @CsvSource({"5000, usd", "500, eur"})
  void shouldNeverHandOutAPaymentIntentThatChargesOtherThanTheAnswerSays(
      long amount, String currency) throws StripeException {
    // Given a housing listing checked out (500 usd), its PaymentIntent then changed at Stripe
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");
    String changed = app.checkout(owner, listingId).json().get("paymentIntentId").asText();
    app.stripeClient
        .v1()
        .paymentIntents()
        .update(
            changed,
            PaymentIntentUpdateParams.builder().setAmount(amount).setCurrency(currency).build());

    // When the owner checks out again to pay
    Http.Response again = app.checkout(owner, listingId);

    // Then the PaymentIntent handed out charges exactly what the answer says, the posting fee in
    // usd, and the changed one can no longer be paid by anyone holding its client secret
    assertThat(again.status()).as(again.toString()).isEqualTo(200);
    assertThat(again.json().get("amountCents").asLong()).isEqualTo(500);
    assertThat(again.json().get("currency").asText()).isEqualTo("usd");
    PaymentIntent handedOut =
        app.stripeClient
            .v1()
            .paymentIntents()
            .retrieve(again.json().get("paymentIntentId").asText());
    assertThat(handedOut.getAmount()).isEqualTo(500);
    assertThat(handedOut.getCurrency()).isEqualTo("usd");
    assertThat(handedOut.getMetadata()).containsEntry("listing_id", listingId.toString());
    assertThat(app.stripeClient.v1().paymentIntents().retrieve(changed).getStatus())
        .isEqualTo("canceled");
    // and the new one is the purchase's from now on
    assertThat(app.checkout(owner, listingId).json().get("paymentIntentId").asText())
        .isEqualTo(handedOut.getId());
    assertThat(app.payAtStripe(handedOut.getId()).getAmountReceived()).isEqualTo(500);
  }

  @Test
  void shouldNotReplaceItWhileStripeDoesNotCancelIt() throws StripeException {
    // Given a housing listing checked out, its PaymentIntent then changed at Stripe to 5000 usd,
    // and Stripe holding off the next cancellation
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");
    String changed = app.checkout(owner, listingId).json().get("paymentIntentId").asText();
    app.stripeClient
        .v1()
        .paymentIntents()
        .update(changed, PaymentIntentUpdateParams.builder().setAmount(5000L).build());
    app.stripe.failNextApiCalls(CANCEL, 1, ApiFaults.Kind.RATE_LIMIT);
    Http.Response heldOff;
    try {
      // When the owner checks out again
      heldOff = app.checkout(owner, listingId);
    } finally {
      app.stripe.clearApiFailures();
    }

    // Then the answer is to come back, and no second PaymentIntent was made: the changed one is
    // still payable, and two payable ones could both be paid
    assertThat(heldOff.status()).as(heldOff.toString()).isEqualTo(503);
    assertThat(heldOff.header("Retry-After")).isPresent();
    assertThat(app.paymentIntentsOf(listingId))
        .extracting(PaymentIntent::getId)
        .containsExactly(changed);
    assertThat(
            app.db.count(
                "checkout_attempts WHERE listing_id = ? AND status = 'open'"
                    + " AND stripe_payment_intent_id = ?",
                listingId,
                changed))
        .isEqualTo(1);

    // and once Stripe cancels it, the retry gets a PaymentIntent at the posting fee
    Http.Response retried = app.checkout(owner, listingId);
    assertThat(retried.status()).as(retried.toString()).isEqualTo(200);
    String fresh = retried.json().get("paymentIntentId").asText();
    assertThat(fresh).isNotEqualTo(changed);
    assertThat(app.stripeClient.v1().paymentIntents().retrieve(fresh).getAmount()).isEqualTo(500);
    assertThat(app.stripeClient.v1().paymentIntents().retrieve(changed).getStatus())
        .isEqualTo("canceled");
  }
}
