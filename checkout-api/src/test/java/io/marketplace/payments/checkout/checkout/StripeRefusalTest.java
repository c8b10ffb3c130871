package io.marketplace.payments.checkout.checkout;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import io.marketplace.payments.common.stripe.StripeConfig;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class StripeRefusalTest {

  /** A key Stripe does not know; Stripe's error quotes its last four characters. */
  private static final String WRONG_KEY = "sk_test_51Hx9c0e7b24f68a1c5e9d3b7QZ7w";

  private static TestApi app;

  @BeforeAll
  static void start() {
    // Stripe answers every call with 401 "Invalid API Key provided: sk_test_****QZ7w"
    app =
        TestApi.start(
            config -> config.withStripe(new StripeConfig(WRONG_KEY, config.stripe().apiBase())));
  }

  @AfterAll
  static void stop() {
    app.close();
  }

  @Test
  void shouldAnswer502WithoutStripesTextWhenStripeRefusesTheRequest() {
    // Given a listing awaiting its posting fee
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");

    // When its owner checks out and Stripe refuses our key
    Http.Response response =
        app.http
            .post("/api/marketplace/listings/" + listingId + "/checkout")
            .token(Tokens.user(owner))
            .send();

    // Then the client is told the provider failed, in generic words
    assertThat(response.status()).isEqualTo(502);
    assertThat(response.contentType()).startsWith("application/problem+json");
    String detail = response.json().get("detail").asText();
    assertThat(detail).contains("payment provider did not answer as expected");
    // And nothing of Stripe's text reaches it: not the message, not the key's last digits
    assertThat(response.body())
        .doesNotContain("Invalid API Key")
        .doesNotContain("QZ7w")
        .doesNotContain("sk_test");
  }

  @Test
  void shouldKeepStripesTextOutOfTheRefundAnAdminApprovesWhenStripeRefusesOurKey() {
    // Given a listing whose posting fee was paid (recorded as the payment processor would)
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");
    String paymentIntentId = "pi_refusal_" + UUID.randomUUID().toString().replace("-", "");
    app.db.execute(
        """
        INSERT INTO payments
            (stripe_payment_intent_id, listing_id, user_id, payment_type, amount_cents, status,
             succeeded_at)
        VALUES (?, ?, ?, 'posting_fee', 500, 'succeeded', ?)
        """,
        paymentIntentId,
        listingId,
        owner,
        Instant.now());
    // And its owner asked for the fee back
    Http.Response requested =
        app.http
            .post("/api/marketplace/listings/" + listingId + "/refund-request")
            .token(Tokens.user(owner))
            .json(Map.of("reason", "changed my mind", "paymentIntentId", paymentIntentId))
            .send();
    assertThat(requested.status()).as(requested.toString()).isEqualTo(202);
    String refundId = requested.json().get("id").asText();

    // When an admin approves it and Stripe refuses our key
    Http.Response approved =
        app.http
            .post("/admin/api/marketplace/refunds/" + refundId + "/approve")
            .token(Tokens.admin(UUID.randomUUID()))
            .send();

    // Then the refund waits, approved, with what went wrong
    assertThat(approved.status()).as(approved.toString()).isEqualTo(200);
    assertThat(approved.json().get("status").asText()).isEqualTo("approved");
    assertThat(approved.json().get("lastError").asText()).contains("AuthenticationException");
    // And not our key's last digits, neither in the answer nor in what is stored
    assertThat(approved.body()).doesNotContain("QZ7w").doesNotContain("sk_test");
    assertThat(
            app.db
                .row(
                    "SELECT last_error FROM payment_refunds WHERE id = ?",
                    UUID.fromString(refundId))
                .orElseThrow()
                .get("last_error")
                .toString())
        .doesNotContain("QZ7w")
        .doesNotContain("sk_test");
  }
}
