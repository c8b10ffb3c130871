package io.marketplace.payments.checkout.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.testsupport.KafkaTestClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An admin POST under an {@code Idempotency-Key} whose effect committed but whose answer was never
 * stored: the process was killed between the two (or the database went away after the commit). The
 * key's row is then a claim of a process that is gone, which the admin's retry takes over and runs
 * again. That rerun must answer as the first run did, with no second effect: the admin, told 409,
 * would believe the first attempt failed or someone else acted.
 */
class AdminRerunAfterLostAnswerTest {

  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final SecureRandom RANDOM = new SecureRandom();

  private static TestApi app;

  @BeforeAll
  static void start() {
    app = TestApi.shared();
  }

  /** The same admin, key and body, as a client retrying a request it got no answer to sends it. */
  private record Request(UUID admin, String key, String path, Map<String, String> body) {

    static Request of(String path, Map<String, String> body) {
      return new Request(UUID.randomUUID(), UUID.randomUUID().toString(), path, body);
    }

    Http.Response send() {
      return app.http.post(path).token(Tokens.admin(admin)).idempotencyKey(key).json(body).send();
    }

    /**
     * Leaves the key as a {@code kill -9} between the effect's commit and the stored answer leaves
     * it: claimed, unanswered, by a process whose lock nobody holds any more.
     */
    void loseAnswer() {
      int deadProcess = 1 + RANDOM.nextInt(Integer.MAX_VALUE - 1);
      int changed =
          app.db.execute(
              """
              UPDATE idempotency_keys
              SET response_status = NULL, response_body = NULL, completed_at = NULL,
                  claimed_by = ?
              WHERE user_id = ? AND idempotency_key = ?
              """,
              deadProcess,
              admin,
              key);
      assertThat(changed).as("the key's row").isEqualTo(1);
    }
  }

  @Test
  void shouldAnswerTheModerationRejectionAgainWhenItsAnswerWasLost() {
    // Given a listing rejected by moderation under a key, whose answer was lost
    TestApi.PaidListing paid = app.paidListing(UUID.randomUUID());
    Request request =
        Request.of(
            "/admin/api/marketplace/listings/" + paid.listingId() + "/reject",
            Map.of("reason", "scam"));
    Http.Response first = request.send();
    assertThat(first.status()).as(first.toString()).isEqualTo(200);
    request.loseAnswer();

    // When the admin's retry runs it again
    Http.Response rerun = request.send();

    // Then it answers as the first run did, and the rejection was announced once
    assertThat(rerun.status()).as(rerun.toString()).isEqualTo(200);
    assertThat(rerun.json()).isEqualTo(first.json());
    app.db.awaitOutboxPublished(WAIT);
    String listing = paid.listingId().toString();
    assertThat(eventsOfType("listing.rejected", r -> listing.equals(r.key()))).hasSize(1);
    assertThat(
            app.kafka.readAll(app.topics.moderation()).stream()
                .filter(r -> listing.equals(r.key())))
        .hasSize(1);
  }

  @Test
  void shouldAnswerTheRefundRejectionAgainWhenItsAnswerWasLost() {
    // Given a pending refund rejected under a key, whose answer was lost
    UUID refundId = pendingRefund();
    Request request =
        Request.of(
            "/admin/api/marketplace/refunds/" + refundId + "/reject",
            Map.of("reason", "used for a month"));
    Http.Response first = request.send();
    assertThat(first.status()).as(first.toString()).isEqualTo(200);
    request.loseAnswer();

    // When the admin's retry runs it again
    Http.Response rerun = request.send();

    // Then it answers as the first run did, with one decision and one refund.rejected
    assertThat(rerun.status()).as(rerun.toString()).isEqualTo(200);
    assertThat(rerun.json()).isEqualTo(first.json());
    assertThat(app.db.count("refund_decisions WHERE refund_id = ?", refundId)).isEqualTo(1);
    app.db.awaitOutboxPublished(WAIT);
    assertThat(eventsOfType("refund.rejected", r -> about(r, "refundId", refundId))).hasSize(1);
  }

  @Test
  void shouldAnswerTheRefundApprovalAgainWhenItsAnswerWasLost() {
    // Given a pending refund approved under a key and refunded at Stripe, whose answer was lost
    UUID refundId = pendingRefund();
    Request request =
        Request.of("/admin/api/marketplace/refunds/" + refundId + "/approve", Map.of());
    Http.Response first = request.send();
    assertThat(first.status()).as(first.toString()).isEqualTo(200);
    assertThat(first.json().get("status").asText()).isEqualTo("processed");
    request.loseAnswer();

    // When the admin's retry runs it again
    Http.Response rerun = request.send();

    // Then it answers as the first run did, with one approval and one refund at Stripe
    assertThat(rerun.status()).as(rerun.toString()).isEqualTo(200);
    assertThat(rerun.json()).isEqualTo(first.json());
    assertThat(app.db.count("refund_decisions WHERE refund_id = ?", refundId)).isEqualTo(1);
    String paymentIntentId = first.json().get("paymentIntentId").asText();
    assertThat(app.refundsAtStripe(paymentIntentId)).hasSize(1);
    app.db.awaitOutboxPublished(WAIT);
    assertThat(eventsOfType("refund.processed", r -> about(r, "refundId", refundId))).hasSize(1);
  }

