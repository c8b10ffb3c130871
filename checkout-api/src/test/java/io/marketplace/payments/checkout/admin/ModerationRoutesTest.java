package io.marketplace.payments.checkout.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.stripeemulator.http.ApiFaults;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.EventSchemas;
import io.marketplace.payments.testsupport.KafkaTestClient;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ModerationRoutesTest {

  private static TestApi app;

  @BeforeAll
  static void start() {
    app = TestApi.shared();
  }

  private static Http.Response reject(String token, UUID listingId, Object body) {
    return app.http
        .post("/admin/api/marketplace/listings/" + listingId + "/reject")
        .token(token)
        .json(body)
        .send();
  }

  @Test
  void shouldRefuseWithoutRejectingWhenASuperAdminRejectsTheirOwnListing() {
    // Given a super_admin whose own marketplace account paid for an active listing: rejecting it
    // would have the refund worker give the posting fee back to them
    UUID admin = UUID.randomUUID();
    TestApi.PaidListing paid = app.paidListing(admin);

    // When they reject it themselves
    Http.Response response =
        reject(Tokens.admin(admin), paid.listingId(), Map.of("reason", "refund me"));

    // Then 403 (four eyes: another admin decides), saying why, and the listing stands: active,
    // rejected by no one (the decision for the refund worker is queued only with the rejection)
    assertThat(response.status()).as(response.toString()).isEqualTo(403);
    assertThat(response.contentType()).startsWith("application/problem+json");
    assertThat(response.json().get("detail").asText()).contains("own").contains("another admin");
    assertThat(
            app.db.row(
                "SELECT status, rejected_by FROM marketplace_listings WHERE id = ?",
                paid.listingId()))
        .hasValueSatisfying(
            row -> {
              assertThat(row.get("status")).isEqualTo("active");
              assertThat(row.get("rejected_by")).isNull();
            });
    // And another admin may reject it
    assertThat(
            reject(Tokens.admin(UUID.randomUUID()), paid.listingId(), Map.of("reason", "scam"))
                .status())
        .isEqualTo(200);
  }

  @Test
  void shouldRejectListingAndPublishTheDecisionForTheRefundWorker() throws Exception {
    // Given a paid, active listing
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing paid = app.paidListing(owner);

    // When a super_admin rejects it
    UUID admin = UUID.randomUUID();
    Http.Response response =
        reject(Tokens.admin(admin), paid.listingId(), Map.of("reason", "scam"));

    // Then the listing is rejected, with who rejected it (its payments are refunded for it)
    assertThat(response.status()).isEqualTo(200);
    assertThat(response.json().get("status").asText()).isEqualTo("rejected");
    assertThat(
            app.db.row(
                "SELECT status, rejection_reason, rejected_by FROM marketplace_listings"
                    + " WHERE id = ?",
                paid.listingId()))
        .contains(Map.of("status", "rejected", "rejection_reason", "scam", "rejected_by", admin));

    // and the moderation decision is on marketplace.moderation.v1, keyed by listing
    ConsumerRecord<String, byte[]> decision =
        app.kafka.awaitRecord(
            app.topics.moderation(),
            r -> paid.listingId().toString().equals(r.key()),
            Duration.ofSeconds(20));
    JsonNode value = Json.mapper().readTree(decision.value());
    assertThat(value.get("listingId").asText()).isEqualTo(paid.listingId().toString());
    assertThat(value.get("decision").asText()).isEqualTo("rejected");
    assertThat(value.get("reason").asText()).isEqualTo("scam");
    assertThat(value.get("decidedAt").asText()).isNotBlank();

    // and listing.rejected on payments.events.v1
    ConsumerRecord<String, byte[]> event =
        app.kafka.awaitRecord(
            app.topics.paymentEvents(),
            r ->
                paid.listingId().toString().equals(r.key())
                    && KafkaTestClient.text(r).contains("listing.rejected"),
            Duration.ofSeconds(20));
    JsonNode data = Json.mapper().readTree(event.value()).get("data");
    assertThat(data.get("userId").asText()).isEqualTo(owner.toString());
    assertThat(data.get("rejectedBy").asText()).isEqualTo(admin.toString());
  }

  @Test
  void shouldEndTheListingsFeaturedWeeksAndAnnounceEachOnceWhenItIsRejected() throws Exception {
    // Given an active listing featured for this week and, bought while featured, for the next
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing paid = app.paidListing(owner);
    Instant now = Instant.now();
    UUID running = featuredWeek(paid.listingId(), now.minus(Duration.ofDays(1)));
    UUID next = featuredWeek(paid.listingId(), now.plus(Duration.ofDays(6)));
    assertThat(
            app.http
                .get("/api/marketplace/listings/" + paid.listingId())
                .token(Tokens.user(owner))
                .send()
                .json()
                .get("featuredUntil")
                .isNull())
        .isFalse();

    // When a super_admin rejects it
    Http.Response response =
        reject(Tokens.admin(UUID.randomUUID()), paid.listingId(), Map.of("reason", "scam"));

    // Then the listing is rejected and no longer shows as featured
    assertThat(response.status()).as(response.toString()).isEqualTo(200);
    assertThat(response.json().get("featuredUntil").isNull()).isTrue();
    JsonNode shown =
        app.http
            .get("/api/marketplace/listings/" + paid.listingId())
            .token(Tokens.user(owner))
            .send()
            .json();
    assertThat(shown.get("status").asText()).isEqualTo("rejected");
    assertThat(shown.get("featuredUntil").isNull()).as(shown.toString()).isTrue();

    // and both weeks are ended, their rows kept
    assertThat(
            app.db.count(
                "listing_promotions WHERE listing_id = ? AND expired_at IS NOT NULL",
                paid.listingId()))
        .isEqualTo(2);

    // and each is announced once as promotion.expired, keyed by listing, as the schema says
    for (UUID promotion : List.of(running, next)) {
      app.kafka.awaitRecord(
          app.topics.paymentEvents(),
          r -> KafkaTestClient.text(r).contains(promotion.toString()),
          Duration.ofSeconds(20));
    }
    app.db.awaitOutboxPublished(Duration.ofSeconds(20));
    List<ConsumerRecord<String, byte[]>> expired =
        app.kafka.readAll(app.topics.paymentEvents()).stream()
            .filter(r -> paid.listingId().toString().equals(r.key()))
            .filter(r -> KafkaTestClient.text(r).contains("\"promotion.expired\""))
            .toList();
    assertThat(expired).hasSize(2);
    for (ConsumerRecord<String, byte[]> record : expired) {
      assertThat(EventSchemas.violations("promotion.expired", KafkaTestClient.text(record)))
          .isEmpty();
      JsonNode data = Json.mapper().readTree(record.value()).get("data");
      assertThat(data.get("listingFeaturedUntil").isNull()).isTrue();
      assertThat(Instant.parse(data.get("expiredAt").asText()))
          .isBefore(Instant.parse(data.get("expiresAt").asText()));
    }
    assertThat(
            expired.stream()
                .map(r -> KafkaTestClient.text(r))
                .filter(t -> t.contains(running.toString())))
        .hasSize(1);
  }

  /** A featured week of the listing from {@code startsAt}, as the payment processor records it. */
  private static UUID featuredWeek(UUID listingId, Instant startsAt) {
    UUID id = UUID.randomUUID();
    app.db.execute(
        """
        INSERT INTO listing_promotions
            (id, listing_id, type, stripe_payment_intent_id, amount_cents, starts_at, expires_at)
        VALUES (?, ?, 'featured', ?, 500, ?, ?)
        """,
        id,
        listingId,
        "pi_" + id.toString().replace("-", ""),
        startsAt,
        startsAt.plus(Duration.ofDays(7)));
    return id;
  }

  @Test
  void shouldCancelTheOpenPaymentIntentWhenAListingAwaitingPaymentIsRejected() {
    // Given a listing awaiting its posting fee, checked out but not paid
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");
    String paymentIntentId = app.checkout(owner, listingId).json().get("paymentIntentId").asText();

    // When moderation rejects it
    Http.Response response =
        reject(Tokens.admin(UUID.randomUUID()), listingId, Map.of("reason", "counterfeit"));

    // Then it is rejected and its PaymentIntent is canceled at Stripe: the owner cannot pay
    assertThat(response.status()).isEqualTo(200);
    assertThat(response.json().get("status").asText()).isEqualTo("rejected");
    assertThat(app.stripe.object(paymentIntentId).orElseThrow().get("status"))
        .isEqualTo("canceled");
    assertThatThrownBy(() -> app.payAtStripe(paymentIntentId))
        .isInstanceOf(IllegalStateException.class);
    // and nothing is left for the refund worker to cancel
    assertThat(
            app.db.count(
                "payment_intents_to_cancel WHERE stripe_payment_intent_id = ?", paymentIntentId))
        .isZero();
  }

  @Test
  void shouldLeaveThePaymentIntentToTheRefundWorkerWhenStripeHoldsTheCancellationOff() {
    // Given a listing awaiting its posting fee, checked out but not paid, and Stripe holding off
    // the next cancellation (429)
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");
    String paymentIntentId = app.checkout(owner, listingId).json().get("paymentIntentId").asText();
    app.stripe.failNextApiCalls(
        "POST /v1/payment_intents/{id}/cancel", 1, ApiFaults.Kind.RATE_LIMIT);

    // When moderation rejects it
    Http.Response response =
        reject(Tokens.admin(UUID.randomUUID()), listingId, Map.of("reason", "counterfeit"));

    // Then the rejection stands, and the PaymentIntent Stripe did not cancel is recorded with it
    // for the refund worker to cancel
    assertThat(response.status()).isEqualTo(200);
    assertThat(app.stripe.object(paymentIntentId).orElseThrow().get("status"))
        .isEqualTo("requires_payment_method");
    assertThat(
            app.db.row(
                "SELECT listing_id, reason FROM payment_intents_to_cancel"
                    + " WHERE stripe_payment_intent_id = ?",
                paymentIntentId))
        .contains(Map.of("listing_id", listingId, "reason", "listing_rejected"));
  }

  @Test
  void shouldKeepTheRejectionWhenThePaymentIntentCannotBeCanceled() {
    // Given a listing awaiting its posting fee whose PaymentIntent was paid at Stripe just now,
    // before we heard of it
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");
    String paymentIntentId = app.checkout(owner, listingId).json().get("paymentIntentId").asText();
    app.payAtStripe(paymentIntentId);

    // When moderation rejects it
    Http.Response response =
        reject(Tokens.admin(UUID.randomUUID()), listingId, Map.of("reason", "counterfeit"));

    // Then Stripe refuses the cancel, and the rejection stands, announced as usual
    assertThat(response.status()).isEqualTo(200);
    assertThat(app.stripe.object(paymentIntentId).orElseThrow().get("status"))
        .isEqualTo("succeeded");
    assertThat(app.db.row("SELECT status FROM marketplace_listings WHERE id = ?", listingId))
        .contains(Map.of("status", "rejected"));
    app.kafka.awaitRecord(
        app.topics.moderation(), r -> listingId.toString().equals(r.key()), Duration.ofSeconds(20));
  }

  @Test
  void shouldAnswer409WhenListingIsAlreadyRejectedOrExpired() {
    // Given
    UUID owner = UUID.randomUUID();
    UUID rejected = app.createListing(owner, "for-sale");
    UUID expired = app.createListing(owner, "for-sale");
    app.db.execute("UPDATE marketplace_listings SET status = 'expired' WHERE id = ?", expired);
    String admin = Tokens.admin(UUID.randomUUID());
    assertThat(reject(admin, rejected, Map.of("reason", "spam")).status()).isEqualTo(200);

    // When
    Http.Response again = reject(admin, rejected, Map.of("reason", "spam"));
    Http.Response expiredResponse = reject(admin, expired, Map.of("reason", "spam"));

    // Then
    assertThat(again.status()).isEqualTo(409);
    assertThat(expiredResponse.status()).isEqualTo(409);
    // and the decision was announced once: the relay has published everything appended by now
    app.kafka.awaitRecord(
        app.topics.moderation(), r -> rejected.toString().equals(r.key()), Duration.ofSeconds(20));
    Await.until(
        Duration.ofSeconds(20), "the outbox drained", () -> app.db.count("outbox_events") == 0);
    assertThat(
            app.kafka.readAll(app.topics.moderation()).stream()
                .filter(r -> rejected.toString().equals(r.key())))
        .hasSize(1);
  }

  @Test
  void shouldAnswer409WhenTheListingIsPastItsEndBeforeTheExpirerMarksIt() {
    // Given an active listing with a bump paid today, whose end passed a minute ago; the expirer,
    // which runs daily, has not marked it expired yet (its owner already reads it as expired)
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "for-sale");
    app.paidPromotion(owner, listingId, "bump");
    app.endListingAt(listingId, Instant.now().minus(Duration.ofMinutes(1)));

    // When a super_admin rejects it
    Http.Response response =
        reject(Tokens.admin(UUID.randomUUID()), listingId, Map.of("reason", "spam"));

    // Then 409 as for a listing marked expired: it ran its time, and a rejection now would have
    // the refund worker give the bump back, which the same request a pass of the expirer later
    // does not; the listing is left for the expirer to mark
    assertThat(response.status()).as(response.toString()).isEqualTo(409);
    assertThat(response.json().get("detail").asText()).contains("expired");
    assertThat(
            app.db.row(
                "SELECT status, rejected_by FROM marketplace_listings WHERE id = ?", listingId))
        .hasValueSatisfying(
            row -> {
              assertThat(row.get("status")).isEqualTo("active");
              assertThat(row.get("rejected_by")).isNull();
            });
  }

  @Test
  void shouldRefuseWhenCallerIsAUserBodyIsBadOrListingIsUnknown() {
    // Given
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "for-sale");
    String admin = Tokens.admin(UUID.randomUUID());

    // When
    Http.Response asUser = reject(Tokens.user(owner), listingId, Map.of("reason", "x"));
    Http.Response anonymous =
        app.http
            .post("/admin/api/marketplace/listings/" + listingId + "/reject")
            .json(Map.of("reason", "x"))
            .send();
    Http.Response noReason = reject(admin, listingId, Map.of("reason", 7));
    Http.Response unknown = reject(admin, UUID.randomUUID(), Map.of("reason", "x"));

    // Then
    assertThat(asUser.status()).isEqualTo(403);
    assertThat(anonymous.status()).isEqualTo(401);
    assertThat(noReason.status()).isEqualTo(400);
    assertThat(noReason.json().get("errors").get("reason").asText()).isEqualTo("must be a string");
    assertThat(unknown.status()).isEqualTo(404);
    assertThat(app.db.row("SELECT status FROM marketplace_listings WHERE id = ?", listingId))
        .contains(Map.of("status", "active"));
  }
}
