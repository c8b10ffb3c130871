package io.marketplace.payments.checkout.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import io.marketplace.payments.common.http.Problem;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A user flagged by a risk signal, on checkout, promote and the admin's clear route. */
class RiskRoutesTest {

  private static TestApi app;

  @BeforeAll
  static void start() {
    app = TestApi.shared();
  }

  /** A flag as payment-risk records it, raised two hours ago, ending {@code after} from now. */
  private static void flag(UUID userId, Duration after) {
    Instant now = Instant.now();
    app.flag(userId, now.minus(Duration.ofHours(2)), now.plus(after));
  }

  private static Http.Response clear(String token, UUID userId, Object body) {
    return app.http
        .post("/admin/api/marketplace/users/" + userId + "/risk/clear")
        .token(token)
        .idempotencyKey(UUID.randomUUID().toString())
        .json(body)
        .send();
  }

  @Test
  void shouldRefuseCheckoutAndPromoteWithRetryAfterWhenTheUserIsFlagged() {
    // Given a user with an unpaid listing and an active one, flagged for 30 more minutes
    UUID owner = UUID.randomUUID();
    UUID unpaid = app.createListing(owner, "housing");
    TestApi.PaidListing active = app.paidListing(owner);
    flag(owner, Duration.ofMinutes(30));

    // When the user checks out and promotes
    Http.Response checkout = app.checkout(owner, unpaid);
    Http.Response promote = app.promote(owner, active.listingId(), "featured");

    // Then both are refused with 403, the reason, and the seconds until the cool-down ends
    for (Http.Response response : new Http.Response[] {checkout, promote}) {
      assertThat(response.status()).as(response.toString()).isEqualTo(403);
      assertThat(response.contentType()).startsWith(Problem.CONTENT_TYPE);
      assertThat(response.json().path("detail").asText()).contains("card_testing_declines");
      long retryAfter = Long.parseLong(response.header("Retry-After").orElseThrow());
      assertThat(retryAfter).isBetween(1700L, 1800L);
    }
    // And no PaymentIntent was created
    assertThat(app.paymentIntentsOf(unpaid)).isEmpty();
  }

  @Test
  void shouldAllowCheckoutWhenTheCoolDownHasEnded() {
    // Given a user whose flag ended a minute ago
    UUID owner = UUID.randomUUID();
    UUID unpaid = app.createListing(owner, "housing");
    flag(owner, Duration.ofMinutes(-1));

    // When the user checks out
    Http.Response checkout = app.checkout(owner, unpaid);

    // Then the checkout goes ahead
    assertThat(checkout.status()).as(checkout.toString()).isEqualTo(200);
  }

  @Test
  void shouldClearTheFlagAndAnnounceItWhenASuperAdminClearsTheUser() throws Exception {
    // Given a flagged user with an unpaid listing
    UUID owner = UUID.randomUUID();
    UUID unpaid = app.createListing(owner, "housing");
    flag(owner, Duration.ofMinutes(30));
    assertThat(app.checkout(owner, unpaid).status()).isEqualTo(403);
    UUID admin = UUID.randomUUID();

    // When a super_admin clears the user's risk
    Http.Response response =
        clear(Tokens.admin(admin), owner, Map.of("reason", "verified by phone"));

    // Then 200 with what was cleared
    assertThat(response.status()).as(response.toString()).isEqualTo(200);
    assertThat(response.json().path("userId").asText()).isEqualTo(owner.toString());
    assertThat(response.json().path("clearedFlags").asInt()).isEqualTo(1);
    // And the flag row says who cleared it and why
    assertThat(
            app.db.row(
                "SELECT cleared_by, clear_reason FROM user_risk_flags WHERE user_id = ?", owner))
        .contains(Map.of("cleared_by", admin, "clear_reason", "verified by phone"));
    // And user.risk_cleared is published, keyed by the user
    ConsumerRecord<String, byte[]> event =
        app.kafka.awaitRecord(
            app.topics.paymentEvents(),
            r ->
                owner.toString().equals(r.key())
                    && "user.risk_cleared"
                        .equals(KafkaTestClient.header(r, "event-type").orElse("")),
            Duration.ofSeconds(20));
    JsonNode data = Json.mapper().readTree(event.value()).path("data");
    assertThat(data.path("clearedBy").asText()).isEqualTo(admin.toString());
    assertThat(data.path("reason").asText()).isEqualTo("verified by phone");
    // And the user may check out again
    Http.Response checkout = app.checkout(owner, unpaid);
    assertThat(checkout.status()).as(checkout.toString()).isEqualTo(200);
  }

