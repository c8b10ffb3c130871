package io.marketplace.payments.checkout.promotion;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.StripeGate;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A featured week is sold only if it ends by the listing's end, counting every week recorded before
 * the sale is decided: one the payment processor commits while the purchase waits for the listing's
 * lock, after Stripe made its PaymentIntent, counts too.
 */
class FeaturedWeekRaceTest {

  private static final Duration WAIT = Duration.ofSeconds(30);

  private static StripeGate.Gated gated;
  private static StripeGate gate;
  private static TestApi app;

  @BeforeAll
  static void start() {
    gated = StripeGate.Gated.start();
    app = gated.app();
    gate = gated.gate();
  }

  @AfterAll
  static void stop() {
    if (gated != null) {
      gated.close();
    }
  }

  @Test
  void shouldRefuseAFeaturedWeekThatNoLongerFitsOnceTheWeekRecordedWhileItWaitedCommits()
      throws Exception {
    // Given an active listing, not featured, that ends in 10 days, and its owner buying a featured
    // week, held at Stripe's door while Stripe makes its PaymentIntent
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "for-sale");
    Instant now = Instant.now();
    app.endListingAt(listingId, now.plus(Duration.ofDays(10)));
    CompletableFuture<Http.Response> promoted =
        gate.sendAndHold(
            app.http
                .post("/api/marketplace/listings/" + listingId + "/promote")
                .token(Tokens.user(owner))
                .json(Map.of("type", "featured")));

    // When the payment processor locks the listing to record another featured week, from now
    // until day 7, the purchase comes back from Stripe and waits for the listing, and the
    // processor commits its week
    try (TestApi.HeldListing processor = app.holdListingAddingAFeaturedWeek(listingId, now)) {
      gate.open.countDown();
      processor.awaitWaiter(WAIT);
      processor.commit();
    }
    Http.Response response = promoted.get(WAIT.toSeconds(), TimeUnit.SECONDS);

    // Then the purchase is refused: its week would run from day 7 to day 14, past the listing's
    // end, and the PaymentIntent Stripe made for it cannot be paid
    assertThat(response.status()).as(response.toString()).isEqualTo(409);
    assertThat(response.json().get("detail").asText()).contains("featured until");
    String paymentIntentId = gate.createdPaymentIntent();
    assertThat(app.stripe.object(paymentIntentId).orElseThrow().get("status"))
        .isEqualTo("canceled");
    assertThat(app.db.count("payments WHERE stripe_payment_intent_id = ?", paymentIntentId))
        .isZero();
  }
}
