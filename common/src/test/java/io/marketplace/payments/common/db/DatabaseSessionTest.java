package io.marketplace.payments.common.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.config.InvalidConfigException;
import io.marketplace.payments.embedded.EmbeddedPostgresServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A service's sessions with PostgreSQL are set up by the service, not left to the server: commits
 * durable even where the server's default is {@code synchronous_commit=off}, and a statement or a
 * connection that stops answering fails within seconds instead of hanging its worker.
 */
class DatabaseSessionTest {

  private static final String QUERY_CANCELED = "57014";

  private static EmbeddedPostgresServer postgres;
  private static DbConfig config;
  private static DbConfig snapshotDefault;

  @BeforeAll
  static void startPostgresWhoseDefaultIsAsynchronousCommit() throws SQLException {
    postgres = EmbeddedPostgresServer.start(null, 0);
    postgres.createDatabase("sessions");
    try (Connection connection = postgres.dataSource("postgres").getConnection();
        Statement statement = connection.createStatement()) {
      statement.execute("ALTER DATABASE sessions SET synchronous_commit = off");
    }
    config =
        new DbConfig(postgres.jdbcUrl("sessions"), postgres.user(), postgres.password(), 2)
            .withSocketTimeout(Duration.ofSeconds(4));
    postgres.createDatabase("snapshots");
    try (Connection connection = postgres.dataSource("postgres").getConnection();
        Statement statement = connection.createStatement()) {
      statement.execute(
          "ALTER DATABASE snapshots SET default_transaction_isolation = 'repeatable read'");
    }
    try (Connection connection = postgres.dataSource("snapshots").getConnection();
        Statement statement = connection.createStatement()) {
      statement.execute("CREATE TABLE refunds_kept (payment_intent_id text PRIMARY KEY)");
    }
    snapshotDefault =
        new DbConfig(postgres.jdbcUrl("snapshots"), postgres.user(), postgres.password(), 2);
  }

  @AfterAll
  static void stopPostgres() {
    postgres.close();
  }

  @Test
  void shouldCommitDurablyWhenTheServerDefaultIsAsynchronous() throws SQLException {
    // Given a database whose sessions default to synchronous_commit=off
    assertThat(show(postgres.dataSource("sessions").getConnection(), "synchronous_commit"))
        .isEqualTo("off");

    // When a service opens its pool on it
    try (Database database = Database.open(config, "session-test")) {

      // Then every session of the service commits durably
      assertThat(show(database.dataSource().getConnection(), "synchronous_commit")).isEqualTo("on");
    }
  }

  @Test
  void shouldCommitDurablyWhenTheDatabaseUrlCarriesOptionsOfItsOwn() throws SQLException {
    // Given a DATABASE_URL that sets options of its own (a search path), on a database whose
    // sessions default to synchronous_commit=off
    DbConfig withOptions =
        new DbConfig(
                postgres.jdbcUrl("sessions") + "?options=-c%20search_path%3Dpublic",
                postgres.user(),
                postgres.password(),
                2)
            .withSocketTimeout(Duration.ofSeconds(4));

    // When a service opens its pool with it
    try (Database database = Database.open(withOptions, "session-test")) {

      // Then every session of the pool still commits durably and cancels slow statements
      assertThat(show(database.dataSource().getConnection(), "synchronous_commit")).isEqualTo("on");
      assertThat(show(database.dataSource().getConnection(), "statement_timeout")).isEqualTo("2s");
      // And the URL's own option holds too
      assertThat(show(database.dataSource().getConnection(), "search_path")).isEqualTo("public");
    }
  }

  @Test
  void shouldSeeWhatAnotherTransactionCommittedMeanwhileWhenTheServerDefaultIsRepeatableRead()
      throws SQLException {
    // Given a database whose transactions default to repeatable read (one snapshot per
    // transaction), where the services' lock-then-look-again (PaymentIntentLock, UserRiskLock,
    // row locks) rests on each statement seeing what committed before it
    try (Connection connection = postgres.dataSource("snapshots").getConnection()) {
      assertThat(show(connection, "default_transaction_isolation")).isEqualTo("repeatable read");
    }
    try (Database database = Database.open(snapshotDefault, "session-test")) {
      // When a service's transaction reads, another commits a row meanwhile (the holder of the
      // lock it then waits for), and the first reads again
      List<Long> seen =
          database
              .jdbi()
              .inTransaction(
                  tx -> {
                    long before = keptRefunds(tx);
                    try (Connection other = postgres.dataSource("snapshots").getConnection();
                        Statement statement = other.createStatement()) {
                      statement.execute("INSERT INTO refunds_kept VALUES ('pi_kept')");
                    }
                    return List.of(before, keptRefunds(tx));
                  });

      // Then its second read sees the row, as under the READ COMMITTED the code is written for
      assertThat(seen).containsExactly(0L, 1L);
    }
  }

