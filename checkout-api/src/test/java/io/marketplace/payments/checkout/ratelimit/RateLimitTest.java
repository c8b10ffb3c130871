package io.marketplace.payments.checkout.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class RateLimitTest {

  private static TestApi app;

  @BeforeAll
  static void start() {
    app = TestApi.start(config -> config.withRateLimitPerMinute(3).withWriteRateLimitPerMinute(5));
  }

  @AfterAll
  static void stop() {
    app.close();
  }

  @Test
  void shouldAnswer429WithRetryAfterWhenAUserExceedsThePaymentRateLimit() {
    // Given a user who has used up three payment requests this minute
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");
    for (int i = 0; i < 3; i++) {
      assertThat(app.checkout(owner, listingId).status()).isEqualTo(200);
    }

    // When
    Http.Response limited = app.promote(owner, listingId, "featured");

    // Then
    assertThat(limited.status()).isEqualTo(429);
    assertThat(limited.contentType()).startsWith("application/problem+json");
    int retryAfter = Integer.parseInt(limited.header("Retry-After").orElseThrow());
    assertThat(retryAfter).isBetween(1, 60);

    // and other users and other routes are not held back
    UUID other = UUID.randomUUID();
    assertThat(app.checkout(other, app.createListing(other, "housing")).status()).isEqualTo(200);
    assertThat(app.createListing(owner, "for-sale")).isNotNull();
  }

  @Test
  void shouldAnswer429WhenAUserCreatesListingsOrRefundRequestsInALoop() {
    // Given a user who created five listings this minute
    UUID owner = UUID.randomUUID();
    for (int i = 0; i < 5; i++) {
      assertThat(app.createListing(owner, "housing")).isNotNull();
    }

    // When they create a sixth, or ask for a refund
    Http.Response listing =
        app.http
            .post("/api/marketplace/listings")
            .token(Tokens.user(owner))
            .json(Map.of("title", "One more", "categorySlug", "housing"))
            .send();
    Http.Response refund =
        app.http
            .post("/api/marketplace/listings/" + UUID.randomUUID() + "/refund-request")
            .token(Tokens.user(owner))
            .json(Map.of("reason", "changed my mind"))
            .send();

    // Then both are refused with a 429 and Retry-After, and no listing is made
    assertThat(listing.status()).isEqualTo(429);
    assertThat(listing.contentType()).startsWith("application/problem+json");
    assertThat(listing.json().get("detail").asText()).contains("new listings and refund requests");
    assertThat(Integer.parseInt(listing.header("Retry-After").orElseThrow())).isBetween(1, 60);
    assertThat(refund.status()).isEqualTo(429);
    assertThat(app.db.count("marketplace_listings WHERE user_id = ?", owner)).isEqualTo(5);

    // and the user's payments have their own budget, as other users have theirs
    UUID listingId =
        UUID.fromString(
            app.db
                .rows("SELECT id FROM marketplace_listings WHERE user_id = ? LIMIT 1", owner)
                .getFirst()
                .get("id")
                .toString());
    assertThat(app.checkout(owner, listingId).status()).isEqualTo(200);
    UUID other = UUID.randomUUID();
    assertThat(app.createListing(other, "housing")).isNotNull();
  }

  @Test
  void shouldReplayTheStoredAnswerWhenAClientRetriesACompletedRequestAtTheLimit() {
    // Given a checkout completed under an Idempotency-Key, then the rest of the minute's budget
    // spent on other requests
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");
    String key = UUID.randomUUID().toString();
    String path = "/api/marketplace/listings/" + listingId + "/checkout";
    Http.Response first = app.http.post(path).token(Tokens.user(owner)).idempotencyKey(key).send();
    assertThat(first.status()).isEqualTo(200);
    assertThat(app.checkout(owner, listingId).status()).isEqualTo(200);
    assertThat(app.checkout(owner, listingId).status()).isEqualTo(200);

    // When the client retries the completed request with its key, twice
    Http.Response retry = app.http.post(path).token(Tokens.user(owner)).idempotencyKey(key).send();
    Http.Response again = app.http.post(path).token(Tokens.user(owner)).idempotencyKey(key).send();

    // Then it gets its stored answer each time, not a 429
    assertThat(retry.status()).isEqualTo(200);
    assertThat(retry.header("Idempotent-Replayed")).contains("true");
    assertThat(retry.json()).isEqualTo(first.json());
    assertThat(again.status()).isEqualTo(200);
    // And a new request is still counted: the budget is spent
    Http.Response fresh =
        app.http
            .post(path)
            .token(Tokens.user(owner))
            .idempotencyKey(UUID.randomUUID().toString())
            .send();
    assertThat(fresh.status()).isEqualTo(429);
    assertThat(fresh.header("Retry-After")).isPresent();
  }
}
