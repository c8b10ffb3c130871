package io.marketplace.payments.checkout.checkout;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.exception.StripeException;
import com.stripe.model.PaymentIntent;
import com.stripe.param.PaymentIntentUpdateParams;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A checkout whose open purchase holds a PaymentIntent that someone with the account's secret key
 * changed at Stripe (its dashboard, a script) before it was paid: another amount, or another
 * currency. Whoever holds its client secret pays what Stripe has, not what the API answers.
 */
class PaymentIntentRepricedTest {

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
}