  @Test
  void shouldAnswerTheFailedRefundRetryAgainWhenItsAnswerWasLost() {
    // Given a refund Stripe failed, retried under a key and refunded at Stripe, whose answer was
    // lost
    UUID refundId = failedRefund();
    Request request = Request.of("/admin/api/marketplace/refunds/" + refundId + "/retry", Map.of());
    Http.Response first = request.send();
    assertThat(first.status()).as(first.toString()).isEqualTo(200);
    assertThat(first.json().get("status").asText()).isEqualTo("processed");
    request.loseAnswer();

    // When the admin's retry runs it again
    Http.Response rerun = request.send();

    // Then it answers as the first run did, with one retry decision, one new attempt and one
    // refund at Stripe
    assertThat(rerun.status()).as(rerun.toString()).isEqualTo(200);
    assertThat(rerun.json()).isEqualTo(first.json());
    assertThat(
            app.db.count("refund_decisions WHERE refund_id = ? AND decision = 'retried'", refundId))
        .isEqualTo(1);
    assertThat(app.db.count("payment_refunds WHERE id = ? AND attempt = 1", refundId)).isEqualTo(1);
    assertThat(app.refundsAtStripe(first.json().get("paymentIntentId").asText())).hasSize(1);
    app.db.awaitOutboxPublished(WAIT);
    assertThat(eventsOfType("refund.processed", r -> about(r, "refundId", refundId))).hasSize(1);
  }

  @Test
  void shouldAnswerTheFailedRefundCloseAgainWhenItsAnswerWasLost() {
    // Given a refund Stripe failed, closed under a key, whose answer was lost
    UUID refundId = failedRefund();
    Request request =
        Request.of(
            "/admin/api/marketplace/refunds/" + refundId + "/close",
            Map.of("reason", "refunded by bank transfer", "outcome", "refunded_elsewhere"));
    Http.Response first = request.send();
    assertThat(first.status()).as(first.toString()).isEqualTo(200);
    assertThat(first.json().get("closedAt").isNull()).isFalse();
    request.loseAnswer();

    // When the admin's retry runs it again
    Http.Response rerun = request.send();

    // Then it answers as the first run did, with one close decision
    assertThat(rerun.status()).as(rerun.toString()).isEqualTo(200);
    assertThat(rerun.json()).isEqualTo(first.json());
    assertThat(
            app.db.count("refund_decisions WHERE refund_id = ? AND decision = 'closed'", refundId))
        .isEqualTo(1);
  }

  @Test
  void shouldAnswerTheUnbanAgainWhenItsAnswerWasLost() {
    // Given a banned user unbanned under a key, whose answer was lost
    UUID user = UUID.randomUUID();
    app.ban(user);
    Request request =
        Request.of(
            "/admin/api/marketplace/users/" + user + "/unban",
            Map.of("reason", "card holder confirmed"));
    Http.Response first = request.send();
    assertThat(first.status()).as(first.toString()).isEqualTo(200);
    request.loseAnswer();

    // When the admin's retry runs it again
    Http.Response rerun = request.send();

    // Then it answers as the first run did, and the unban was announced once
    assertThat(rerun.status()).as(rerun.toString()).isEqualTo(200);
    assertThat(rerun.json()).isEqualTo(first.json());
    app.db.awaitOutboxPublished(WAIT);
    assertThat(eventsOfType("user.unbanned", r -> user.toString().equals(r.key()))).hasSize(1);

    // When a new chargeback bans the user again, and the answer is lost again before the admin's
    // next retry
    app.ban(user);
    request.loseAnswer();
    Http.Response afterReban = request.send();

    // Then that retry lifts nothing, and says the user is banned
    assertThat(afterReban.status()).as(afterReban.toString()).isEqualTo(200);
    assertThat(afterReban.json().get("banned").asBoolean()).isTrue();
    assertThat(app.db.row("SELECT banned_at FROM users WHERE id = ?", user).orElseThrow())
        .extractingByKey("banned_at")
        .isNotNull();
  }

  @Test
  void shouldAnswerTheRiskClearAgainWhenItsAnswerWasLost() {
    // Given a flagged user cleared under a key, whose answer was lost
    UUID user = UUID.randomUUID();
    flag(user);
    Request request =
        Request.of(
            "/admin/api/marketplace/users/" + user + "/risk/clear",
            Map.of("reason", "verified by phone"));
    Http.Response first = request.send();
    assertThat(first.status()).as(first.toString()).isEqualTo(200);
    assertThat(first.json().get("clearedFlags").asInt()).isEqualTo(1);
    request.loseAnswer();

    // and a new flag raised meanwhile
    flag(user);

    // When the admin's retry runs it again
    Http.Response rerun = request.send();

    // Then it answers as the first run did (one flag cleared then), clears nothing more, and the
    // clear was announced once
    assertThat(rerun.status()).as(rerun.toString()).isEqualTo(200);
    assertThat(rerun.json()).isEqualTo(first.json());
    assertThat(app.db.count("user_risk_flags WHERE user_id = ? AND cleared_at IS NULL", user))
        .isEqualTo(1);
    app.db.awaitOutboxPublished(WAIT);
    assertThat(eventsOfType("user.risk_cleared", r -> user.toString().equals(r.key()))).hasSize(1);
  }

