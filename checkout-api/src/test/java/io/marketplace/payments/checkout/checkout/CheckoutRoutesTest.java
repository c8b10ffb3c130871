package io.marketplace.payments.checkout.checkout;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.stripe.model.PaymentIntent;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import io.marketplace.payments.testsupport.Await;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class CheckoutRoutesTest {

  private static TestApi app;

  @BeforeAll
  static void start() {
    app = TestApi.shared();
  }

  @Test
  void shouldCreatePaymentIntentWithFeeAndMetadataWhenListingAwaitsPayment() {
    // Given
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "jobs");

    // When
    Http.Response response = app.checkout(owner, listingId);

    // Then the answer carries what Stripe.js needs
    assertThat(response.status()).isEqualTo(200);
    JsonNode payment = response.json();
    String paymentIntentId = payment.get("paymentIntentId").asText();
    assertThat(paymentIntentId).startsWith("pi_");
    assertThat(payment.get("clientSecret").asText()).startsWith(paymentIntentId + "_secret");
    assertThat(payment.get("amountCents").asLong()).isEqualTo(1000);
    assertThat(payment.get("currency").asText()).isEqualTo("usd");

    // and Stripe has the PaymentIntent with the fee from the database and the SPEC metadata
    List<PaymentIntent> intents = app.paymentIntentsOf(listingId);
    assertThat(intents).hasSize(1);
    PaymentIntent intent = intents.getFirst();
    assertThat(intent.getId()).isEqualTo(paymentIntentId);
    assertThat(intent.getAmount()).isEqualTo(1000L);
    assertThat(intent.getCurrency()).isEqualTo("usd");
    assertThat(intent.getMetadata())
        .containsEntry("listing_id", listingId.toString())
        .containsEntry("user_id", owner.toString())
        .containsEntry("category_id", "2")
        .containsEntry("payment_type", "posting_fee");

    // and the payment is recorded as what it buys
    Map<String, Object> row =
        app.db
            .row("SELECT * FROM payments WHERE stripe_payment_intent_id = ?", paymentIntentId)
            .orElseThrow();
    assertThat(row)
        .containsEntry("listing_id", listingId)
        .containsEntry("user_id", owner)
        .containsEntry("payment_type", "posting_fee")
        .containsEntry("amount_cents", 1000)
        .containsEntry("currency", "usd")
        .containsEntry("status", "requires_payment");
    assertThat(
            app.http
                .get("/api/marketplace/listings/" + listingId)
                .token(Tokens.user(owner))
                .send()
                .json()
                .get("paymentIntentId")
                .asText())
        .isEqualTo(paymentIntentId);
    assertThat(app.metrics())
        .containsPattern("homepage_payments_intents_created_total\\{[^}]*type=\"posting_fee\"");
  }

  @Test
  void shouldTimeTheCallToStripeAndTheRequestWhenCheckingOut() {
    // Given
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");

    // When
    assertThat(app.checkout(owner, listingId).status()).isEqualTo(200);

    // Then the call to Stripe and the request are on /metrics, under their templates, not ids
    Await.untilAsserted(
        Duration.ofSeconds(10),
        () ->
            assertThat(app.metrics())
                .containsPattern(
                    "payments_stripe_requests_seconds_count\\{[^}]*"
                        + "operation=\"POST /v1/payment_intents\",outcome=\"2xx\"")
                .containsPattern(
                    "http_server_requests_seconds_count\\{[^}]*"
                        + "route=\"/api/marketplace/listings/\\{id}/checkout\"[^}]*status=\"200\"")
                .containsPattern(
                    "http_server_requests_seconds_bucket\\{[^}]*route=\"/api/marketplace/listings/")
                .doesNotContain(listingId.toString()));
  }

  @Test
  void shouldReturnTheSamePaymentIntentWhenCheckedOutAgainWhileUnpaid() {
    // Given
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");
    String first = app.checkout(owner, listingId).json().get("paymentIntentId").asText();

    // When
    Http.Response again = app.checkout(owner, listingId);

    // Then
    assertThat(again.status()).isEqualTo(200);
    assertThat(again.json().get("paymentIntentId").asText()).isEqualTo(first);
    assertThat(app.paymentIntentsOf(listingId)).hasSize(1);
    assertThat(app.db.count("payments WHERE listing_id = ?", listingId)).isEqualTo(1);
  }

  @Test
  void shouldCreateExactlyOnePaymentIntentWhenTwentyCheckoutsRace() throws Exception {
    // Given
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "boats");
    int threads = 20;
    CountDownLatch ready = new CountDownLatch(threads);
    CountDownLatch go = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    List<Future<Http.Response>> answers = new ArrayList<>();

    // When all twenty are released at once
    try {
      for (int i = 0; i < threads; i++) {
        answers.add(
            pool.submit(
                () -> {
                  ready.countDown();
                  go.await();
                  return app.checkout(owner, listingId);
                }));
      }
      assertThat(ready.await(10, TimeUnit.SECONDS)).isTrue();
      go.countDown();

      // Then every one gets the same PaymentIntent
      List<String> ids = new ArrayList<>();
      for (Future<Http.Response> answer : answers) {
        Http.Response response = answer.get(60, TimeUnit.SECONDS);
        assertThat(response.status()).as(response.toString()).isEqualTo(200);
        ids.add(response.json().get("paymentIntentId").asText());
      }
      assertThat(ids).hasSize(threads).containsOnly(ids.getFirst());
    } finally {
      pool.shutdownNow();
    }

    // and Stripe and our records hold exactly one
    assertThat(app.paymentIntentsOf(listingId)).hasSize(1);
    assertThat(app.db.count("payments WHERE listing_id = ?", listingId)).isEqualTo(1);
    assertThat(app.db.count("checkout_attempts WHERE listing_id = ?", listingId)).isEqualTo(1);
  }

  @Test
  void shouldAnswer409WhenListingIsNotPendingPayment() {
    // Given an active listing in a free category and a paid, activated one
    UUID owner = UUID.randomUUID();
    UUID free = app.createListing(owner, "community");
    TestApi.PaidListing paid = app.paidListing(owner);

    // When
    Http.Response freeResponse = app.checkout(owner, free);
    Http.Response paidResponse = app.checkout(owner, paid.listingId());

    // Then
    assertThat(freeResponse.status()).isEqualTo(409);
    assertThat(freeResponse.json().get("detail").asText()).contains("active");
    assertThat(paidResponse.status()).isEqualTo(409);
    assertThat(app.paymentIntentsOf(free)).isEmpty();
    assertThat(app.paymentIntentsOf(paid.listingId())).hasSize(1);
  }

  @Test
  void shouldAnswer400AndStartNoPaymentWhenTheCheckoutIsSentAnAmountOrCurrency() {
    // Given a housing listing, whose posting fee is 500 cents
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");

    // When a client sends the price it means to pay, which the checkout does not take
    Http.Response response =
        app.http
            .post("/api/marketplace/listings/" + listingId + "/checkout")
            .token(Tokens.user(owner))
            .json("{\"amountCents\":1,\"currency\":\"eur\"}")
            .send();

    // Then it is told so, field by field, rather than sent to pay 500 usd
    assertThat(response.status()).as(response.toString()).isEqualTo(400);
    assertThat(response.json().get("errors").get("amountCents").asText())
        .contains("not taken here");
    assertThat(response.json().get("errors").get("currency").asText()).contains("not taken here");
    // and no purchase started
    assertThat(app.paymentIntentsOf(listingId)).isEmpty();
    assertThat(app.db.count("checkout_attempts WHERE listing_id = ?", listingId)).isZero();
    assertThat(app.db.count("payments WHERE listing_id = ?", listingId)).isZero();

    // while an empty body, or an empty object, is a checkout as ever
    Http.Response empty =
        app.http
            .post("/api/marketplace/listings/" + listingId + "/checkout")
            .token(Tokens.user(owner))
            .json("{}")
            .send();
    assertThat(empty.status()).as(empty.toString()).isEqualTo(200);
    assertThat(empty.json().get("amountCents").asLong()).isEqualTo(500);
  }

  @Test
  void shouldRefuseWhenCallerIsAnonymousAnotherUserOrBanned() {
    // Given
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");
    String path = "/api/marketplace/listings/" + listingId + "/checkout";

    // When
    Http.Response anonymous = app.http.post(path).send();
    Http.Response other = app.checkout(UUID.randomUUID(), listingId);
    app.ban(owner);
    Http.Response banned = app.checkout(owner, listingId);

    // Then
    assertThat(anonymous.status()).isEqualTo(401);
    assertThat(other.status()).isEqualTo(403);
    assertThat(banned.status()).isEqualTo(403);
    assertThat(banned.json().get("detail").asText()).contains("banned");
    assertThat(app.paymentIntentsOf(listingId)).isEmpty();
  }

  @Test
  void shouldAnswer404WhenListingIsUnknown() {
    // When
    Http.Response response = app.checkout(UUID.randomUUID(), UUID.randomUUID());

    // Then
    assertThat(response.status()).isEqualTo(404);
    assertThat(response.contentType()).startsWith("application/problem+json");
  }

  @Test
  void shouldAnswer400WhenIdempotencyKeyIsMalformed() {
    // Given checkout takes no body, but an Idempotency-Key must still be well formed
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");

    // When
    Http.Response response =
        app.http
            .post("/api/marketplace/listings/" + listingId + "/checkout")
            .token(Tokens.user(owner))
            .idempotencyKey("key with spaces")
            .send();

    // Then
    assertThat(response.status()).isEqualTo(400);
    assertThat(response.json().get("errors").get("Idempotency-Key").asText()).contains("ASCII");
  }

  @Test
  void shouldStartANewPaymentIntentWhenTheOldOneWasCanceled() throws Exception {
    // Given a checkout whose PaymentIntent was canceled at Stripe
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "motorcycles");
    String first = app.checkout(owner, listingId).json().get("paymentIntentId").asText();
    app.stripeClient.v1().paymentIntents().cancel(first);

    // When
    Http.Response again = app.checkout(owner, listingId);

    // Then
    assertThat(again.status()).isEqualTo(200);
    String second = again.json().get("paymentIntentId").asText();
    assertThat(second).isNotEqualTo(first);
    assertThat(again.json().get("amountCents").asInt()).isEqualTo(300);
    assertThat(
            app.db.count("checkout_attempts WHERE listing_id = ? AND status = 'open'", listingId))
        .isEqualTo(1);
  }

  @Test
  void shouldNeverStartASecondFeeWhenThePaymentIsRecordedButTheListingNotYetActive() {
    // Given a posting fee recorded as paid for a listing still pending
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "rvs-campers");
    String paid = postingFeeRecordedAsPaid(owner, listingId);

    // When
    Http.Response response = app.checkout(owner, listingId);

    // Then
    assertThat(response.status()).isEqualTo(409);
    assertThat(response.json().get("detail").asText()).contains("paid");
    assertThat(app.paymentIntentsOf(listingId)).hasSize(1);
  }

  @Test
  void shouldLetTheOwnerPayAgainWhenThePaidFeeWentBackInFullBeforeTheListingWentLive() {
    // Given a posting fee recorded as paid for a listing still pending, all of whose money went
    // back (a refund made in Stripe's dashboard, or a chargeback, recorded before the processor
    // applied the success, which then delivers nothing)
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "rvs-campers");
    String paid = postingFeeRecordedAsPaid(owner, listingId);
    app.db.execute(
        """
        INSERT INTO payment_refunds (id, user_id, listing_id, stripe_payment_intent_id,
            stripe_refund_id, amount_cents, reason, status)
        VALUES (?, ?, ?, ?, ?, 500, 'user_request', 'processed')
        """,
        UUID.randomUUID(),
        owner,
        listingId,
        paid,
        "re_" + UUID.randomUUID().toString().replace("-", ""));

    // When the owner checks out again
    Http.Response response = app.checkout(owner, listingId);

    // Then a new PaymentIntent is handed out for the fee: the listing is not stuck unpaid for good
    assertThat(response.status()).as(response.toString()).isEqualTo(200);
    assertThat(response.json().get("paymentIntentId").asText()).isNotEqualTo(paid);
    assertThat(app.paymentIntentsOf(listingId)).hasSize(2);
  }

  /**
   * Checks out the listing's posting fee and records its payment as succeeded, as the processor.
   */
  private static String postingFeeRecordedAsPaid(UUID owner, UUID listingId) {
    String paid = app.checkout(owner, listingId).json().get("paymentIntentId").asText();
    app.db.execute(
        "UPDATE payments SET status = 'succeeded', succeeded_at = now()"
            + " WHERE stripe_payment_intent_id = ?",
        paid);
    return paid;
  }
}
