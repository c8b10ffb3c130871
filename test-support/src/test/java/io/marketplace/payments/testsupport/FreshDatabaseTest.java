package io.marketplace.payments.testsupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.marketplace.payments.common.db.Database;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class FreshDatabaseTest {

  @Test
  void shouldGiveIsolatedMigratedDatabasesWhenCalledTwice() {
    // Given two fresh databases
    TestDatabase first = TestInfra.freshDatabase();
    TestDatabase second = TestInfra.freshDatabase();

    // When a user is written to the first
    UUID user = UUID.randomUUID();
    first.execute("INSERT INTO users (id) VALUES (?)", user);

    // Then only the first has it, and both carry the whole schema with its seed
    assertThat(first.name()).isNotEqualTo(second.name());
    assertThat(first.count("users")).isEqualTo(1);
    assertThat(second.count("users")).isZero();
    assertThat(first.count("categories")).isEqualTo(9);
    assertThat(second.count("SELECT count(*) FROM categories WHERE posting_fee_cents = ?", 0))
        .isEqualTo(3);
    assertThat(second.count("flyway_schema_history WHERE success")).isPositive();
  }

  @Test
  void shouldReadRowsWithJavaTypesWhenQueried() {
    // Given a banned user
    TestDatabase db = TestInfra.freshDatabase();
    UUID user = UUID.randomUUID();
    Instant bannedAt = Instant.parse("2025-03-01T10:15:30Z");
    db.execute(
        "INSERT INTO users (id, banned_at, ban_reason) VALUES (?, ?, ?)", user, bannedAt, "fraud");

    // When it is read back
    Map<String, Object> row = db.row("SELECT * FROM users WHERE id = ?", user).orElseThrow();

    // Then uuid and timestamptz come back as UUID and Instant
    assertThat(row)
        .containsEntry("id", user)
        .containsEntry("banned_at", bannedAt)
        .containsEntry("ban_reason", "fraud");
    assertThat((Instant) row.get("created_at"))
        .isCloseTo(Instant.now(), within(5, ChronoUnit.MINUTES));
    assertThat(db.row("SELECT * FROM users WHERE id = ?", UUID.randomUUID())).isEmpty();
    assertThatThrownBy(() -> db.row("SELECT * FROM categories"))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void shouldServeJdbiAndServicePoolsWhenAsked() {
    // Given a fresh database
    TestDatabase db = TestInfra.freshDatabase();

    // When used through its Jdbi and through a service's own pool
    long categories =
        db.jdbi()
            .withHandle(
                handle ->
                    handle.createQuery("SELECT count(*) FROM categories").mapTo(Long.class).one());
    try (Database database = Database.open(db.dbConfig(), "fresh-database-test")) {

      // Then both reach the same migrated database
      String current =
          database
              .jdbi()
              .withHandle(h -> h.select("SELECT current_database()").mapTo(String.class).one());
      assertThat(categories).isEqualTo(9);
      assertThat(database.isReachable()).isTrue();
      assertThat(current).isEqualTo(db.name());
    }
  }
}
