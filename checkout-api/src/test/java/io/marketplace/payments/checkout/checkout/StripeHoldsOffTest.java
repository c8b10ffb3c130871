package io.marketplace.payments.checkout.checkout;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.model.PaymentIntent;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.stripeemulator.http.ApiFaults;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Stripe holding a checkout off (429: over the rate limit, or the object locked) or refusing our
 * key (403 for a restricted key, 401 for a rolled one) answers before it does anything and keeps
 * nothing for the purchase's key. The purchase is not given up over it: the client is told to come
 * back (503) or that the provider failed (502), neither answer is kept for its Idempotency-Key, and
 * its retry gets the purchase's one PaymentIntent.
 */
class StripeHoldsOffTest {

  private static final String CREATE = "POST /v1/payment_intents";
  private static final String RETRIEVE = "GET /v1/payment_intents/{id}";

  private static TestApi app;

  @BeforeAll
  static void start() {
    app = TestApi.start(config -> config);
  }

  @AfterAll
  static void stop() {
    app.close();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ApiFaults.Kind.class)
  void shouldKeepThePurchaseForTheRetryWhenStripeHoldsOffOrRefusesTheCreation(ApiFaults.Kind kind) {
    // Given a listing awaiting its posting fee, and Stripe answering its creation with kind
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");
    String key = UUID.randomUUID().toString();
    app.stripe.failNextApiCalls(CREATE, 1, kind);

    // When its owner checks out, and then again with the same Idempotency-Key
    Http.Response first = app.checkout(owner, listingId, key);
    Http.Response retried = app.checkout(owner, listingId, key);

    // Then the first is told to come back when held off, that the provider failed when refused
    boolean heldOff = kind == ApiFaults.Kind.RATE_LIMIT || kind == ApiFaults.Kind.LOCK_TIMEOUT;
    assertThat(first.status()).as(first.toString()).isEqualTo(heldOff ? 503 : 502);
    if (heldOff) {
      assertThat(first.header("Retry-After")).isPresent();
    }
    assertThat(first.body()).doesNotContain("sk_test").doesNotContain("rk_test");
    // and the retry ran again, rather than replaying it, and got the purchase's PaymentIntent
    assertThat(retried.status()).as(retried.toString()).isEqualTo(200);
    assertThat(retried.header("Idempotent-Replayed")).isEmpty();
    String paymentIntentId = retried.json().get("paymentIntentId").asText();
    // made by the first attempt, never given up: one attempt, one PaymentIntent, one payment
    assertThat(app.paymentIntentsOf(listingId))
        .extracting(PaymentIntent::getId)
        .containsExactly(paymentIntentId);
    assertThat(app.db.count("checkout_attempts WHERE listing_id = ?", listingId)).isEqualTo(1);
    assertThat(
            app.db.count(
                "checkout_attempts WHERE listing_id = ? AND status = 'open'"
                    + " AND stripe_payment_intent_id = ?",
                listingId,
                paymentIntentId))
        .isEqualTo(1);
    assertThat(app.db.count("payments WHERE listing_id = ?", listingId)).isEqualTo(1);
  }

  @Test
  void shouldAnswerTheSamePaymentIntentAfterStripeHeldOffItsRetrieval() {
    // Given a checkout that made its PaymentIntent, whose next retrieval meets a lock at Stripe
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");
    Http.Response made = app.checkout(owner, listingId);
    assertThat(made.status()).as(made.toString()).isEqualTo(200);
    String paymentIntentId = made.json().get("paymentIntentId").asText();
    app.stripe.failNextApiCalls(RETRIEVE, 1, ApiFaults.Kind.LOCK_TIMEOUT);

    // When the owner checks out again, twice
    Http.Response held = app.checkout(owner, listingId);
    Http.Response again = app.checkout(owner, listingId);

    // Then the first is told to come back, and the purchase is still the one it was
    assertThat(held.status()).as(held.toString()).isEqualTo(503);
    assertThat(held.header("Retry-After")).isPresent();
    assertThat(again.status()).as(again.toString()).isEqualTo(200);
    assertThat(again.json().get("paymentIntentId").asText()).isEqualTo(paymentIntentId);
    assertThat(app.paymentIntentsOf(listingId)).hasSize(1);
    assertThat(
            app.db.count(
                "checkout_attempts WHERE listing_id = ? AND status = 'open'"
                    + " AND stripe_payment_intent_id = ?",
                listingId,
                paymentIntentId))
        .isEqualTo(1);
  }

  @Test
  void shouldCountStripesRefusalsOfOurKeyAndItsRateLimitsEachApartInTheStripeCallMetric() {
    // Given Stripe refusing our key (restricted, then rolled) and then holding us off
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");
    app.stripe.failNextApiCalls(CREATE, 1, ApiFaults.Kind.PERMISSION);
    app.stripe.failNextApiCalls(CREATE, 1, ApiFaults.Kind.AUTHENTICATION);
    app.stripe.failNextApiCalls(CREATE, 1, ApiFaults.Kind.RATE_LIMIT);

    // When its owner checks out through all three
    assertThat(app.checkout(owner, listingId).status()).isEqualTo(502);
    assertThat(app.checkout(owner, listingId).status()).isEqualTo(502);
    assertThat(app.checkout(owner, listingId).status()).isEqualTo(503);

    // Then each is counted under its own outcome, apart from the 4xx a request of ours earns
    // (a card declined, a parameter refused): what the key's alert reads
    String metrics = app.metrics();
    for (String outcome : new String[] {"401", "403", "429"}) {
      assertThat(metrics)
          .as("outcome " + outcome)
          .containsPattern(
              "(?m)^payments_stripe_requests_seconds_count\\{[^}]*operation=\"POST"
                  + " /v1/payment_intents\"[^}]*outcome=\""
                  + outcome
                  + "\"");
    }
  }
}
