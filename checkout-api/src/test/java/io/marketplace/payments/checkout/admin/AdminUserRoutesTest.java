package io.marketplace.payments.checkout.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class AdminUserRoutesTest {

  private static TestApi app;

  @BeforeAll
  static void start() {
    app = TestApi.shared();
  }

  private static Http.Response unban(String token, UUID userId, String key, Object body) {
    return app.http
        .post("/admin/api/marketplace/users/" + userId + "/unban")
        .token(token)
        .idempotencyKey(key)
        .json(body)
        .send();
  }

  private static UUID bannedUser() {
    UUID user = UUID.randomUUID();
    app.db.execute(
        "INSERT INTO users (id, banned_at, ban_reason) VALUES (?, now(), '2 chargebacks')", user);
    return user;
  }

  @Test
  void shouldUnbanAuditItAndAnnounceItOnce() throws Exception {
    // Given a banned user
    UUID user = bannedUser();
    UUID admin = UUID.randomUUID();
    String key = UUID.randomUUID().toString();

    // When a super_admin unbans them, and the request is repeated with the same key
    Http.Response response =
        unban(Tokens.admin(admin), user, key, Map.of("reason", "card holder confirmed"));
    Http.Response replay =
        unban(Tokens.admin(admin), user, key, Map.of("reason", "card holder confirmed"));

    // Then the user is unbanned, and who, when and why are stored
    assertThat(response.status()).isEqualTo(200);
    assertThat(response.json().get("banned").asBoolean()).isFalse();
    assertThat(response.json().get("unbannedBy").asText()).isEqualTo(admin.toString());
    assertThat(replay.status()).isEqualTo(200);
    assertThat(replay.body()).isEqualTo(response.body());
    Map<String, Object> row =
        app.db
            .row(
                "SELECT banned_at, ban_reason, unbanned_at, unbanned_by, unban_reason"
                    + " FROM users WHERE id = ?",
                user)
            .orElseThrow();
    assertThat(row.get("banned_at")).isNull();
    assertThat(row.get("ban_reason")).isNull();
    assertThat(row.get("unbanned_at")).isNotNull();
    assertThat(row).containsEntry("unbanned_by", admin);
    assertThat(row).containsEntry("unban_reason", "card holder confirmed");

    // and user.unbanned is on payments.events.v1, keyed by user, once
    ConsumerRecord<String, byte[]> event =
        app.kafka.awaitRecord(
            app.topics.paymentEvents(),
            r ->
                user.toString().equals(r.key())
                    && KafkaTestClient.text(r).contains("user.unbanned"),
            Duration.ofSeconds(20));
    JsonNode data = Json.mapper().readTree(event.value()).get("data");
    assertThat(data.get("userId").asText()).isEqualTo(user.toString());
    assertThat(data.get("reason").asText()).isEqualTo("card holder confirmed");
    assertThat(data.get("unbannedBy").asText()).isEqualTo(admin.toString());
    assertThat(data.get("banReason").asText()).isEqualTo("2 chargebacks");
    Await.until(
        Duration.ofSeconds(20), "the outbox drained", () -> app.db.count("outbox_events") == 0);
    assertThat(
            app.kafka.readAll(app.topics.paymentEvents()).stream()
                .filter(r -> user.toString().equals(r.key())))
        .hasSize(1);

    // and they may post again
    assertThat(app.createListing(user, "housing")).isNotNull();
  }

  @Test
  void shouldLetAnUnbannedUserRetryUnderTheKeyTheBanRefused() {
    // Given a user with a listing waiting for its fee, banned while their checkout is refused
    UUID user = UUID.randomUUID();
    UUID listing = app.createListing(user, "housing");
    app.ban(user);
    String key = UUID.randomUUID().toString();
    Http.Response refused = app.checkout(user, listing, key);
    assertThat(refused.status()).as(refused.toString()).isEqualTo(403);

    // When an admin lifts the ban and the user's client retries under the same key
    assertThat(
            unban(
                    Tokens.admin(UUID.randomUUID()),
                    user,
                    UUID.randomUUID().toString(),
                    Map.of("reason", "card holder confirmed"))
                .status())
        .isEqualTo(200);
    Http.Response retried = app.checkout(user, listing, key);

    // Then the retry runs (the ban was the answer only while it stood), not the stored 403
    assertThat(retried.status()).as(retried.toString()).isEqualTo(200);
    assertThat(retried.json().get("paymentIntentId").asText()).startsWith("pi_");
  }

  @Test
  void shouldRefuseWhenUserIsNotBannedUnknownOrCallerIsNoAdmin() {
    // Given
    UUID banned = bannedUser();
    UUID notBanned = UUID.randomUUID();
    app.db.execute("INSERT INTO users (id) VALUES (?)", notBanned);
    String admin = Tokens.admin(UUID.randomUUID());

    // When
    Http.Response asUser =
        unban(Tokens.user(banned), banned, UUID.randomUUID().toString(), Map.of("reason", "x"));
    Http.Response noReason = unban(admin, banned, UUID.randomUUID().toString(), Map.of());
    Http.Response unknown =
        unban(admin, UUID.randomUUID(), UUID.randomUUID().toString(), Map.of("reason", "x"));
    Http.Response notBannedResponse =
        unban(admin, notBanned, UUID.randomUUID().toString(), Map.of("reason", "x"));

    // Then
    assertThat(asUser.status()).isEqualTo(403);
    assertThat(noReason.status()).isEqualTo(400);
    assertThat(unknown.status()).isEqualTo(404);
    assertThat(notBannedResponse.status()).isEqualTo(409);
    assertThat(app.db.row("SELECT banned_at FROM users WHERE id = ?", banned).orElseThrow())
        .extractingByKey("banned_at")
        .isNotNull();
  }

  @Test
  void shouldRefuseASuperAdminLiftingTheirOwnBan() {
    // Given a super_admin whose own marketplace account is banned
    UUID admin = bannedUser();

    // When they unban themselves
    Http.Response response =
        unban(Tokens.admin(admin), admin, UUID.randomUUID().toString(), Map.of("reason", "mine"));

    // Then 403: another admin decides; the ban stands
    assertThat(response.status()).as(response.toString()).isEqualTo(403);
    assertThat(app.db.row("SELECT banned_at FROM users WHERE id = ?", admin).orElseThrow())
        .extractingByKey("banned_at")
        .isNotNull();
  }

  @Test
  void shouldKeepEveryBanAndUnbanOfAUserWhenBannedAndUnbannedTwice() {
    // Given a user banned (2 chargebacks) and unbanned by one admin, then banned again, as the
    // refund worker bans, and unbanned by another
    UUID user = bannedUser();
    UUID first = UUID.randomUUID();
    UUID second = UUID.randomUUID();
    assertThat(
            unban(Tokens.admin(first), user, UUID.randomUUID().toString(), Map.of("reason", "one"))
                .status())
        .isEqualTo(200);
    app.db.execute(
        "UPDATE users SET banned_at = now(), ban_reason = '3 chargebacks' WHERE id = ?", user);
    assertThat(
            unban(Tokens.admin(second), user, UUID.randomUUID().toString(), Map.of("reason", "two"))
                .status())
        .isEqualTo(200);

    // When the user's history is read
    List<Map<String, Object>> history =
        app.db.rows(
            "SELECT action, reason, decided_by FROM user_ban_history WHERE user_id = ? ORDER BY id",
            user);

    // Then every ban and unban is there, with who lifted each ban and why
    assertThat(history)
        .extracting(r -> r.get("action"), r -> r.get("reason"), r -> r.get("decided_by"))
        .containsExactly(
            tuple("banned", "2 chargebacks", null),
            tuple("unbanned", "one", first),
            tuple("banned", "3 chargebacks", null),
            tuple("unbanned", "two", second));
  }
}