  @Test
  void shouldRecordAndAnnounceTheClearWhenTheUserHasNoActiveFlag() throws Exception {
    // Given a known user with no active flag: the signal of their burst may still be on its way
    UUID owner = UUID.randomUUID();
    app.createListing(owner, "housing");
    UUID admin = UUID.randomUUID();

    // When a super_admin clears the user's risk
    Http.Response response =
        clear(Tokens.admin(admin), owner, Map.of("reason", "verified by phone"));

    // Then 200, no flag cleared
    assertThat(response.status()).as(response.toString()).isEqualTo(200);
    assertThat(response.json().path("clearedFlags").asInt()).isZero();
    // And the clear is recorded: who, why, when, as the reply says
    assertThat(
            app.db.row(
                "SELECT cleared_by, clear_reason, cleared_flags FROM user_risk_clears"
                    + " WHERE user_id = ?",
                owner))
        .contains(
            Map.of("cleared_by", admin, "clear_reason", "verified by phone", "cleared_flags", 0));
    // And announced as user.risk_cleared, under the id the row keeps
    ConsumerRecord<String, byte[]> event = awaitCleared(owner, 1).get(0);
    JsonNode envelope = Json.mapper().readTree(event.value());
    assertThat(envelope.path("data").path("clearedBy").asText()).isEqualTo(admin.toString());
    assertThat(envelope.path("data").path("clearedAt").asText())
        .isEqualTo(response.json().path("clearedAt").asText());
    assertThat(
            app.db.count(
                "user_risk_clears WHERE user_id = ? AND event_id = ?::uuid",
                owner,
                envelope.path("id").asText()))
        .isEqualTo(1);
  }

  @Test
  void shouldRecordEachAdminsClearWhenASecondAdminClearsTheUserAgain() {
    // Given a flagged user whom a first super_admin cleared
    UUID owner = UUID.randomUUID();
    flag(owner, Duration.ofMinutes(30));
    UUID first = UUID.randomUUID();
    Http.Response firstClear = clear(Tokens.admin(first), owner, Map.of("reason", "by phone"));
    assertThat(firstClear.json().path("clearedFlags").asInt()).isEqualTo(1);

    // When another super_admin clears the user too
    UUID second = UUID.randomUUID();
    Http.Response secondClear =
        clear(Tokens.admin(second), owner, Map.of("reason", "checked the cards"));

    // Then 200, nothing left to clear; the flag still names the first admin
    assertThat(secondClear.status()).as(secondClear.toString()).isEqualTo(200);
    assertThat(secondClear.json().path("clearedFlags").asInt()).isZero();
    assertThat(app.db.row("SELECT cleared_by FROM user_risk_flags WHERE user_id = ?", owner))
        .contains(Map.of("cleared_by", first));
    // And each clear is recorded with its admin, and announced once, under an id of its own
    assertThat(
            app.db.rows(
                "SELECT cleared_by, cleared_flags FROM user_risk_clears WHERE user_id = ?"
                    + " ORDER BY cleared_at",
                owner))
        .containsExactly(
            Map.of("cleared_by", first, "cleared_flags", 1),
            Map.of("cleared_by", second, "cleared_flags", 0));
    assertThat(awaitCleared(owner, 2)).hasSize(2);
  }