  private static long keptRefunds(Handle tx) {
    return tx.createQuery("SELECT count(*) FROM refunds_kept").mapTo(Long.class).one();
  }

  @Test
  void shouldCancelAStatementBeforeTheSocketTimeoutWhenItRunsTooLong() {
    try (Database database = Database.open(config, "session-test")) {
      assertTimeoutPreemptively(
          Duration.ofSeconds(20),
          () ->
              assertThatThrownBy(
                      () -> {
                        try (Connection connection = database.dataSource().getConnection();
                            Statement statement = connection.createStatement()) {
                          statement.execute("SELECT pg_sleep(60)");
                        }
                      })
                  .isInstanceOf(SQLException.class)
                  .satisfies(
                      e -> assertThat(((SQLException) e).getSQLState()).isEqualTo(QUERY_CANCELED)));
    }
  }

  @Test
  void shouldFailARequestWhenItsServerProcessStopsAnswering() throws Exception {
    try (Database database = Database.open(config, "session-test");
        Connection connection = database.dataSource().getConnection()) {
      // Given a connection whose server process is frozen, as behind a silently dropped link
      long backend;
      try (Statement statement = connection.createStatement();
          ResultSet rows = statement.executeQuery("SELECT pg_backend_pid()")) {
        rows.next();
        backend = rows.getLong(1);
      }
      signal("STOP", backend);
      try {
        // When a statement is sent on it, Then it fails within the socket timeout, not hours later
        assertTimeoutPreemptively(
            Duration.ofSeconds(20),
            () ->
                assertThatThrownBy(
                        () -> {
                          try (Statement statement = connection.createStatement()) {
                            statement.execute("SELECT 1");
                          }
                        })
                    .isInstanceOf(SQLException.class)
                    .hasMessageContaining("I/O error"));
      } finally {
        signal("CONT", backend);
      }
    }
  }

  @Test
  void shouldRefuseACommitModeThatCanLoseAcknowledgedCommits() {
    Env env =
        Env.of(
            Map.of(
                "DATABASE_URL", "jdbc:postgresql://db/payments",
                "DATABASE_USER", "payments",
                "DATABASE_SYNCHRONOUS_COMMIT", "off"));

    assertThatThrownBy(() -> DbConfig.fromEnv(env))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("DATABASE_SYNCHRONOUS_COMMIT");
  }

  @Test
  void shouldBindTextArraysElementForElement() {
    // Given texts an array literal would have to quote and escape, a NULL and the word NULL
    String[] texts = {
      "evt_1NqL", "with \"quotes\", a comma, {braces} and \\", "", "NULL", null, "ünï €",
    };
    try (Database database = Database.open(config, "session-test")) {
      // When they are bound as one array parameter and unnested
      List<String> read =
          database
              .jdbi()
              .withHandle(
                  h ->
                      h.createQuery(
                              """
                              SELECT coalesce(t, '<null>') FROM unnest(CAST(:texts AS text[]))
                                   WITH ORDINALITY AS u(t, n) ORDER BY n
                              """)
                          .bind("texts", texts)
                          .mapTo(String.class)
                          .list());

      // Then each element arrives as it was, the NULL as NULL
      assertThat(read)
          .containsExactly(
              "evt_1NqL",
              "with \"quotes\", a comma, {braces} and \\",
              "",
              "NULL",
              "<null>",
              "ünï €");
    }
  }

  private static String show(Connection session, String setting) throws SQLException {
    try (Connection connection = session;
        Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("SHOW " + setting)) {
      rows.next();
      return rows.getString(1);
    }
  }

  private static void signal(String signal, long pid) throws Exception {
    Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).start();
    assertThat(kill.waitFor()).isZero();
  }
}
