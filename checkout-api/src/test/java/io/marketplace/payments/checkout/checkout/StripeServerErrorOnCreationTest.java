package io.marketplace.payments.checkout.checkout;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.model.PaymentIntent;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.StripeGate;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Stripe keeps a 500 it answered from inside an endpoint for the request's Idempotency-Key, and
 * answers every retry with that key the same 500 for 24 hours. A purchase whose PaymentIntent
 * creation got one is not stuck on it: the next checkout starts the purchase afresh with a new key,
 * and the PaymentIntent the failed call may have made is never handed to anyone.
 */
class StripeServerErrorOnCreationTest {

  private static final Duration WAIT = Duration.ofSeconds(60);

  private static TestApi app;
  private static StripeGate gate;
  private static TestApi gated;

  @BeforeAll
  static void start() {
    app = TestApi.start(config -> config);
    AtomicReference<StripeGate> started = new AtomicReference<>();
    gated = TestApi.start(config -> StripeGate.inFront(config, started));
    gate = started.get();
  }

  @AfterAll
  static void stop() {
    for (AutoCloseable closeable : new AutoCloseable[] {app, gated, gate}) {
      if (closeable != null) {
        try {
          closeable.close();
        } catch (Exception e) {
          // the others still close
        }
      }
    }
  }

  @ParameterizedTest(name = "PaymentIntent made before the 500: {0}")
  @ValueSource(booleans = {false, true})
  void shouldTakePaymentOnRetryAfterStripeKeptA500ForTheFirstKey(boolean madeBeforeTheError) {
    // Given a checkout that Stripe answered with a 500 it keeps for the purchase's key
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");
    String key = UUID.randomUUID().toString();
    app.stripe.failNextPaymentIntentCreations(1, madeBeforeTheError);
    Http.Response failed = app.checkout(owner, listingId, key);
    assertThat(failed.status()).as(failed.toString()).isEqualTo(503);
    assertThat(failed.header("Retry-After")).isPresent();

    // When the owner tries again, with the same Idempotency-Key
    Http.Response retried = app.checkout(owner, listingId, key);

    // Then the retry gets a PaymentIntent, and it can be paid
    assertThat(retried.status()).as(retried.toString()).isEqualTo(200);
    String paymentIntentId = retried.json().get("paymentIntentId").asText();
    assertThat(app.payAtStripe(paymentIntentId).getStatus()).isEqualTo("succeeded");
    // and it is the purchase's only payment; the failed attempt is closed without one
    assertThat(app.db.count("payments WHERE listing_id = ?", listingId)).isEqualTo(1);
    assertThat(
            app.db.count(
                "payments WHERE listing_id = ? AND stripe_payment_intent_id = ?",
                listingId,
                paymentIntentId))
        .isEqualTo(1);
    assertThat(
            app.db.count(
                "checkout_attempts WHERE listing_id = ? AND status = 'closed'"
                    + " AND stripe_payment_intent_id IS NULL",
                listingId))
        .isEqualTo(1);
    // and what the failed call made at Stripe, if anything, was never answered to anyone
    assertThat(app.paymentIntentsOf(listingId))
        .extracting(PaymentIntent::getId)
        .hasSize(madeBeforeTheError ? 2 : 1)
        .contains(paymentIntentId);
  }

  @Test
  void shouldNotHandOutAPaymentIntentOfAPurchaseGivenUpWhileStripeMadeIt() throws Exception {
    // Given a checkout whose PaymentIntent creation is held at Stripe's door
    UUID owner = UUID.randomUUID();
    UUID listingId = gated.createListing(owner, "housing");
    CompletableFuture<Http.Response> checkout =
        gate.sendAndHold(
            gated
                .http
                .post("/api/marketplace/listings/" + listingId + "/checkout")
                .token(Tokens.user(owner)));

    // When the purchase is given up meanwhile, as a concurrent checkout does when Stripe kept a
    // 500 for the purchase's key, and then Stripe makes the held PaymentIntent
    assertThat(
            gated.db.execute(
                "UPDATE checkout_attempts SET status = 'closed'"
                    + " WHERE listing_id = ? AND stripe_payment_intent_id IS NULL",
                listingId))
        .isEqualTo(1);
    gate.open.countDown();
    Http.Response answer = checkout.get(WAIT.toSeconds(), TimeUnit.SECONDS);

    // Then the checkout answers with a PaymentIntent of a new attempt, the only one recorded
    String givenUp = gate.createdPaymentIntent();
    assertThat(givenUp).isNotNull();
    assertThat(answer.status()).as(answer.toString()).isEqualTo(200);
    String paymentIntentId = answer.json().get("paymentIntentId").asText();
    assertThat(paymentIntentId).isNotEqualTo(givenUp);
    assertThat(gated.db.count("payments WHERE listing_id = ?", listingId)).isEqualTo(1);
    assertThat(
            gated.db.count(
                "checkout_attempts WHERE listing_id = ? AND status = 'open'"
                    + " AND stripe_payment_intent_id = ?",
                listingId,
                paymentIntentId))
        .isEqualTo(1);
    // and the given-up attempt's PaymentIntent cannot be paid by anyone
    assertThat(gated.stripe.object(givenUp).orElseThrow().get("status")).isEqualTo("canceled");
  }
}
