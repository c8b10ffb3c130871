package io.marketplace.payments.checkout.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.StripeGate;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A rejected listing's purchases cannot be paid for: moderation cancels the PaymentIntents of
 * purchases not paid yet, of every listing status, and a checkout whose PaymentIntent Stripe was
 * creating while the rejection committed (so moderation could not see it) finds the listing
 * rejected when it records it, and cancels it itself.
 */
class RejectionDuringCheckoutTest {

  private static final Duration WAIT = Duration.ofSeconds(60);

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
  void shouldNotLeaveAPayablePaymentIntentWhenTheListingIsRejectedWhileCheckingOut()
      throws Exception {
    // Given a checkout of a listing awaiting its posting fee, held at Stripe's door
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");
    CompletableFuture<Http.Response> checkout =
        gate.sendAndHold(
            app.http
                .post("/api/marketplace/listings/" + listingId + "/checkout")
                .token(Tokens.user(owner)));

    // When moderation rejects the listing meanwhile, and then Stripe answers the checkout
    Http.Response rejected =
        app.http
            .post("/admin/api/marketplace/listings/" + listingId + "/reject")
            .token(Tokens.admin(UUID.randomUUID()))
            .json(Map.of("reason", "counterfeit"))
            .send();
    assertThat(rejected.status()).as(rejected.toString()).isEqualTo(200);
    gate.open.countDown();
    Http.Response answer = checkout.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    String paymentIntentId = gate.createdPaymentIntent();
    assertThat(paymentIntentId).isNotNull();

    // Then the owner cannot pay for the rejected listing: the checkout is refused or its
    // PaymentIntent is canceled at Stripe
    boolean refused = answer.status() == 409;
    Object status = app.stripe.object(paymentIntentId).orElseThrow().get("status");
    assertThat(refused || "canceled".equals(status))
        .as(
            "checkout answered %s and PaymentIntent %s is %s for a rejected listing",
            answer, paymentIntentId, status)
        .isTrue();
  }

  @Test
  void shouldNotLeaveAPayablePromotionWhenAnActiveListingIsRejected() {
    // Given an active listing whose owner has started buying a featured promotion, not paid yet
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing listing = app.paidListing(owner);
    Http.Response promoted = app.promote(owner, listing.listingId(), "featured");
    assertThat(promoted.status()).as(promoted.toString()).isEqualTo(200);
    String paymentIntentId = promoted.json().get("paymentIntentId").asText();

    // When moderation rejects the listing
    Http.Response rejected =
        app.http
            .post("/admin/api/marketplace/listings/" + listing.listingId() + "/reject")
            .token(Tokens.admin(UUID.randomUUID()))
            .json(Map.of("reason", "scam"))
            .send();
    assertThat(rejected.status()).isEqualTo(200);

    // Then the promotion can no longer be paid for (SPEC §1: promotions only on active listings)
    assertThat(app.stripe.object(paymentIntentId).orElseThrow().get("status"))
        .as("PaymentIntent of a featured promotion of a rejected listing")
        .isEqualTo("canceled");
  }
}
