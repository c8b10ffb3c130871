package io.marketplace.payments.checkout.checkout;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.model.PaymentIntent;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Stripe keeps a 4xx it answered from inside the PaymentIntent creation endpoint for the request's
 * Idempotency-Key, and answers every retry with that key the same for 24 hours. A purchase whose
 * creation Stripe refused is not stuck on it: the next checkout asks under a new key, and only one
 * PaymentIntent is ever made and handed out for it. A refusal of what the purchase is (its amount)
 * is told as such, not as a failure of the provider. (An API of its own: a test changes a
 * category's posting fee.)
 */
class StripeRefusalOnCreationTest {

  private static TestApi app;

  @BeforeAll
  static void start() {
    app = TestApi.start(config -> config);
  }

  @AfterAll
  static void stop() {
    app.close();
  }

  @Test
  void shouldCreateThePaymentIntentOnRetryAfterStripeKeptA4xxForTheFirstKey() {
    // Given a checkout that Stripe refused with a 400 it keeps for the purchase's key (the account
    // could not take charges then; settled since)
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");
    String key = UUID.randomUUID().toString();
    app.stripe.refuseNextPaymentIntentCreations(1);
    Http.Response refused = app.checkout(owner, listingId, key);
    assertThat(refused.status()).as(refused.toString()).isEqualTo(502);

    // When the owner tries again, with the same Idempotency-Key
    Http.Response retried = app.checkout(owner, listingId, key);

    // Then the retry gets a PaymentIntent, and it can be paid
    assertThat(retried.status()).as(retried.toString()).isEqualTo(200);
    String paymentIntentId = retried.json().get("paymentIntentId").asText();
    assertThat(retried.json().get("amountCents").asLong()).isEqualTo(500);
    // and it is the only one Stripe made for the purchase, and its only payment
    assertThat(app.paymentIntentsOf(listingId))
        .extracting(PaymentIntent::getId)
        .containsExactly(paymentIntentId);
    assertThat(app.db.count("payments WHERE listing_id = ?", listingId)).isEqualTo(1);
    // and a checkout again hands out that same PaymentIntent
    Http.Response again = app.checkout(owner, listingId);
    assertThat(again.status()).as(again.toString()).isEqualTo(200);
    assertThat(again.json().get("paymentIntentId").asText()).isEqualTo(paymentIntentId);
    assertThat(app.payAtStripe(paymentIntentId).getStatus()).isEqualTo("succeeded");
  }

  @Test
  void shouldAnswerThatThePurchaseCannotBePaidAsPricedWhenStripeRefusesItsAmount() {
    // Given a category whose posting fee is below what Stripe takes in one charge (50 cents)
    app.db.execute("UPDATE categories SET posting_fee_cents = 30 WHERE slug = 'motorcycles'");
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "motorcycles");
    String key = UUID.randomUUID().toString();

    // When its owner checks out
    Http.Response refused = app.checkout(owner, listingId, key);

    // Then the answer says the purchase cannot be paid as priced, not that the provider failed
    assertThat(refused.status()).as(refused.toString()).isEqualTo(422);
    assertThat(refused.contentType()).startsWith("application/problem+json");
    assertThat(refused.json().get("detail").asText())
        .contains("refuses this purchase as priced")
        .contains("amount_too_small");
    assertThat(app.paymentIntentsOf(listingId)).isEmpty();
    assertThat(app.db.count("payments WHERE listing_id = ?", listingId)).isZero();

    // When the fee is corrected, and the owner tries again with the same Idempotency-Key
    app.db.execute("UPDATE categories SET posting_fee_cents = 300 WHERE slug = 'motorcycles'");
    Http.Response retried = app.checkout(owner, listingId, key);

    // Then the retry gets a PaymentIntent at the corrected price
    assertThat(retried.status()).as(retried.toString()).isEqualTo(200);
    assertThat(retried.json().get("amountCents").asLong()).isEqualTo(300);
    String paymentIntentId = retried.json().get("paymentIntentId").asText();
    assertThat(app.paymentIntentsOf(listingId))
        .extracting(PaymentIntent::getId)
        .containsExactly(paymentIntentId);
    assertThat(app.paymentIntentsOf(listingId).get(0).getAmount()).isEqualTo(300L);
  }
}
