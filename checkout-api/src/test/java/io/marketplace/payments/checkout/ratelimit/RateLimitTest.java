package io.marketplace.payments.checkout.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class RateLimitTest {

  private static TestApi app;

  @BeforeAll
  static void start() {
    app = TestApi.start(config -> config.withRateLimitPerMinute(3));
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
}
