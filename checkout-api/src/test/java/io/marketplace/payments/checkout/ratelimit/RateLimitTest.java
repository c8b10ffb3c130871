package io.marketplace.payments.checkout.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import java.util.List;
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
  void shouldClaimNoIdempotencyKeyWhenARequestOverTheLimitIsRefused() {
    // Given every Idempotency-Key claim recorded as it is written (a row later deleted included)
    app.db.execute("CREATE TABLE IF NOT EXISTS claims_written (user_id uuid, key text)");
    app.db.execute(
        """
        CREATE OR REPLACE FUNCTION record_claim() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO claims_written VALUES (NEW.user_id, NEW.idempotency_key);
          RETURN NEW;
        END $$
        """);
    app.db.execute(
        "CREATE OR REPLACE TRIGGER claims_written AFTER INSERT ON idempotency_keys"
            + " FOR EACH ROW EXECUTE FUNCTION record_claim()");
    // and a user who has used up this minute's payment requests and new listings
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");
    for (int i = 0; i < 3; i++) {
      assertThat(app.checkout(owner, listingId).status()).isEqualTo(200);
    }
    for (int i = 0; i < 4; i++) {
      assertThat(app.createListing(owner, "for-sale")).isNotNull();
    }

    // When they send one more of each, each under a fresh key
    String checkoutKey = UUID.randomUUID().toString();
    String listingKey = UUID.randomUUID().toString();
    Http.Response checkout = app.checkout(owner, listingId, checkoutKey);
    Http.Response listing =
        app.postListing(owner, listingKey, "{\"title\":\"One more\",\"categorySlug\":\"jobs\"}");

    // Then both are refused with a 429, and neither key was ever claimed: a request that does not
    // run writes (and then deletes) no row
    assertThat(checkout.status()).as(checkout.toString()).isEqualTo(429);
    assertThat(listing.status()).as(listing.toString()).isEqualTo(429);
    for (String key : List.of(checkoutKey, listingKey)) {
      assertThat(app.db.count("claims_written WHERE user_id = ? AND key = ?", owner, key))
          .as("claims of %s", key)
          .isZero();
      assertThat(
              app.db.count(
                  "idempotency_keys WHERE user_id = ? AND idempotency_key = ?", owner, key))
          .isZero();
    }
    // And a request under a key that does run is claimed as before
    UUID other = UUID.randomUUID();
    String runs = UUID.randomUUID().toString();
    assertThat(app.checkout(other, app.createListing(other, "housing"), runs).status())
        .isEqualTo(200);
    assertThat(app.db.count("claims_written WHERE user_id = ? AND key = ?", other, runs))
        .isEqualTo(1);
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