  @Test
  void shouldClearTheFlagOfASignalBeingRecordedWhenASuperAdminClearsTheUserMeanwhile()
      throws Exception {
    // Given payment-risk recording a signal for a user: its transaction holds the user's risk lock
    // and has inserted the flag, not yet committed
    UUID owner = UUID.randomUUID();
    UUID unpaid = app.createListing(owner, "housing");
    Instant now = Instant.now();
    try (Connection riskWorker = app.db.dataSource().getConnection()) {
      riskWorker.setAutoCommit(false);
      try (PreparedStatement lock =
              riskWorker.prepareStatement("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))");
          PreparedStatement insert =
              riskWorker.prepareStatement(
                  """
                  INSERT INTO user_risk_flags (signal_id, user_id, signal, signal_count,
                      threshold, window_start, window_end, flagged_at, flagged_until)
                  VALUES (?, ?, 'card_testing_declines', 5, 5, ?, ?, ?, ?)
                  """)) {
        lock.setString(1, "user-risk:" + owner);
        lock.execute();
        insert.setObject(1, UUID.randomUUID());
        insert.setObject(2, owner);
        insert.setTimestamp(3, Timestamp.from(now.minusSeconds(600)));
        insert.setTimestamp(4, Timestamp.from(now));
        insert.setTimestamp(5, Timestamp.from(now));
        insert.setTimestamp(6, Timestamp.from(now.plus(Duration.ofHours(1))));
        insert.executeUpdate();
      }

      // When a super_admin clears the user meanwhile, and then the signal commits
      CompletableFuture<Http.Response> cleared =
          CompletableFuture.supplyAsync(
              () ->
                  clear(
                      Tokens.admin(UUID.randomUUID()),
                      owner,
                      Map.of("reason", "verified by phone")));
      Await.until(
          Duration.ofSeconds(20),
          "the clear waiting for the signal being recorded",
          () ->
              app.db.count(
                      "pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'")
                  > 0);
      riskWorker.commit();

      // Then the clear covers that signal's flag: the user may check out
      Http.Response response = cleared.get(20, TimeUnit.SECONDS);
      assertThat(response.status()).as(response.toString()).isEqualTo(200);
      assertThat(response.json().path("clearedFlags").asInt()).isEqualTo(1);
      assertThat(app.checkout(owner, unpaid).status()).isEqualTo(200);
    }
  }

  @Test
  void shouldRefuseASuperAdminClearingTheirOwnHold() {
    // Given a super_admin whose own marketplace account is on hold
    UUID admin = UUID.randomUUID();
    UUID unpaid = app.createListing(admin, "housing");
    flag(admin, Duration.ofMinutes(30));

    // When they clear themselves
    Http.Response response = clear(Tokens.admin(admin), admin, Map.of("reason", "mine"));

    // Then 403: another admin decides; the hold stands
    assertThat(response.status()).as(response.toString()).isEqualTo(403);
    assertThat(app.checkout(admin, unpaid).status()).isEqualTo(403);
  }

  @Test
  void shouldAnswerNotFoundWhenTheUserIsUnknown() {
    // Given a user id no one has used and no signal has named (a typo in the admin's tool)
    UUID nobody = UUID.randomUUID();

    // When a super_admin clears it
    Http.Response response = clear(Tokens.admin(UUID.randomUUID()), nobody, Map.of("reason", "x"));

    // Then 404, not a 200 that reads as if a hold had been lifted; nothing is recorded or
    // announced
    assertThat(response.status()).as(response.toString()).isEqualTo(404);
    assertThat(response.json().path("detail").asText()).contains(nobody.toString());
    assertThat(app.db.count("user_risk_clears WHERE user_id = ?", nobody)).isZero();
    app.db.awaitOutboxPublished(Duration.ofSeconds(20));
    assertThat(
            app.kafka.readAll(app.topics.paymentEvents()).stream()
                .filter(r -> nobody.toString().equals(r.key())))
        .isEmpty();
  }

