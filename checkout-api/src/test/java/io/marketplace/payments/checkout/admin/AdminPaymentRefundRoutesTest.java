package io.marketplace.payments.checkout.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.stripe.model.Refund;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.testsupport.KafkaTestClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A super_admin refunds any succeeded payment for a chosen amount, up to what is left of it. */
class AdminPaymentRefundRoutesTest {

  private static TestApi app;
  private static final UUID ADMIN = UUID.randomUUID();

  @BeforeAll
  static void start() {
    app = TestApi.shared();
  }

  /** A featured promotion of 500 cents, paid, of a fresh owner's paid listing. */
  private static Paid featured() {
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing listing = app.paidListing(owner);
    return new Paid(
        owner, listing.listingId(), app.paidPromotion(owner, listing.listingId(), "featured"));
  }

  private record Paid(UUID owner, UUID listingId, String paymentIntentId) {}

  @Test
  void shouldRefundOnceWhenAnAdminDoubleClicksWithoutAnIdempotencyKey() {
    // Given a paid featured promotion of 500 cents
    Paid paid = featured();

    // When an admin's client sends the same refund twice without an Idempotency-Key (a double
    // click), then another amount
    List<Http.Response> answers = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      answers.add(keyless(paid.paymentIntentId(), body(150, "goodwill")).send());
    }
    Http.Response other = keyless(paid.paymentIntentId(), body(100, "goodwill")).send();