  @Test
  void shouldAnswerARiskClearThatFoundNoFlagAgainWhenItsAnswerWasLost() {
    // Given a known user without an active flag, cleared under a key, whose answer was lost
    UUID user = UUID.randomUUID();
    app.createListing(user, "housing");
    Request request =
        Request.of(
            "/admin/api/marketplace/users/" + user + "/risk/clear",
            Map.of("reason", "verified by phone"));
    Http.Response first = request.send();
    assertThat(first.status()).as(first.toString()).isEqualTo(200);
    assertThat(first.json().get("clearedFlags").asInt()).isZero();
    request.loseAnswer();

    // and a new flag raised meanwhile
    flag(user);

    // When the admin's retry runs it again
    Http.Response rerun = request.send();

    // Then it answers as the first run did, clears nothing, and the clear was recorded and
    // announced once
    assertThat(rerun.status()).as(rerun.toString()).isEqualTo(200);
    assertThat(rerun.json()).isEqualTo(first.json());
    assertThat(app.db.count("user_risk_flags WHERE user_id = ? AND cleared_at IS NULL", user))
        .isEqualTo(1);
    assertThat(app.db.count("user_risk_clears WHERE user_id = ?", user)).isEqualTo(1);
    app.db.awaitOutboxPublished(WAIT);
    assertThat(eventsOfType("user.risk_cleared", r -> user.toString().equals(r.key()))).hasSize(1);
  }

  @Test
  void shouldStillRefuseAnotherKeyOrBodyAfterTheDecisionWasTaken() {
    // Given a pending refund rejected under a key, whose answer was lost
    UUID refundId = pendingRefund();
    String path = "/admin/api/marketplace/refunds/" + refundId + "/reject";
    Request request = Request.of(path, Map.of("reason", "used for a month"));
    assertThat(request.send().status()).isEqualTo(200);
    request.loseAnswer();

    // When the same admin sends another request: another key, or (the key given back) another
    // body, or no key at all
    Http.Response otherKey =
        new Request(request.admin(), UUID.randomUUID().toString(), path, request.body()).send();
    app.db.execute(
        "DELETE FROM idempotency_keys WHERE user_id = ? AND idempotency_key = ?",
        request.admin(),
        request.key());
    Http.Response otherBody =
        new Request(request.admin(), request.key(), path, Map.of("reason", "another")).send();
    Http.Response noKey =
        app.http.post(path).token(Tokens.admin(request.admin())).json(request.body()).send();

    // Then each is a new request, refused as the refund is no longer pending
    assertThat(otherKey.status()).as(otherKey.toString()).isEqualTo(409);
    assertThat(otherBody.status()).as(otherBody.toString()).isEqualTo(409);
    assertThat(noKey.status()).as(noKey.toString()).isEqualTo(409);
    assertThat(app.db.count("refund_decisions WHERE refund_id = ?", refundId)).isEqualTo(1);
  }

  /** A paid listing whose owner asked for the fee back: a pending refund's id. */
  private static UUID pendingRefund() {
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing paid = app.paidListing(owner);
    Http.Response response =
        app.http
            .post("/api/marketplace/listings/" + paid.listingId() + "/refund-request")
            .token(Tokens.user(owner))
            .json(Map.of("reason", "changed my mind"))
            .send();
    assertThat(response.status()).as(response.toString()).isEqualTo(202);
    return UUID.fromString(response.json().get("id").asText());
  }

  /** A requested refund that Stripe failed after creating it, as the refund worker records it. */
  private static UUID failedRefund() {
    UUID refundId = pendingRefund();
    app.failedAtStripe(refundId);
    return refundId;
  }

  /** A flag as payment-risk records it, active for the next half hour. */
  private static void flag(UUID userId) {
    Instant now = Instant.now();
    app.flag(userId, now.minusSeconds(60), now.plus(Duration.ofMinutes(30)));
  }

  private static List<ConsumerRecord<String, byte[]>> eventsOfType(
      String type, Predicate<ConsumerRecord<String, byte[]>> which) {
    return app.kafka.readAll(app.topics.paymentEvents()).stream()
        .filter(r -> type.equals(KafkaTestClient.header(r, "event-type").orElse("")))
        .filter(which)
        .toList();
  }

  private static boolean about(ConsumerRecord<String, byte[]> record, String field, UUID id) {
    try {
      JsonNode data = Json.mapper().readTree(record.value()).path("data");
      return id.toString().equals(data.path(field).asText());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