  /**
   * The {@code user.risk_cleared} events of {@code userId} on the topic, once {@code count} of them
   * are there and what the outbox holds is published (so that one too many is seen).
   */
  private static List<ConsumerRecord<String, byte[]>> awaitCleared(UUID userId, int count) {
    Predicate<ConsumerRecord<String, byte[]>> cleared =
        r ->
            userId.toString().equals(r.key())
                && "user.risk_cleared".equals(KafkaTestClient.header(r, "event-type").orElse(""));
    app.kafka.readAll(
        app.topics.paymentEvents().name(),
        read -> read.stream().filter(cleared).count() >= count,
        Duration.ofSeconds(20));
    app.db.awaitOutboxPublished(Duration.ofSeconds(20));
    return app.kafka.readAll(app.topics.paymentEvents()).stream().filter(cleared).toList();
  }

  @Test
  void shouldLetACheckoutRetriedUnderItsIdempotencyKeyThroughWhenTheCoolDownHasEnded() {
    // Given a flagged user whose checkout, sent with an Idempotency-Key, was refused with 403
    UUID owner = UUID.randomUUID();
    UUID unpaid = app.createListing(owner, "housing");
    flag(owner, Duration.ofMinutes(30));
    String key = UUID.randomUUID().toString();
    Http.Response refused = app.checkout(owner, unpaid, key);
    assertThat(refused.status()).as(refused.toString()).isEqualTo(403);
    assertThat(refused.header("Retry-After")).isPresent();

    // When the cool-down ends, and the client retries the same request under the same key, as
    // Retry-After invites it to
    app.db.execute(
        "UPDATE user_risk_flags SET flagged_until = ? WHERE user_id = ?",
        Timestamp.from(Instant.now().minusSeconds(1)),
        owner);
    Http.Response retried = app.checkout(owner, unpaid, key);

    // Then the checkout goes ahead: the refusal held only until the cool-down's end
    assertThat(retried.status()).as(retried.toString()).isEqualTo(200);
  }

  @Test
  void shouldLetAPromotionRetriedUnderItsIdempotencyKeyThroughWhenASuperAdminClearedTheUser() {
    // Given a flagged user whose promotion, sent with an Idempotency-Key, was refused with 403
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing active = app.paidListing(owner);
    flag(owner, Duration.ofMinutes(30));
    String key = UUID.randomUUID().toString();
    Http.Response refused =
        app.http
            .post("/api/marketplace/listings/" + active.listingId() + "/promote")
            .token(Tokens.user(owner))
            .idempotencyKey(key)
            .json(Map.of("type", "featured"))
            .send();
    assertThat(refused.status()).as(refused.toString()).isEqualTo(403);

    // When a super_admin clears the user, and the client retries the same request under its key
    assertThat(clear(Tokens.admin(UUID.randomUUID()), owner, Map.of("reason", "verified")).status())
        .isEqualTo(200);
    Http.Response retried =
        app.http
            .post("/api/marketplace/listings/" + active.listingId() + "/promote")
            .token(Tokens.user(owner))
            .idempotencyKey(key)
            .json(Map.of("type", "featured"))
            .send();

    // Then the promotion goes ahead
    assertThat(retried.status()).as(retried.toString()).isEqualTo(200);
  }

  @Test
  void shouldRefuseToClearWhenTheCallerIsNotASuperAdminOrGivesNoReason() {
    // Given a flagged user
    UUID owner = UUID.randomUUID();
    flag(owner, Duration.ofMinutes(30));

    // When the user clears themself, and an admin clears without a reason
    Http.Response asUser = clear(Tokens.user(owner), owner, Map.of("reason", "me"));
    Http.Response noReason = clear(Tokens.admin(UUID.randomUUID()), owner, Map.of());

    // Then 403 and 400, and the flag stands
    assertThat(asUser.status()).isEqualTo(403);
    assertThat(noReason.status()).isEqualTo(400);
    assertThat(app.db.count("user_risk_flags WHERE user_id = ? AND cleared_at IS NULL", owner))
        .isEqualTo(1);
  }
}
