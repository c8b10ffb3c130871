package io.marketplace.payments.checkout.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The routes read a JSON body; one sent as anything else (a form, plain text) is refused with 415
 * before it is acted on, and a body-less POST needs no type.
 */
class ContentTypeTest {

  private static TestApi app;

  @BeforeAll
  static void start() {
    app = TestApi.shared();
  }

  @Test
  void shouldAnswer415AndCreateNothingWhenAJsonBodyIsNotSentAsJson() {
    // Given a user and a body that would create a listing
    UUID user = UUID.randomUUID();
    String token = Tokens.user(user);
    String body = "{\"title\": \"Bike\", \"categorySlug\": \"housing\"}";

    // When it is sent as plain text, as a form, and with a type that only looks like JSON
    List<Http.Response> refused =
        List.of("text/plain", "application/x-www-form-urlencoded", "application/jsonp").stream()
            .map(
                type ->
                    app.http
                        .post("/api/marketplace/listings")
                        .token(token)
                        .json(body)
                        .header("Content-Type", type)
                        .send())
            .toList();

    // Then each is a 415 problem, and no listing exists
    assertThat(refused)
        .allSatisfy(
            answer -> {
              assertThat(answer.status()).as(answer.toString()).isEqualTo(415);
              assertThat(answer.contentType()).startsWith("application/problem+json");
              assertThat(answer.json().get("detail").asText()).contains("application/json");
              assertThat(answer.json().get("type").asText())
                  .isEqualTo("https://payments.marketplace/problems/unsupported-media-type");
            });
    assertThat(app.db.count("marketplace_listings WHERE user_id = ?", user)).isZero();

    // And with a charset, or in capitals, it is JSON all the same
    Http.Response withCharset =
        app.http
            .post("/api/marketplace/listings")
            .token(token)
            .json(body)
            .header("Content-Type", "Application/JSON; charset=utf-8")
            .send();
    assertThat(withCharset.status()).as(withCharset.toString()).isEqualTo(201);
  }

  @Test
  void shouldRefundNothingWhenAnAdminsRefundIsNotSentAsJson() {
    // Given a paid posting fee
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing paid = app.paidListing(owner);
    String path = "/admin/api/marketplace/payments/" + paid.paymentIntentId() + "/refunds";
    String key = UUID.randomUUID().toString();
    String admin = Tokens.admin(UUID.randomUUID());

    // When an admin's refund is sent as plain text under an Idempotency-Key
    Http.Response refused =
        app.http
            .post(path)
            .token(admin)
            .idempotencyKey(key)
            .json("{\"amountCents\": 100, \"reason\": \"goodwill\"}")
            .header("Content-Type", "text/plain")
            .send();

    // Then it is a 415, and nothing is refunded
    assertThat(refused.status()).as(refused.toString()).isEqualTo(415);
    assertThat(
            app.db.count(
                "payment_refunds WHERE stripe_payment_intent_id = ?", paid.paymentIntentId()))
        .isZero();
    assertThat(app.refundsAtStripe(paid.paymentIntentId())).isEmpty();

    // And the key is not spent on the refusal: the same request sent as JSON refunds
    Http.Response fixed =
        app.http
            .post(path)
            .token(admin)
            .idempotencyKey(key)
            .json("{\"amountCents\": 100, \"reason\": \"goodwill\"}")
            .send();
    assertThat(fixed.status()).as(fixed.toString()).isEqualTo(201);
  }

  @Test
  void shouldCheckOutWhenAPostWithoutABodyHasNoContentType() {
    // Given a listing awaiting its fee
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");

    // When it is checked out with no body and no Content-Type, or an empty body sent as text
    Http.Response bare = app.checkout(owner, listingId);
    Http.Response emptyText =
        app.http
            .post("/api/marketplace/listings/" + listingId + "/checkout")
            .token(Tokens.user(owner))
            .json("")
            .header("Content-Type", "text/plain")
            .send();

    // Then both are answered with the PaymentIntent
    assertThat(bare.status()).as(bare.toString()).isEqualTo(200);
    assertThat(emptyText.status()).as(emptyText.toString()).isEqualTo(200);
  }
}
