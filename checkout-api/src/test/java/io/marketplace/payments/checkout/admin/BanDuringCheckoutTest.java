package io.marketplace.payments.checkout.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.StripeGate;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import io.marketplace.payments.stripeemulator.http.ApiFaults;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A user banned (their second chargeback) or put on hold (a risk signal) while Stripe was creating
 * the PaymentIntent of their checkout gets no payable PaymentIntent: the checkout checks both again
 * when it records the PaymentIntent, and cancels it at Stripe.
 */
class BanDuringCheckoutTest {

  private static final Duration WAIT = Duration.ofSeconds(60);

  // the gate holds one creation: one gate, and so one API, per test
  private static StripeGate gate;
  private static TestApi app;

  @BeforeEach
  void start() {
    AtomicReference<StripeGate> started = new AtomicReference<>();
    app = TestApi.start(config -> StripeGate.inFront(config, started));
    gate = started.get();
  }

  @AfterEach
  void stop() {
    if (app != null) {
      app.close();
    }
    if (gate != null) {
      gate.close();
    }
  }

  @Test
  void shouldRefuseAndCancelThePaymentIntentWhenTheUserIsBannedWhileCheckingOut() throws Exception {
    // Given a checkout of a listing awaiting its posting fee, held at Stripe's door
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");
    CompletableFuture<Http.Response> checkout = holdCheckout(owner, listingId);

    // When the refund worker bans the owner meanwhile (a second chargeback), then Stripe answers
    app.db.execute(
        "INSERT INTO users (id, banned_at, ban_reason) VALUES (?, now(), 'chargebacks')"
            + " ON CONFLICT (id) DO UPDATE SET banned_at = now(), ban_reason = 'chargebacks'",
        owner);

    // Then the checkout is refused and its PaymentIntent canceled: nothing left to pay
    assertRefusedAndCanceled(checkout);
  }

  @Test
  void shouldRefuseAndCancelThePaymentIntentWhenTheUserIsFlaggedWhileCheckingOut()
      throws Exception {
    // Given a checkout held at Stripe's door
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");
    CompletableFuture<Http.Response> checkout = holdCheckout(owner, listingId);

    // When payment-risk puts the owner on hold meanwhile (card testing), then Stripe answers
    Instant now = Instant.now();
    app.flag(owner, now, now.plus(Duration.ofHours(1)));

    // Then the checkout is refused and its PaymentIntent canceled
    assertRefusedAndCanceled(checkout);
  }

  @Test
  void shouldLeaveThePaymentIntentToTheRefundWorkerWhenStripeHoldsOffItsCancelAfterABan()
      throws Exception {
    // Given a checkout held at Stripe's door, and Stripe holding off the next cancellation (429)
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");
    CompletableFuture<Http.Response> checkout = holdCheckout(owner, listingId);
    app.stripe.failNextApiCalls(
        "POST /v1/payment_intents/{id}/cancel", 1, ApiFaults.Kind.RATE_LIMIT);

    // When the owner is banned meanwhile, then Stripe answers
    app.db.execute(
        "INSERT INTO users (id, banned_at, ban_reason) VALUES (?, now(), 'chargebacks')"
            + " ON CONFLICT (id) DO UPDATE SET banned_at = now(), ban_reason = 'chargebacks'",
        owner);
    gate.open.countDown();
    Http.Response answer = checkout.get(WAIT.toSeconds(), TimeUnit.SECONDS);

    // Then the checkout is refused, and the PaymentIntent Stripe did not cancel is recorded for
    // the refund worker to cancel, not left payable with nothing to ask again
    String paymentIntentId = gate.createdPaymentIntent();
    assertThat(answer.status()).as(answer.toString()).isEqualTo(403);
    assertThat(app.stripe.object(paymentIntentId).orElseThrow().get("status"))
        .isEqualTo("requires_payment_method");
    assertThat(
            app.db.row(
                "SELECT listing_id, reason FROM payment_intents_to_cancel"
                    + " WHERE stripe_payment_intent_id = ?",
                paymentIntentId))
        .contains(Map.of("listing_id", listingId, "reason", "checkout_refused"));
  }

  private static CompletableFuture<Http.Response> holdCheckout(UUID owner, UUID listingId)
      throws InterruptedException {
    return gate.sendAndHold(
        app.http
            .post("/api/marketplace/listings/" + listingId + "/checkout")
            .token(Tokens.user(owner)));
  }

  private static void assertRefusedAndCanceled(CompletableFuture<Http.Response> checkout)
      throws Exception {
    gate.open.countDown();
    Http.Response answer = checkout.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    String paymentIntentId = gate.createdPaymentIntent();
    assertThat(paymentIntentId).isNotNull();
    assertThat(answer.status()).as(answer.toString()).isEqualTo(403);
    assertThat(app.stripe.object(paymentIntentId).orElseThrow().get("status"))
        .as("PaymentIntent %s of a checkout refused at recording", paymentIntentId)
        .isEqualTo("canceled");
    // canceled at once: nothing left for the refund worker
    assertThat(
            app.db.count(
                "payment_intents_to_cancel WHERE stripe_payment_intent_id = ?", paymentIntentId))
        .isZero();
  }
}
