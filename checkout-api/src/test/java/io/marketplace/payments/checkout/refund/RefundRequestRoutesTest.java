package io.marketplace.payments.checkout.refund;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.testsupport.KafkaTestClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class RefundRequestRoutesTest {

  private static TestApi app;

  @BeforeAll
  static void start() {
    app = TestApi.shared();
  }

  private static Http.Response request(UUID userId, UUID listingId, Object body) {
    return app.http
        .post("/api/marketplace/listings/" + listingId + "/refund-request")
        .token(Tokens.user(userId))
        .json(body)
        .send();
  }

  @Test
  void shouldRecordPendingRefundOfThePostingFeeAndAnnounceItWhenOwnerAsks() throws Exception {
    // Given a listing whose posting fee was paid
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing paid = app.paidListing(owner);

    // When
    Http.Response response = request(owner, paid.listingId(), Map.of("reason", "sold elsewhere"));

    // Then the answer is the pending refund of the whole fee
    assertThat(response.status()).isEqualTo(202);
    JsonNode refund = response.json();
    assertThat(refund.get("userId").asText()).isEqualTo(owner.toString());
    assertThat(refund.get("listingId").asText()).isEqualTo(paid.listingId().toString());
    assertThat(refund.get("paymentIntentId").asText()).isEqualTo(paid.paymentIntentId());
    assertThat(refund.get("stripeRefundId").isNull()).isTrue();
    assertThat(refund.get("amountCents").asInt()).isEqualTo(500);
    assertThat(refund.get("reason").asText()).isEqualTo("user_request");
    assertThat(refund.get("status").asText()).isEqualTo("pending");
    assertThat(refund.get("createdAt").asText()).isNotBlank();
    UUID refundId = UUID.fromString(refund.get("id").asText());
    assertThat(app.db.row("SELECT status, note FROM payment_refunds WHERE id = ?", refundId))
        .contains(Map.of("status", "pending", "note", "sold elsewhere"));

    // and refund.requested is published, keyed by the listing (other tests share the topic)
    ConsumerRecord<String, byte[]> event =
        app.kafka.awaitRecord(
            app.topics.paymentEvents(),
            r ->
                KafkaTestClient.text(r).contains("refund.requested")
                    && KafkaTestClient.text(r).contains(refundId.toString()),
            Duration.ofSeconds(20));
    assertThat(event.key()).isEqualTo(paid.listingId().toString());
    JsonNode envelope = Json.mapper().readTree(event.value());
    assertThat(envelope.get("type").asText()).isEqualTo("refund.requested");
    assertThat(envelope.get("data").get("refundId").asText()).isEqualTo(refundId.toString());
    assertThat(envelope.get("data").get("amountCents").asInt()).isEqualTo(500);
  }

  @Test
  void shouldAnswer409WhenNothingWasPaidOrARefundIsUnderWay() {
    // Given one listing never paid and one whose refund was already requested
    UUID owner = UUID.randomUUID();
    UUID unpaid = app.createListing(owner, "housing");
    TestApi.PaidListing paid = app.paidListing(owner);
    assertThat(request(owner, paid.listingId(), Map.of("reason", "first")).status()).isEqualTo(202);

    // When
    Http.Response unpaidResponse = request(owner, unpaid, Map.of("reason", "please"));
    Http.Response twice = request(owner, paid.listingId(), Map.of("reason", "again"));

    // Then
    assertThat(unpaidResponse.status()).isEqualTo(409);
    assertThat(unpaidResponse.json().get("detail").asText()).contains("nothing was paid");
    assertThat(twice.status()).isEqualTo(409);
    assertThat(twice.json().get("detail").asText()).contains("nothing is left to refund");
    assertThat(app.db.count("payment_refunds WHERE listing_id = ?", paid.listingId())).isEqualTo(1);
  }

  @Test
  void shouldAnswerWithTheFirstRunsRefundWhenARequestRunsAgainUnderItsKey() {
    // Given a refund request made under an Idempotency-Key, whose answer was then never stored
    // (the process died after the commit, or storing the answer failed and the key was given back)
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing paid = app.paidListing(owner);
    String key = UUID.randomUUID().toString();
    String path = "/api/marketplace/listings/" + paid.listingId() + "/refund-request";
    Map<String, String> body = Map.of("reason", "sold elsewhere");
    Http.Response first =
        app.http.post(path).token(Tokens.user(owner)).idempotencyKey(key).json(body).send();
    assertThat(first.status()).isEqualTo(202);
    app.db.execute("DELETE FROM idempotency_keys WHERE user_id = ?", owner);

    // When the client's retry runs the request again under the same key
    Http.Response again =
        app.http.post(path).token(Tokens.user(owner)).idempotencyKey(key).json(body).send();

    // Then it is answered with the refund the first run recorded, the only one
    assertThat(again.status()).as(again.toString()).isEqualTo(202);
    assertThat(again.json().get("id").asText()).isEqualTo(first.json().get("id").asText());
    assertThat(again.json().get("status").asText()).isEqualTo("pending");
    assertThat(app.db.count("payment_refunds WHERE listing_id = ?", paid.listingId())).isEqualTo(1);
    // while another key is another request, refused as the refund is under way
    Http.Response other =
        app.http
            .post(path)
            .token(Tokens.user(owner))
            .idempotencyKey(UUID.randomUUID().toString())
            .json(body)
            .send();
    assertThat(other.status()).isEqualTo(409);
    // and the same key with another body, once the key was given back, is not the first request
    app.db.execute("DELETE FROM idempotency_keys WHERE user_id = ?", owner);
    Http.Response otherBody =
        app.http
            .post(path)
            .token(Tokens.user(owner))
            .idempotencyKey(key)
            .json(Map.of("reason", "changed my mind"))
            .send();
    assertThat(otherBody.status()).isEqualTo(409);
    assertThat(app.db.count("payment_refunds WHERE listing_id = ?", paid.listingId())).isEqualTo(1);
  }

  @Test
  void shouldAnswer400WhenReasonIsMissing() {
    // Given
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing paid = app.paidListing(owner);

    // When
    Http.Response response = request(owner, paid.listingId(), Map.of("reason", "   "));

    // Then
    assertThat(response.status()).isEqualTo(400);
    assertThat(response.json().get("errors").get("reason").asText()).isEqualTo("must not be blank");
  }

  @Test
  void shouldRefuseWhenCallerIsAnonymousOrAnotherUserAndAnswer404WhenUnknown() {
    // Given
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing paid = app.paidListing(owner);

    // When
    Http.Response anonymous =
        app.http
            .post("/api/marketplace/listings/" + paid.listingId() + "/refund-request")
            .json(Map.of("reason", "x"))
            .send();
    Http.Response other = request(UUID.randomUUID(), paid.listingId(), Map.of("reason", "x"));
    Http.Response unknown = request(owner, UUID.randomUUID(), Map.of("reason", "x"));

    // Then
    assertThat(anonymous.status()).isEqualTo(401);
    assertThat(other.status()).isEqualTo(403);
    assertThat(unknown.status()).isEqualTo(404);
    assertThat(app.db.count("payment_refunds WHERE listing_id = ?", paid.listingId())).isZero();
  }

  @Test
  void shouldRecordPendingRefundOfABumpWhenOwnerNamesItsPayment() throws Exception {
    // Given a paid listing whose owner also paid for a bump
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing paid = app.paidListing(owner);
    String bump = app.paidPromotion(owner, paid.listingId(), "bump");

    // When the owner asks for the bump back
    Http.Response response =
        request(
            owner,
            paid.listingId(),
            Map.of("reason", "the bump did not show", "paymentIntentId", bump));

    // Then the pending refund is of the bump's payment, in full
    assertThat(response.status()).as(response.toString()).isEqualTo(202);
    JsonNode refund = response.json();
    assertThat(refund.get("paymentIntentId").asText()).isEqualTo(bump);
    assertThat(refund.get("amountCents").asInt()).isEqualTo(200);
    assertThat(refund.get("reason").asText()).isEqualTo("user_request");
    assertThat(refund.get("status").asText()).isEqualTo("pending");
    UUID refundId = UUID.fromString(refund.get("id").asText());
    assertThat(
            app.db.row(
                "SELECT status, stripe_payment_intent_id, amount_cents, note"
                    + " FROM payment_refunds WHERE id = ?",
                refundId))
        .contains(
            Map.of(
                "status",
                "pending",
                "stripe_payment_intent_id",
                bump,
                "amount_cents",
                200,
                "note",
                "the bump did not show"));

    // and refund.requested names the bump's payment
    ConsumerRecord<String, byte[]> event =
        app.kafka.awaitRecord(
            app.topics.paymentEvents(),
            r ->
                KafkaTestClient.text(r).contains("refund.requested")
                    && KafkaTestClient.text(r).contains(refundId.toString()),
            Duration.ofSeconds(20));
    assertThat(Json.mapper().readTree(event.value()).get("data").get("paymentIntentId").asText())
        .isEqualTo(bump);

    // and the posting fee may still be asked back, as before, without naming it
    Http.Response fee = request(owner, paid.listingId(), Map.of("reason", "sold elsewhere"));
    assertThat(fee.status()).isEqualTo(202);
    assertThat(fee.json().get("paymentIntentId").asText()).isEqualTo(paid.paymentIntentId());
    assertThat(fee.json().get("amountCents").asInt()).isEqualTo(500);
  }

  @Test
  void shouldAnswer400AndRecordNothingWhenThePaymentIsNamedBlank() {
    // Given a paid listing whose owner also paid for a bump
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing paid = app.paidListing(owner);
    app.paidPromotion(owner, paid.listingId(), "bump");

    // When the owner's client asks for a payment back but sends its id empty or blank (a choice
    // left unmade in a form), which is not the same as leaving the field out
    Http.Response empty =
        request(owner, paid.listingId(), Map.of("reason", "no show", "paymentIntentId", ""));
    Http.Response blank =
        request(owner, paid.listingId(), Map.of("reason", "no show", "paymentIntentId", "  "));

    // Then 400 naming the field, and no refund of the posting fee, which nobody asked for, is
    // recorded for an admin to approve
    for (Http.Response refused : List.of(empty, blank)) {
      assertThat(refused.status()).as(refused.toString()).isEqualTo(400);
      assertThat(refused.contentType()).startsWith("application/problem+json");
      assertThat(refused.body()).contains("paymentIntentId");
    }
    assertThat(app.db.count("payment_refunds WHERE user_id = ?", owner)).isZero();
  }

  @Test
  void shouldAskForWhatIsLeftOfAFeaturedPaymentAndAnswer409WhenNothingIsLeft() {
    // Given a featured promotion of 500 cents, 150 of which an admin refunded
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing paid = app.paidListing(owner);
    String featured = app.paidPromotion(owner, paid.listingId(), "featured");
    Http.Response adminRefund =
        app.http
            .post("/admin/api/marketplace/payments/" + featured + "/refunds")
            .token(Tokens.admin(UUID.randomUUID()))
            .idempotencyKey(UUID.randomUUID().toString())
            .json(Map.of("amountCents", 150, "reason", "goodwill"))
            .send();
    assertThat(adminRefund.status()).as(adminRefund.toString()).isEqualTo(201);

    // When the owner asks for it back, twice
    Map<String, String> body = Map.of("reason", "not featured", "paymentIntentId", featured);
    Http.Response first = request(owner, paid.listingId(), body);
    Http.Response second = request(owner, paid.listingId(), body);

    // Then the first asks for the 350 cents left, the second finds nothing left
    assertThat(first.status()).isEqualTo(202);
    assertThat(first.json().get("amountCents").asInt()).isEqualTo(350);
    assertThat(second.status()).isEqualTo(409);
    assertThat(second.json().get("detail").asText()).contains("nothing is left");
    assertThat(app.db.count("payment_refunds WHERE stripe_payment_intent_id = ?", featured))
        .isEqualTo(2);
  }

  @Test
  void shouldAnswer404WhenThePaymentIsNotTheListingsAnd409WhenItIsNotPaid() {
    // Given two listings of one owner, one with a paid bump and one with an unpaid promotion
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing mine = app.paidListing(owner);
    TestApi.PaidListing other = app.paidListing(owner);
    String otherBump = app.paidPromotion(owner, other.listingId(), "bump");
    String unpaid =
        app.promote(owner, mine.listingId(), "featured").json().get("paymentIntentId").asText();

    // When the owner names another listing's payment, an unknown one, and the unpaid one
    Http.Response notThisListing =
        request(owner, mine.listingId(), Map.of("reason", "x", "paymentIntentId", otherBump));
    Http.Response unknown =
        request(owner, mine.listingId(), Map.of("reason", "x", "paymentIntentId", "pi_nothing"));
    Http.Response notPaid =
        request(owner, mine.listingId(), Map.of("reason", "x", "paymentIntentId", unpaid));

    // Then
    assertThat(notThisListing.status()).isEqualTo(404);
    assertThat(unknown.status()).isEqualTo(404);
    assertThat(notPaid.status()).isEqualTo(409);
    assertThat(app.db.count("payment_refunds WHERE user_id = ?", owner)).isZero();
  }
}
