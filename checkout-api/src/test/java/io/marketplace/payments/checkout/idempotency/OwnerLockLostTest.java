package io.marketplace.payments.checkout.idempotency;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import io.marketplace.payments.testsupport.Await;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * checkout-api has lost the database session whose lock shows its Idempotency-Key claims alive, and
 * cannot take the lock again (here because this test holds it; in production because the old
 * session still lingers on the server). A claim it made now would look abandoned to every other
 * process, so it takes none: a POST with a key is answered 503 with {@code Retry-After}, and runs
 * once the lock is back. Requests without a key are not concerned.
 */
class OwnerLockLostTest {

  private static final Duration WAIT = Duration.ofSeconds(20);

  private static TestApi app;

  @BeforeAll
  static void start() {
    app = TestApi.start(config -> config);
  }

  @AfterAll
  static void stop() {
    app.close();
  }

  @Test
  void shouldAnswerKeyedRequestsRetryLaterWhileItsClaimLockIsLost() throws Exception {
    // Given the API's claim lock, taken from it: its session ended, the lock held by this test
    UUID owner = UUID.randomUUID();
    Map<String, String> listing = Map.of("title", "A bike", "categorySlug", "for-sale");
    try (Connection thief = app.db.dataSource().getConnection()) {
      int id = ownerOfTheClaims(thief);
      try (PreparedStatement steal =
          thief.prepareStatement(
              "SELECT pg_terminate_backend(pid), pg_advisory_lock(?, ?) FROM pg_stat_activity"
                  + " WHERE application_name = ? AND datname = current_database()")) {
        steal.setInt(1, ClaimOwner.LOCK_CLASS);
        steal.setInt(2, id);
        steal.setString(3, ClaimOwner.APPLICATION_NAME);
        assertThat(steal.executeQuery().next()).as("the API's claim session").isTrue();
      }

      // Then, once it noticed, a POST with an Idempotency-Key is told to retry, and changes nothing
      Http.Response refused =
          Await.value(
              WAIT,
              "a keyed request refused",
              () -> {
                Http.Response response = create(owner, listing, UUID.randomUUID().toString());
                assertThat(response.status()).isIn(201, 503);
                return response.status() == 503 ? Optional.of(response) : Optional.empty();
              });
      assertThat(refused.header("Retry-After")).hasValue("1");
      assertThat(refused.json().get("detail").asText()).contains("retry");
      // and one without a key runs as ever
      assertThat(create(owner, listing, null).status()).isEqualTo(201);

      // When the lock is free again
      try (PreparedStatement unlock = thief.prepareStatement("SELECT pg_advisory_unlock(?, ?)")) {
        unlock.setInt(1, ClaimOwner.LOCK_CLASS);
        unlock.setInt(2, id);
        unlock.executeQuery().close();
      }
    }

    // Then the same client's retries run, within a second or two
    String key = UUID.randomUUID().toString();
    Http.Response created =
        app.http
            .post("/api/marketplace/listings")
            .token(Tokens.user(owner))
            .idempotencyKey(key)
            .json(listing)
            .sendWhileInProgress(WAIT);
    assertThat(created.status()).as(created.toString()).isEqualTo(201);
    assertThat(app.metrics()).containsPattern("payments_idempotency_owner_lock\\{[^}]*} 1\\.0");
  }

  private static Http.Response create(UUID owner, Map<String, String> listing, String key) {
    Http.Call call = app.http.post("/api/marketplace/listings").token(Tokens.user(owner));
    if (key != null) {
      call.idempotencyKey(key);
    }
    return call.json(listing).send();
  }

  /** The number of the API's claim lock, as other processes see it. */
  private static int ownerOfTheClaims(Connection connection) throws SQLException {
    try (PreparedStatement query =
        connection.prepareStatement(
            "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted"
                + " AND classid = ?::oid AND objsubid = 2"
                + " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")) {
      query.setInt(1, ClaimOwner.LOCK_CLASS);
      try (ResultSet rows = query.executeQuery()) {
        assertThat(rows.next()).as("the API holds its claim lock").isTrue();
        return (int) rows.getLong(1);
      }
    }
  }
}
