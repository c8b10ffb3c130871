package io.marketplace.payments.checkout.checkout;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import io.marketplace.payments.common.stripe.StripeConfig;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class StripeUnavailableTest {

  private static TestApi app;

  @BeforeAll
  static void start() {
    // Stripe's address answers nothing: every call fails to connect
    app =
        TestApi.start(
            config ->
                config.withStripe(
                    new StripeConfig(config.stripe().secretKey(), "http://127.0.0.1:1")));
  }

  @AfterAll
  static void stop() {
    app.close();
  }

  @Test
  void shouldAnswer503WithRetryAfterAndRecordNoPaymentWhenStripeIsDown() {
    // Given
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");
    String key = UUID.randomUUID().toString();
    String path = "/api/marketplace/listings/" + listingId + "/checkout";

    // When
    Http.Response first = app.http.post(path).token(Tokens.user(owner)).idempotencyKey(key).send();
    Http.Response retry = app.http.post(path).token(Tokens.user(owner)).idempotencyKey(key).send();

    // Then the client is told to come back, and the retry runs again rather than replaying
    assertThat(first.status()).isEqualTo(503);
    assertThat(first.header("Retry-After")).isPresent();
    assertThat(first.json().get("detail").asText()).contains("payment provider");
    assertThat(retry.status()).isEqualTo(503);
    assertThat(retry.header("Idempotent-Replayed")).isEmpty();

    // and nothing claims a payment; the one open attempt waits for Stripe to come back
    assertThat(app.db.count("payments WHERE listing_id = ?", listingId)).isZero();
    assertThat(
            app.db.count(
                "checkout_attempts WHERE listing_id = ? AND stripe_payment_intent_id IS NULL",
                listingId))
        .isEqualTo(1);
    assertThat(app.db.count("idempotency_keys WHERE user_id = ?", owner)).isZero();
  }
}
