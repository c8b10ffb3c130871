package io.marketplace.payments.common.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.marketplace.payments.embedded.EmbeddedPostgresServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.output.MigrateResult;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The schema of SPEC §5 on a real PostgreSQL: it applies, and its constraints hold the rules. */
class MigrationsTest {

  private static final String UNIQUE_VIOLATION = "23505";
  private static final String CHECK_VIOLATION = "23514";

  private static EmbeddedPostgresServer postgres;
  private static DataSource db;
  private static MigrateResult firstMigration;

  @BeforeAll
  static void migrateAnEmptyDatabase() {
    postgres = EmbeddedPostgresServer.start(null, 0);
    postgres.createDatabase("payments");
    db = postgres.dataSource("payments");
    firstMigration = Migrations.migrate(db);
  }

  @AfterAll
  static void stopPostgres() {
    postgres.close();
  }

  @Test
  void shouldCreateEveryTableOfTheContractWhenTheDatabaseIsEmpty() throws SQLException {
    // Given the migrations applied to an empty database (once, for the class)

    // Then they succeeded and every table of SPEC §5 exists
    assertThat(firstMigration.success).isTrue();
    assertThat(firstMigration.migrationsExecuted).isPositive();
    List<String> tables =
        column("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
    assertThat(tables)
        .contains(
            "marketplace_listings",
            "listing_promotions",
            "payment_refunds",
            "users",
            "payments",
            "webhook_events");
  }

  @Test
  void shouldRefuseToStartAndChangeNothingWhenAServiceThatDoesNotMigrateFindsTheSchemaBehind()
      throws SQLException {
    // Given a database one migration behind this build (the migration before the latest, whose
    // version need not be the latest's minus one: versions are handed out ahead, in ranges)
    MigrationInfo[] all =
        Flyway.configure().dataSource(db).locations("classpath:db/migration").load().info().all();
    String latest = all[all.length - 1].getVersion().toString();
    String behind = all[all.length - 2].getVersion().toString();
    DataSource behindDb = databaseAt("payments_behind", behind);

    // When a service told not to migrate (DATABASE_MIGRATE=false) starts on it
    DbConfig config =
        notMigrating(postgres.jdbcUrl("payments_behind"), postgres.user(), postgres.password());
    try (Database database = Database.open(config, "test")) {
      // Then it refuses, naming the missing migration and who applies it
      assertThatThrownBy(database::migrate)
          .isInstanceOf(Migrations.SchemaNotCurrentException.class)
          .hasMessageContaining("at version " + behind + " and lacks " + latest)
          .hasMessageContaining("./payments migrate");
    }

    // And the schema is as it was
    assertThat(
            column("payments_behind", "SELECT max(version::int)::text FROM flyway_schema_history"))
        .containsExactly(behind);
  }

  @Test
  void shouldNameTheMissingGrantNotMigrationsWhenAServiceThatDoesNotMigrateMayNotReadTheSchema()
      throws SQLException {
    // Given a current schema that only granted roles may use (USAGE on public revoked from PUBLIC,
    // as hardening guides advise), and a services' role nobody granted yet
    postgres.createDatabase("payments_hardened");
    DataSource hardened = postgres.dataSource("payments_hardened");
    Migrations.migrate(hardened);
    String role = "ungranted_" + UUID.randomUUID().toString().replace("-", "");
    try (Connection c = hardened.getConnection();
        Statement s = c.createStatement()) {
      s.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC");
      s.execute("CREATE ROLE " + role + " LOGIN PASSWORD 'ungranted-password'");
    }
    DbConfig config =
        notMigrating(postgres.jdbcUrl("payments_hardened"), role, "ungranted-password");

    // When a service told not to migrate starts under it
    try (Database database = Database.open(config, "test")) {
      // Then it refuses naming the grant it lacks and who gives it, not migrations already applied
      assertThatThrownBy(database::migrate)
          .hasMessageContaining(role + " may not read")
          .hasMessageContaining("./payments db-grants --role " + role + " --apply")
          .hasMessageNotContaining("lacks");
    }
  }

  @Test
  void shouldStartWithoutMigratingUnderARoleThatMayOnlyReadTheHistory() throws SQLException {
    // Given the current schema, and a role that may read Flyway's history and change nothing
    String role = "reader_" + UUID.randomUUID().toString().replace("-", "");
    try (Connection c = db.getConnection();
        Statement s = c.createStatement()) {
      s.execute("CREATE ROLE " + role + " LOGIN PASSWORD 'reader-password'");
      s.execute("GRANT SELECT ON flyway_schema_history TO " + role);
    }
    DbConfig config = notMigrating(postgres.jdbcUrl("payments"), role, "reader-password");

    // When a service told not to migrate starts under it, it starts: nothing to apply, nothing
    // asked of the role but reading
    try (Database database = Database.open(config, "test")) {
      assertThat(database.migrate()).isSameAs(database);
    }
  }

  @Test
  void shouldLeaveADisputeWithoutAUserToBeCountedWhenItsUserIsKnownWhenUpgraded()
      throws SQLException {
    // Given a database at V23 holding a chargeback recorded without a user (its events came before
    // its payment's row) that V6's backfill marked counted
    DataSource upgraded = databaseAt("payments_v23", "23");
    try (Connection c = upgraded.getConnection();
        Statement s = c.createStatement()) {
      s.execute(
          """
          INSERT INTO payment_disputes
              (stripe_dispute_id, stripe_payment_intent_id, amount_cents, status, is_inquiry,
               counted_at)
          VALUES ('du_backfilled', 'pi_backfilled', 500, 'needs_response', false, now()),
                 ('du_of_a_user', 'pi_of_a_user', 500, 'needs_response', false, now())
          """);
      s.execute(
          "UPDATE payment_disputes SET user_id = gen_random_uuid()"
              + " WHERE stripe_dispute_id = 'du_of_a_user'");
    }

    // When it is migrated to the latest version
    Migrations.migrate(upgraded);

    // Then the dispute without a user is not counted yet (it counts, and decides the ban, once
    // its user is known); one counted for its user stays counted
    try (Connection c = upgraded.getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT stripe_dispute_id, counted_at IS NOT NULL FROM payment_disputes"
                    + " ORDER BY stripe_dispute_id")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getString(1)).isEqualTo("du_backfilled");
      assertThat(rs.getBoolean(2)).isFalse();
      assertThat(rs.next()).isTrue();
      assertThat(rs.getString(1)).isEqualTo("du_of_a_user");
      assertThat(rs.getBoolean(2)).isTrue();
    }
  }

  @Test
  void shouldMarkTheFeaturedWeeksAChargebackEndedAsEndedByItsDisputeWhenUpgraded()
      throws SQLException {
    // Given a database at V40 with three featured weeks ended early: one when its payment's
    // chargeback was recorded, in the same transaction, one by a refund, and one that ran out
    DataSource upgraded = databaseAt("payments_v40", "40");
    try (Connection c = upgraded.getConnection();
        Statement s = c.createStatement()) {
      s.execute(
          """
          INSERT INTO users (id) VALUES ('00000000-0000-0000-0000-00000000000b');
          INSERT INTO marketplace_listings
              (id, user_id, category_id, title, status, activated_at, expires_at)
          VALUES ('00000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-00000000000b',
                  1, 'Room', 'active', '2026-11-01T00:00Z', '2026-12-31T00:00Z');
          INSERT INTO listing_promotions
              (id, listing_id, type, stripe_payment_intent_id, amount_cents, starts_at,
               expires_at, expired_at)
          VALUES ('00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-00000000000a',
                  'featured', 'pi_disputed', 500, '2026-12-01T00:00Z', '2026-12-08T00:00Z',
                  '2026-12-03T10:00:00.123456Z'),
                 ('00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-00000000000a',
                  'featured', 'pi_refunded', 500, '2026-12-01T00:00Z', '2026-12-08T00:00Z',
                  '2026-12-03T11:00Z'),
                 ('00000000-0000-0000-0000-000000000003', '00000000-0000-0000-0000-00000000000a',
                  'featured', 'pi_ran_out', 500, '2026-11-01T00:00Z', '2026-11-08T00:00Z',
                  '2026-11-09T00:00Z');
          INSERT INTO payment_refunds
              (id, user_id, listing_id, stripe_payment_intent_id, stripe_dispute_id, amount_cents,
               reason, status, processed_at)
          VALUES (gen_random_uuid(), '00000000-0000-0000-0000-00000000000b',
                  '00000000-0000-0000-0000-00000000000a', 'pi_disputed', 'du_ended', 500, 'chargeback', 'processed',
                  '2026-12-03T10:00:00.123456Z'),
                 (gen_random_uuid(), '00000000-0000-0000-0000-00000000000b',
                  '00000000-0000-0000-0000-00000000000a', 'pi_refunded', NULL, 500, 'user_request', 'processed', '2026-12-03T11:00Z');
          """);
    }

    // When it is migrated to the latest version
    Migrations.migrate(upgraded);

    // Then only the week the chargeback ended is marked as ended by its dispute, so that it is
    // given back if the dispute is won; the others keep no cause, and are never given back
    try (Connection c = upgraded.getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT stripe_payment_intent_id, end_cause, ended_by_dispute_id"
                    + " FROM listing_promotions ORDER BY id")) {
      List<List<String>> rows = new ArrayList<>();
      while (rs.next()) {
        rows.add(Arrays.asList(rs.getString(1), rs.getString(2), rs.getString(3)));
      }
      assertThat(rows)
          .containsExactly(
              Arrays.asList("pi_disputed", "disputed", "du_ended"),
              Arrays.asList("pi_refunded", null, null),
              Arrays.asList("pi_ran_out", null, null));
    }
  }

  @Test
  void shouldMarkAPurchaseSentForRefundAsUndeliverableBeforeV45AsRefusedWhenUpgraded()
      throws SQLException {
    // Given a database at V45 holding a featured week the processor could not deliver and sent
    // for an automatic refund before V45 recorded such refusals, and a bump refunded at a user's
    // request
    DataSource upgraded = databaseAt("payments_v45", "45");
    UUID user = UUID.randomUUID();
    UUID listing = UUID.randomUUID();
    try (Connection c = upgraded.getConnection();
        Statement s = c.createStatement()) {
      s.execute(
          "INSERT INTO payments (stripe_payment_intent_id, listing_id, user_id, payment_type,"
              + " amount_cents, status, succeeded_at) VALUES"
              + " ('pi_refused', '%1$s', '%2$s', 'promotion_featured', 500, 'succeeded', now()),"
                  .formatted(listing, user)
              + " ('pi_requested', '%1$s', '%2$s', 'promotion_bump', 200, 'succeeded', now())"
                  .formatted(listing, user));
      s.execute(
          "INSERT INTO payment_refunds (id, user_id, listing_id, stripe_payment_intent_id,"
              + " amount_cents, reason, status, created_at) VALUES"
              + " (gen_random_uuid(), '%1$s', '%2$s', 'pi_refused', 500, 'technical_failure',"
                  .formatted(user, listing)
              + " 'processed', '2026-12-01T10:00:00Z'),"
              + " (gen_random_uuid(), '%1$s', '%2$s', 'pi_requested', 200, 'user_request',"
                  .formatted(user, listing)
              + " 'pending', '2026-12-01T11:00:00Z')");
    }

    // When it is migrated to the latest version
    Migrations.migrate(upgraded);

    // Then the purchase sent for refund is marked refused as of its refund, so a success applied
    // again never delivers it; the one a user asked to refund is not
    assertThat(
            column(
                upgraded,
                "SELECT stripe_payment_intent_id || ' ' || coalesce(delivery_refused_at::text,"
                    + " 'never') FROM payments WHERE listing_id = '"
                    + listing
                    + "' ORDER BY stripe_payment_intent_id"))
        .containsExactly("pi_refused 2026-12-01 10:00:00+00", "pi_requested never");
  }

  @Test
  void shouldNameTheAutomaticRefundAFailedRefundWasClosedForWhenUpgraded() throws SQLException {
    // Given a database at V47 holding a failed refund the refund worker closed because an
    // automatic refund owed its money (named then only in the close's text), and one an admin
    // closed
    DataSource upgraded = databaseAt("payments_v47", "47");
    UUID automatic = UUID.randomUUID();
    try (Connection c = upgraded.getConnection();
        Statement s = c.createStatement()) {
      s.execute(
          ("INSERT INTO payment_refunds (id, user_id, stripe_payment_intent_id, amount_cents,"
                  + " reason, status, closed_at, close_reason, close_outcome) VALUES"
                  + " ('00000000-0000-0000-0000-00000000000a', gen_random_uuid(), 'pi_closed',"
                  + " 500, 'user_request', 'failed', now(),"
                  + " 'owed by automatic moderation_rejection refund %s (part 1)', 'not_owed'),"
                  + " ('00000000-0000-0000-0000-00000000000b', gen_random_uuid(), 'pi_closed',"
                  + " 500, 'user_request', 'failed', now(), 'refund %s by hand', 'not_owed')")
              .formatted(automatic, automatic));
    }

    // When it is migrated to the latest version
    Migrations.migrate(upgraded);

    // Then the worker's close names the automatic refund, so rejecting that refund reopens it;
    // the admin's close names none
    assertThat(
            column(
                upgraded,
                "SELECT coalesce(closed_for::text, 'none') FROM payment_refunds"
                    + " WHERE stripe_payment_intent_id = 'pi_closed' ORDER BY id"))
        .containsExactly(automatic.toString(), "none");
  }

  @Test
  void shouldApplyNothingWhenMigratedAgain() {
    // When the migrations run on an up-to-date database, as every service start does
    MigrateResult again = Migrations.migrate(db);

    // Then nothing is applied
    assertThat(again.success).isTrue();
    assertThat(again.migrationsExecuted).isZero();
  }

  @Test
  void shouldBuildTheRunningFeaturedIndexValidWhenBuiltConcurrently() throws SQLException {
    // Given the migrations applied, V12 among them: built CONCURRENTLY, outside a transaction,
    // while Flyway holds its lock (an index build that failed half-way would be left invalid)

    // Then the index of running featured promotions by listing exists, is valid, and holds only
    // running featured promotions
    List<String> indexes =
        column(
            """
            SELECT i.indisvalid || ' ' || pg_get_indexdef(i.indexrelid)
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE c.relname = 'promotions_featured_running_by_listing'
            """);
    assertThat(indexes)
        .singleElement()
        .asString()
        .startsWith("true ")
        .contains("(listing_id, expires_at)")
        .contains("type = 'featured'")
        .contains("expired_at IS NULL");
  }

  @Test
  void shouldSeedThePostingFeesOfTheBusinessRulesWhenMigrated() throws SQLException {
    // When the categories are read
    Map<String, Integer> fees = new LinkedHashMap<>();
    try (Connection connection = db.getConnection();
        PreparedStatement statement =
            connection.prepareStatement(
                "SELECT slug, posting_fee_cents FROM categories ORDER BY id");
        ResultSet rows = statement.executeQuery()) {
      while (rows.next()) {
        fees.put(rows.getString(1), rows.getInt(2));
      }
    }

    // Then they are exactly the posting fees of SPEC §1
    assertThat(fees)
        .containsExactlyInAnyOrderEntriesOf(
            Map.of(
                "housing", 500,
                "jobs", 1000,
                "cars-trucks", 500,
                "motorcycles", 300,
                "rvs-campers", 500,
                "boats", 500,
                "for-sale", 0,
                "services", 0,
                "community", 0));
  }

  @Test
  void shouldRejectASecondPromotionWhenItReusesThePaymentIntent() throws SQLException {
    // Given a listing with a featured promotion paid by a PaymentIntent
    UUID listing = newListing();
    String paymentIntent = "pi_" + UUID.randomUUID();
    insertPromotion(listing, "featured", paymentIntent);

    // When a second promotion claims the same PaymentIntent, then the database refuses it
    assertThatThrownBy(() -> insertPromotion(listing, "bump", paymentIntent))
        .isInstanceOfSatisfying(
            SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo(UNIQUE_VIOLATION));
  }

  @Test
  void shouldRejectASecondChargebackWhenItRecordsTheSameDispute() throws SQLException {
    // Given a chargeback recorded for a dispute
    UUID user = newUser();
    String dispute = "dp_" + UUID.randomUUID();
    insertRefund(user, "pi_" + UUID.randomUUID(), dispute, "chargeback", "processed");

    // When the same dispute is recorded again, then the database refuses it
    assertThatThrownBy(
            () -> insertRefund(user, "pi_" + UUID.randomUUID(), dispute, "chargeback", "processed"))
        .isInstanceOfSatisfying(
            SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo(UNIQUE_VIOLATION));
  }

  @Test
  void shouldRejectARefundWhenItsStatusIsUnknown() throws SQLException {
    // Given a user
    UUID user = newUser();

    // When a refund is written with a status the rules do not know, then the database refuses it
    assertThatThrownBy(
            () -> insertRefund(user, "pi_" + UUID.randomUUID(), null, "user_request", "refunded"))
        .isInstanceOfSatisfying(
            SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo(CHECK_VIOLATION));
    // while every known status is accepted
    for (String status : List.of("pending", "approved", "rejected", "processed")) {
      insertRefund(user, "pi_" + UUID.randomUUID(), null, "user_request", status);
    }
  }

  private static UUID newUser() throws SQLException {
    UUID user = UUID.randomUUID();
    update("INSERT INTO users (id) VALUES (?)", user);
    return user;
  }

  private static UUID newListing() throws SQLException {
    UUID listing = UUID.randomUUID();
    update(
        "INSERT INTO marketplace_listings (id, user_id, category_id, title, status, activated_at,"
            + " expires_at) VALUES (?, ?, 1, 'Two-room flat', 'active', now(), now() + interval '30"
            + " days')",
        listing,
        newUser());
    return listing;
  }

  private static void insertPromotion(UUID listing, String type, String paymentIntent)
      throws SQLException {
    update(
        "INSERT INTO listing_promotions (id, listing_id, type, stripe_payment_intent_id,"
            + " amount_cents, starts_at, expires_at) VALUES (?, ?, ?, ?, 500, now(),"
            + " CASE WHEN ? = 'featured' THEN now() + interval '7 days' END)",
        UUID.randomUUID(),
        listing,
        type,
        paymentIntent,
        type);
  }

  private static void insertRefund(
      UUID user, String paymentIntent, String dispute, String reason, String status)
      throws SQLException {
    update(
        "INSERT INTO payment_refunds (id, user_id, stripe_payment_intent_id, stripe_dispute_id,"
            + " amount_cents, reason, status) VALUES (?, ?, ?, ?, 500, ?, ?)",
        UUID.randomUUID(),
        user,
        paymentIntent,
        dispute,
        reason,
        status);
  }

  private static void update(String sql, Object... args) throws SQLException {
    try (Connection connection = db.getConnection();
        PreparedStatement statement = connection.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        statement.setObject(i + 1, args[i]);
      }
      statement.executeUpdate();
    }
  }

  /** A service's database settings with {@code DATABASE_MIGRATE=false}. */
  /** A new database {@code name}, migrated up to {@code version} and no further. */
  private static DataSource databaseAt(String name, String version) {
    postgres.createDatabase(name);
    DataSource database = postgres.dataSource(name);
    Flyway.configure()
        .dataSource(database)
        .locations("classpath:db/migration")
        .configuration(Map.of("flyway.postgresql.transactional.lock", "false"))
        .target(version)
        .load()
        .migrate();
    return database;
  }

  private static DbConfig notMigrating(String url, String user, String password) {
    return new DbConfig(
        url, user, password, 2, "on", DbConfig.CONNECT_TIMEOUT, DbConfig.SOCKET_TIMEOUT, false);
  }

  private static List<String> column(String sql) throws SQLException {
    return column(db, sql);
  }

  private static List<String> column(String database, String sql) throws SQLException {
    return column(postgres.dataSource(database), sql);
  }

  private static List<String> column(DataSource source, String sql) throws SQLException {
    try (Connection connection = source.getConnection();
        PreparedStatement statement = connection.prepareStatement(sql);
        ResultSet rows = statement.executeQuery()) {
      List<String> values = new ArrayList<>();
      while (rows.next()) {
        values.add(rows.getString(1));
      }
      return values;
    }
  }
}