    // Then both clicks are answered with the one refund of 150, and the other amount is a refund
    // of its own
    assertThat(answers)
        .allSatisfy(answer -> assertThat(answer.status()).as(answer.toString()).isEqualTo(201));
    assertThat(answers.get(1).json().get("id").asText())
        .isEqualTo(answers.get(0).json().get("id").asText());
    assertThat(other.status()).as(other.toString()).isEqualTo(201);
    assertThat(app.refundsAtStripe(paid.paymentIntentId()))
        .extracting(Refund::getAmount)
        .containsExactlyInAnyOrder(150L, 100L);
  }

  @Test
  void shouldRefuseWithoutRefundingWhenASuperAdminRefundsTheirOwnPayment() {
    // Given a super_admin whose own marketplace account paid for a featured promotion
    UUID admin = UUID.randomUUID();
    TestApi.PaidListing listing = app.paidListing(admin);
    String paymentIntentId = app.paidPromotion(admin, listing.listingId(), "featured");

    // When they refund it to themselves, with a key or without
    Http.Response keyed =
        app.http
            .post("/admin/api/marketplace/payments/" + paymentIntentId + "/refunds")
            .token(Tokens.admin(admin))
            .idempotencyKey(UUID.randomUUID().toString())
            .json(body(500, "mine"))
            .send();
    Http.Response keylessCall =
        app.http
            .post("/admin/api/marketplace/payments/" + paymentIntentId + "/refunds")
            .token(Tokens.admin(admin))
            .json(body(500, "mine"))
            .send();

    // Then 403 (four eyes: another admin decides), saying why, and nothing is refunded: no
    // refund record, no refund at Stripe
    for (Http.Response refused : List.of(keyed, keylessCall)) {
      assertThat(refused.status()).as(refused.toString()).isEqualTo(403);
      assertThat(refused.contentType()).startsWith("application/problem+json");
      assertThat(refused.json().get("detail").asText()).contains("own").contains("another admin");
    }
    assertThat(app.db.count("payment_refunds WHERE stripe_payment_intent_id = ?", paymentIntentId))
        .isZero();
    assertThat(app.refundsAtStripe(paymentIntentId)).isEmpty();
    // And another admin may refund it
    Http.Response byAnother = refund(paymentIntentId, body(500, "goodwill")).send();
    assertThat(byAnother.status()).as(byAnother.toString()).isEqualTo(201);
  }

  private static Http.Call keyless(String paymentIntentId, Object body) {
    return app.http
        .post("/admin/api/marketplace/payments/" + paymentIntentId + "/refunds")
        .token(Tokens.admin(ADMIN))
        .json(body);
  }

  @Test
  void shouldRefuseWithoutRefundingWhenTheBodyNamesAFieldTwice() {
    // Given a paid featured promotion of 500 cents
    Paid paid = featured();

    // When a body names the amount twice: 100 to whoever reads the first, 500 to the last
    Http.Response response =
        app.http
            .post("/admin/api/marketplace/payments/" + paid.paymentIntentId() + "/refunds")
            .token(Tokens.admin(ADMIN))
            .idempotencyKey(UUID.randomUUID().toString())
            .json("{\"amountCents\":100,\"reason\":\"x\",\"amountCents\":500}")
            .send();

    // Then the ambiguous body is refused, and nothing is refunded
    assertThat(response.status()).as(response.toString()).isEqualTo(400);
    assertThat(response.contentType()).startsWith("application/problem+json");
    assertThat(response.json().get("detail").asText()).contains("amountCents");
    assertThat(
            app.db.count(
                "payment_refunds WHERE stripe_payment_intent_id = ?", paid.paymentIntentId()))
        .isZero();
    assertThat(app.refundsAtStripe(paid.paymentIntentId())).isEmpty();
  }

  /** The call as the admin console makes it: under an Idempotency-Key of its own. */
  private static Http.Call refund(String paymentIntentId, Object body) {
    return app.http
        .post("/admin/api/marketplace/payments/" + paymentIntentId + "/refunds")
        .token(Tokens.admin(ADMIN))
        .idempotencyKey(UUID.randomUUID().toString())
        .json(body);
  }

  private static Map<String, Object> body(Object amountCents, Object reason) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("amountCents", amountCents);
    body.put("reason", reason);
    return body;
  }

  @Test
  void shouldRefundPartOfAFeaturedPromotionAtStripeAndAnnounceItWhenAdminRefunds()
      throws Exception {
    // Given a paid featured promotion of 500 cents
    Paid paid = featured();

    // When a super_admin refunds 150 cents of it
    Http.Response response =
        refund(paid.paymentIntentId(), body(150, "customer could not use the promotion")).send();

    // Then the answer is the processed refund of 150 cents
    assertThat(response.status()).as(response.toString()).isEqualTo(201);
    JsonNode refund = response.json();
    UUID refundId = UUID.fromString(refund.get("id").asText());
    assertThat(refund.get("paymentIntentId").asText()).isEqualTo(paid.paymentIntentId());
    assertThat(refund.get("listingId").asText()).isEqualTo(paid.listingId().toString());
    assertThat(refund.get("userId").asText()).isEqualTo(paid.owner().toString());
    assertThat(refund.get("amountCents").asLong()).isEqualTo(150);
    assertThat(refund.get("reason").asText()).isEqualTo("user_request");
    assertThat(refund.get("status").asText()).isEqualTo("processed");
    assertThat(refund.get("note").asText()).isEqualTo("customer could not use the promotion");
    String stripeRefundId = refund.get("stripeRefundId").asText();
    assertThat(stripeRefundId).startsWith("re_");

    // and payment_refunds holds it, with the admin's note and who made it
    assertThat(
            app.db.row(
                "SELECT status, amount_cents, stripe_refund_id, reason, note, created_by"
                    + " FROM payment_refunds WHERE id = ?",
                refundId))
        .hasValueSatisfying(
            row ->
                assertThat(row)
                    .containsEntry("status", "processed")
                    .containsEntry("amount_cents", 150)
                    .containsEntry("stripe_refund_id", stripeRefundId)
                    .containsEntry("reason", "user_request")
                    .containsEntry("note", "customer could not use the promotion")
                    .containsEntry("created_by", ADMIN));

    // and Stripe refunded 150 cents of that payment, once, keyed to the record
    assertThat(app.refundsAtStripe(paid.paymentIntentId()))
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.getId()).isEqualTo(stripeRefundId);
              assertThat(r.getAmount()).isEqualTo(150L);
              assertThat(r.getMetadata()).containsEntry("refund_id", refundId.toString());
            });

    // and refund.processed is published on payments.events.v1, keyed by the listing
    ConsumerRecord<String, byte[]> event =
        app.kafka.awaitRecord(
            app.topics.paymentEvents(),
            r ->
                KafkaTestClient.text(r).contains("refund.processed")
                    && KafkaTestClient.text(r).contains(refundId.toString()),
            Duration.ofSeconds(20));
    assertThat(event.key()).isEqualTo(paid.listingId().toString());
    JsonNode data = Json.mapper().readTree(event.value()).get("data");
    assertThat(data.get("amountCents").asLong()).isEqualTo(150);
    assertThat(data.get("paymentIntentId").asText()).isEqualTo(paid.paymentIntentId());
    assertThat(data.get("stripeRefundId").asText()).isEqualTo(stripeRefundId);
  }

  @Test
  void shouldRefundOnceWhenTwoConcurrentAdminRefundsTogetherExceedThePayment() throws Exception {
    // Given a paid featured promotion of 500 cents
    Paid paid = featured();

    // When two admins refund 300 cents of it at the same moment
    List<Http.Response> answers = new ArrayList<>();
    ExecutorService threads = Executors.newFixedThreadPool(2);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<Http.Response>> calls = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        Http.Call call = refund(paid.paymentIntentId(), body(300, "goodwill " + i));
        calls.add(
            threads.submit(
                () -> {
                  go.await();
                  return call.send();
                }));
      }
      go.countDown();
      for (Future<Http.Response> call : calls) {
        answers.add(call.get(60, TimeUnit.SECONDS));
      }
    } finally {
      threads.shutdownNow();
    }

    // Then one is refunded and the other is refused as more than is left
    assertThat(answers).extracting(Http.Response::status).containsExactlyInAnyOrder(201, 409);
    Http.Response refused =
        answers.stream().filter(a -> a.status() == 409).findFirst().orElseThrow();
    assertThat(refused.contentType()).startsWith("application/problem+json");
    assertThat(refused.json().get("detail").asText()).contains("200 of 500");

    // and Stripe made one refund, recorded once
    List<Refund> atStripe = app.refundsAtStripe(paid.paymentIntentId());
    assertThat(atStripe).singleElement().extracting(Refund::getAmount).isEqualTo(300L);
    assertThat(
            app.db.count(
                "payment_refunds WHERE stripe_payment_intent_id = ?", paid.paymentIntentId()))
        .isEqualTo(1);
  }

  @Test
  void shouldAnswer409BeyondWhatIsLeftAfterADashboardRefund() {
    // Given a paid featured promotion of 500 cents, 400 of which support refunded in Stripe's
    // dashboard, recorded by the refund worker from Stripe's event
    Paid paid = featured();
    Map<String, Object> dashboard = app.stripe.refundOutsideSystem(paid.paymentIntentId(), 400L);
    app.db.execute(
        """
        INSERT INTO payment_refunds
            (id, user_id, listing_id, stripe_payment_intent_id, stripe_refund_id, amount_cents,
             reason, status, note, processed_at)
        VALUES (?, ?, ?, ?, ?, 400, 'user_request', 'processed', 'refunded outside the system',
                now())
        """,
        UUID.randomUUID(),
        paid.owner(),
        paid.listingId(),
        paid.paymentIntentId(),
        dashboard.get("id"));

    // When an admin refunds 101 cents, then 100
    Http.Response tooMuch = refund(paid.paymentIntentId(), body(101, "goodwill")).send();
    Http.Response rest = refund(paid.paymentIntentId(), body(100, "goodwill")).send();

    // Then 101 is more than is left, 100 is refunded
    assertThat(tooMuch.status()).isEqualTo(409);
    assertThat(tooMuch.contentType()).startsWith("application/problem+json");
    assertThat(tooMuch.json().get("detail").asText()).contains("100 of 500");
    assertThat(rest.status()).as(rest.toString()).isEqualTo(201);
    assertThat(rest.json().get("status").asText()).isEqualTo("processed");
    assertThat(app.refundsAtStripe(paid.paymentIntentId()))
        .extracting(Refund::getAmount)
        .containsExactlyInAnyOrder(400L, 100L);

    // and nothing at all is left now
    Http.Response more = refund(paid.paymentIntentId(), body(1, "goodwill")).send();
    assertThat(more.status()).isEqualTo(409);
    assertThat(more.json().get("detail").asText()).contains("0 of 500");
  }

  @Test
  void shouldAnswer409WhenPaymentHasNotSucceededAnd404WhenItIsUnknown() {
    // Given a promotion bought but never paid
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing listing = app.paidListing(owner);
    String unpaid =
        app.promote(owner, listing.listingId(), "bump").json().get("paymentIntentId").asText();

    // When
    Http.Response notPaid = refund(unpaid, body(100, "goodwill")).send();
    Http.Response unknown = refund("pi_unknown" + UUID.randomUUID(), body(100, "goodwill")).send();

    // Then
    assertThat(notPaid.status()).isEqualTo(409);
    assertThat(notPaid.json().get("detail").asText()).contains("only a succeeded payment");
    assertThat(unknown.status()).isEqualTo(404);
    assertThat(unknown.contentType()).startsWith("application/problem+json");
    assertThat(app.db.count("payment_refunds WHERE stripe_payment_intent_id = ?", unpaid)).isZero();
    assertThat(app.refundsAtStripe(unpaid)).isEmpty();
  }

  @Test
  void shouldAnswer400AndChangeNothingWhenAmountOrReasonIsInvalid() {
    // Given a paid featured promotion
    Paid paid = featured();
    List<Object> bodies =
        List.of(
            body(0, "x"),
            body(-150, "x"),
            body(1.5, "x"),
            body("150", "x"),
            body(150.0, "x"),
            body(null, "x"),
            body(150, null),
            body(150, "   "),
            body(150, 42),
            Map.of("reason", "x"));

    // When each is sent
    for (Object body : bodies) {
      Http.Response response = refund(paid.paymentIntentId(), body).send();

      // Then it is a 400 naming the wrong field
      assertThat(response.status()).as("%s => %s", body, response).isEqualTo(400);
      assertThat(response.contentType()).startsWith("application/problem+json");
      assertThat(response.json().get("errors").fieldNames())
          .toIterable()
          .isSubsetOf("amountCents", "reason")
          .isNotEmpty();
    }
    Http.Response notJson =
        app.http
            .post("/admin/api/marketplace/payments/" + paid.paymentIntentId() + "/refunds")
            .token(Tokens.admin(ADMIN))
            .json("{\"amountCents\": 150,")
            .send();
    assertThat(notJson.status()).isEqualTo(400);

    // And nothing changed: no refund recorded, none at Stripe
    assertThat(
            app.db.count(
                "payment_refunds WHERE stripe_payment_intent_id = ?", paid.paymentIntentId()))
        .isZero();
    assertThat(app.refundsAtStripe(paid.paymentIntentId())).isEmpty();
  }

  @Test
  void shouldAnswer400AndChangeNothingWhenTheCurrencyIsNotThePayments() {
    // Given a paid featured promotion, in usd as every payment here
    Paid paid = featured();

    // When an admin sends an amount in another currency, or a currency that is no currency
    List<Object> bodies =
        List.of(
            withCurrency(body(150, "goodwill"), "eur"),
            withCurrency(body(150, "goodwill"), "jpy"),
            withCurrency(body(150, "goodwill"), 840));
    for (Object body : bodies) {
      Http.Response response = refund(paid.paymentIntentId(), body).send();

      // Then it is a 400 naming the currency, rather than a refund of 150 us cents
      assertThat(response.status()).as("%s => %s", body, response).isEqualTo(400);
      assertThat(response.json().get("errors").fieldNames())
          .toIterable()
          .containsExactly("currency");
    }
    assertThat(
            app.db.count(
                "payment_refunds WHERE stripe_payment_intent_id = ?", paid.paymentIntentId()))
        .isZero();
    assertThat(app.refundsAtStripe(paid.paymentIntentId())).isEmpty();

    // When the currency is the payment's
    Http.Response usd =
        refund(paid.paymentIntentId(), withCurrency(body(150, "goodwill"), "usd")).send();

    // Then it is refunded
    assertThat(usd.status()).as(usd.toString()).isEqualTo(201);
    assertThat(usd.json().get("amountCents").asLong()).isEqualTo(150);
  }

  private static Map<String, Object> withCurrency(Map<String, Object> body, Object currency) {
    body.put("currency", currency);
    return body;
  }

  @Test
  void shouldReplayTheSameRefundWhenTheSameIdempotencyKeyIsSentAgain() {
    // Given a paid featured promotion refunded 150 cents under an Idempotency-Key
    Paid paid = featured();
    String key = UUID.randomUUID().toString();
    Http.Response first =
        refund(paid.paymentIntentId(), body(150, "goodwill")).idempotencyKey(key).send();
    assertThat(first.status()).as(first.toString()).isEqualTo(201);

    // When the same request is sent again, and the key with another amount
    Http.Response again =
        refund(paid.paymentIntentId(), body(150, "goodwill")).idempotencyKey(key).send();
    Http.Response otherBody =
        refund(paid.paymentIntentId(), body(200, "goodwill")).idempotencyKey(key).send();

    // Then the first answer comes back, the same record, and the other body is refused
    assertThat(again.status()).isEqualTo(201);
    assertThat(again.header("Idempotent-Replayed")).contains("true");
    assertThat(again.json().get("id").asText()).isEqualTo(first.json().get("id").asText());
    assertThat(otherBody.status()).isEqualTo(422);

    // and it was refunded once
    assertThat(app.refundsAtStripe(paid.paymentIntentId()))
        .singleElement()
        .extracting(Refund::getAmount)
        .isEqualTo(150L);
    assertThat(
            app.db.count(
                "payment_refunds WHERE stripe_payment_intent_id = ?", paid.paymentIntentId()))
        .isEqualTo(1);
  }

  @Test
  void shouldFinishTheRecordedRefundNotMakeASecondWhenARequestThatFailedIsRetriedUnderItsKey() {
    // Given a request under a key that recorded its refund and then failed before answering (a
    // 5xx releases the key, so the admin's retry runs again)
    Paid paid = featured();
    String key = UUID.randomUUID().toString();
    UUID recorded = AdminPaymentRefundController.recordId(ADMIN, key, 0);
    app.db.execute(
        """
        INSERT INTO payment_refunds
            (id, user_id, listing_id, stripe_payment_intent_id, amount_cents, reason, status, note,
             created_by)
        VALUES (?, ?, ?, ?, 150, 'user_request', 'approved', 'goodwill', ?)
        """,
        recorded,
        paid.owner(),
        paid.listingId(),
        paid.paymentIntentId(),
        ADMIN);

    // When the admin retries under the same key
    Http.Response retried =
        refund(paid.paymentIntentId(), body(150, "goodwill")).idempotencyKey(key).send();

    // Then the recorded refund is finished, and no second one is made
    assertThat(retried.status()).as(retried.toString()).isEqualTo(201);
    assertThat(retried.json().get("id").asText()).isEqualTo(recorded.toString());
    assertThat(retried.json().get("status").asText()).isEqualTo("processed");
    assertThat(app.refundsAtStripe(paid.paymentIntentId()))
        .singleElement()
        .extracting(Refund::getAmount)
        .isEqualTo(150L);
    assertThat(
            app.db.count(
                "payment_refunds WHERE stripe_payment_intent_id = ?", paid.paymentIntentId()))
        .isEqualTo(1);
  }

  @Test
  void shouldRefuseWhenCallerIsAUserOrAnonymous() {
    // Given the owner of a paid featured promotion
    Paid paid = featured();

    // When the owner, and somebody without a token, ask for an admin refund
    Http.Response asOwner =
        app.http
            .post("/admin/api/marketplace/payments/" + paid.paymentIntentId() + "/refunds")
            .token(Tokens.user(paid.owner()))
            .json(body(150, "please"))
            .send();
    Http.Response anonymous =
        app.http
            .post("/admin/api/marketplace/payments/" + paid.paymentIntentId() + "/refunds")
            .json(body(150, "please"))
            .send();

    // Then
    assertThat(asOwner.status()).isEqualTo(403);
    assertThat(anonymous.status()).isEqualTo(401);
    assertThat(
            app.db.count(
                "payment_refunds WHERE stripe_payment_intent_id = ?", paid.paymentIntentId()))
        .isZero();
  }
}
