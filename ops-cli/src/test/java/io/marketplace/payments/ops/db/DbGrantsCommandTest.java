package io.marketplace.payments.ops.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.marketplace.payments.embedded.EmbeddedPostgresServer;
import io.marketplace.payments.ops.Cli;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.UUID;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.junit.jupiter.api.Test;

/**
 * {@code payments db-grants} and {@code payments migrate} on a real PostgreSQL: the services' role
 * may change rows and nothing of the schema; the owner migrates.
 */
class DbGrantsCommandTest {

  private static final String INSUFFICIENT_PRIVILEGE = "42501";
  private static final String PASSWORD = UUID.randomUUID().toString();

  @Test
  void shouldLetTheServicesRoleChangeRowsAndNeverTheSchemaWhenApplied() throws SQLException {
    // Given a migrated database, owned by the role that migrated it, and a role for the services
    TestDatabase db = TestInfra.freshDatabase();
    String role = newRole();
    Cli owner = new Cli().database(db);

    // When the owner shows the grants without applying them
    Cli.Result shown = owner.run("db-grants", "--role", role);

    // Then it prints them and the role still may not read a row
    assertThat(shown.exitCode()).as("%s", shown).isZero();
    assertThat(shown.out())
        .contains("would run:  GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public")
        .contains("nothing changed: run again with --apply");
    assertThatThrownBy(() -> asRole(db, role, "SELECT count(*) FROM payments"))
        .hasFieldOrPropertyWithValue("SQLState", INSUFFICIENT_PRIVILEGE);

    // When it applies them, twice
    Cli.Result applied = owner.run("db-grants", "--role", role, "--apply");
    Cli.Result again = owner.run("db-grants", "--role", role, "--apply");

    // Then the role reads and changes rows, and vacuums the outbox it drains, without a warning
    assertThat(applied.exitCode()).as("%s", applied).isZero();
    assertThat(again.exitCode()).as("%s", again).isZero();
    assertThat(again.out()).contains(role + " may read and change rows, and not change the schema");
    UUID user = UUID.randomUUID();
    asRole(db, role, "INSERT INTO users (id) VALUES ('" + user + "')");
    asRole(db, role, "DELETE FROM users WHERE id = '" + user + "'");
    try (Connection c = DriverManager.getConnection(db.url(), role, PASSWORD);
        Statement s = c.createStatement()) {
      s.execute("VACUUM outbox_events");
      assertThat((Object) s.getWarnings()).as("a vacuum skipped for want of MAINTAIN").isNull();
    }

    // And may not change the schema, nor Flyway's history
    for (String ddl :
        new String[] {
          "DROP TABLE payments",
          "TRUNCATE payment_refunds",
          "ALTER TABLE payments ADD COLUMN stolen text",
          "CREATE TABLE exfiltrated (id int)",
          "DELETE FROM flyway_schema_history",
          "INSERT INTO flyway_schema_history (installed_rank, description, type, script,"
              + " installed_by, execution_time, success) VALUES (999, 'x', 'SQL', 'x', 'x', 0,"
              + " true)"
        }) {
      assertThatThrownBy(() -> asRole(db, role, ddl))
          .as(ddl)
          .hasFieldOrPropertyWithValue("SQLState", INSUFFICIENT_PRIVILEGE);
    }

    // And a table a later migration creates is the role's to change rows of with no new grant
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE later_migration (id bigserial PRIMARY KEY, note text)");
    }
    asRole(db, role, "INSERT INTO later_migration (note) VALUES ('added later')");
  }

  @Test
  void shouldTakeBackWhatARoleGrantedEverythingBeforeMayDoToTheSchemaWhenApplied()
      throws SQLException {
    // Given a role an administrator once granted everything on the tables, the sequences and the
    // tables to come (GRANT ALL, the usual first try)
    TestDatabase db = TestInfra.freshDatabase();
    String role = newRole();
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
        Statement s = c.createStatement()) {
      s.execute("GRANT ALL ON ALL TABLES IN SCHEMA public TO " + role);
      s.execute("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO " + role);
      s.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO " + role);
      s.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO " + role);
    }

    // When the owner applies the grants
    Cli.Result applied = new Cli().database(db).run("db-grants", "--role", role, "--apply");

    // Then the role still reads and changes rows
    assertThat(applied.exitCode()).as("%s", applied).isZero();
    UUID user = UUID.randomUUID();
    asRole(db, role, "INSERT INTO users (id) VALUES ('" + user + "')");
    asRole(db, role, "DELETE FROM users WHERE id = '" + user + "'");

    // And may no longer truncate a table, hang a trigger on one, reset a sequence, nor do so to a
    // table a later migration creates
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE later_migration (id bigserial PRIMARY KEY, note text)");
    }
    for (String statement :
        new String[] {
          "TRUNCATE payment_refunds",
          "CREATE TRIGGER planted BEFORE UPDATE ON payments FOR EACH ROW"
              + " EXECUTE FUNCTION suppress_redundant_updates_trigger()",
          "SELECT setval('user_ban_history_id_seq', 1)",
          "TRUNCATE later_migration",
          "SELECT setval('later_migration_id_seq', 1)"
        }) {
      assertThatThrownBy(() -> asRole(db, role, statement))
          .as(statement)
          .hasFieldOrPropertyWithValue("SQLState", INSUFFICIENT_PRIVILEGE);
    }
  }

  @Test
  void shouldRefuseAndChangeNothingWhenTheRoleIsMissingTheOwnerOrNotAName() throws SQLException {
    TestDatabase db = TestInfra.freshDatabase();
    Cli owner = new Cli().database(db);

    // A role that does not exist
    Cli.Result missing = owner.run("db-grants", "--role", "no_such_role_" + suffix(), "--apply");
    assertThat(missing.exitCode()).as("%s", missing).isEqualTo(1);
    assertThat(missing.err()).contains("does not exist: create it with a password of its own");

    // The owner itself
    Cli.Result self = owner.run("db-grants", "--role", db.user(), "--apply");
    assertThat(self.exitCode()).as("%s", self).isEqualTo(2);
    assertThat(self.err()).contains("the services need a role of their own");

    // Something that is not a role name, never put into a statement
    Cli.Result injected = owner.run("db-grants", "--role", "app; DROP TABLE payments", "--apply");
    assertThat(injected.exitCode()).as("%s", injected).isEqualTo(2);
    assertThat(injected.err()).contains("--role must be a role name");

    // Run by a role that does not own the schema: nothing granted to the other role
    String services = newRole();
    assertThat(owner.run("db-grants", "--role", services, "--apply").exitCode()).isZero();
    String other = newRole();
    Cli notOwner =
        new Cli()
            .set("DATABASE_URL", db.url())
            .set("DATABASE_USER", services)
            .set("DATABASE_PASSWORD", PASSWORD);
    Cli.Result refused = notOwner.run("db-grants", "--role", other, "--apply");
    assertThat(refused.exitCode()).as("%s", refused).isEqualTo(1);
    assertThat(refused.err()).contains("run this as the role that owns the schema");
    assertThatThrownBy(() -> asRole(db, other, "SELECT count(*) FROM payments"))
        .hasFieldOrPropertyWithValue("SQLState", INSUFFICIENT_PRIVILEGE);
  }

  @Test
  void shouldRefuseARoleThatCanBecomeTheOwnerThroughMembership() throws SQLException {
    // Given a schema migrated by its owner, and a services' role granted membership in the owner
    // without its rights (no inheritance): it holds no privilege of its own, yet SET ROLE makes it
    // the owner
    EmbeddedPostgresServer server = TestInfra.postgres();
    String name = TestInfra.uniqueName("member_");
    server.createDatabase(name);
    String schemaOwner = "owner_" + suffix();
    String role = newRole();
    try (Connection c =
            DriverManager.getConnection(server.jdbcUrl(name), server.user(), server.password());
        Statement s = c.createStatement()) {
      s.execute("CREATE ROLE " + schemaOwner + " LOGIN PASSWORD '" + PASSWORD + "'");
      s.execute("ALTER DATABASE " + name + " OWNER TO " + schemaOwner);
      s.execute("GRANT " + schemaOwner + " TO " + role + " WITH INHERIT FALSE");
    }
    Cli owner =
        new Cli()
            .set("DATABASE_URL", server.jdbcUrl(name))
            .set("DATABASE_USER", schemaOwner)
            .set("DATABASE_PASSWORD", PASSWORD);
    assertThat(owner.run("migrate").exitCode()).isZero();
    try (Connection c = DriverManager.getConnection(server.jdbcUrl(name), role, PASSWORD);
        Statement s = c.createStatement()) {
      assertThatThrownBy(() -> s.execute("SELECT count(*) FROM payments"))
          .hasFieldOrPropertyWithValue("SQLState", INSUFFICIENT_PRIVILEGE);
      s.execute("SET ROLE " + schemaOwner);
      s.execute("SELECT count(*) FROM payments");
    }

    // When the owner applies the grants
    Cli.Result applied = owner.run("db-grants", "--role", role, "--apply");

    // Then it refuses, naming the membership to take back, and grants nothing
    assertThat(applied.exitCode()).as("%s", applied).isEqualTo(1);
    assertThat(applied.err())
        .contains(role + " is a member of " + schemaOwner)
        .contains("REVOKE " + schemaOwner + " FROM " + role);
    try (Connection c = DriverManager.getConnection(server.jdbcUrl(name), role, PASSWORD);
        Statement s = c.createStatement()) {
      assertThatThrownBy(() -> s.execute("SELECT count(*) FROM users"))
          .hasFieldOrPropertyWithValue("SQLState", INSUFFICIENT_PRIVILEGE);
    }

    // And so for a member of a superuser, which SET ROLE makes one
    String viaSuperuser = newRole();
    try (Connection c = TestInfra.postgres().dataSource("postgres").getConnection();
        Statement s = c.createStatement()) {
      s.execute("GRANT " + server.user() + " TO " + viaSuperuser + " WITH INHERIT FALSE");
    }
    try {
      Cli.Result refused = owner.run("db-grants", "--role", viaSuperuser, "--apply");
      assertThat(refused.exitCode()).as("%s", refused).isEqualTo(1);
      assertThat(refused.err()).contains(viaSuperuser + " is a member of " + server.user());
    } finally {
      try (Connection c = TestInfra.postgres().dataSource("postgres").getConnection();
          Statement s = c.createStatement()) {
        s.execute("REVOKE " + server.user() + " FROM " + viaSuperuser);
      }
    }
  }

  @Test
  void shouldAskForTheMigrationFirstWhenTheDatabaseIsEmpty() throws SQLException {
    // Given an empty database and a role for the services
    EmbeddedPostgresServer server = TestInfra.postgres();
    String name = TestInfra.uniqueName("unmigrated_");
    server.createDatabase(name);
    String role = newRole();

    // When the grants are applied before the schema is there
    Cli.Result early =
        new Cli()
            .set("DATABASE_URL", server.jdbcUrl(name))
            .set("DATABASE_USER", server.user())
            .set("DATABASE_PASSWORD", server.password())
            .run("db-grants", "--role", role, "--apply");

    // Then it refuses, saying what to run first, rather than failing on a missing table
    assertThat(early.exitCode()).as("%s", early).isEqualTo(1);
    assertThat(early.err())
        .contains("the schema is not migrated yet: run ./payments migrate")
        .doesNotContain("failed:");
  }

  @Test
  void shouldApplyEveryMigrationOnceWhenTheOwnerMigrates() {
    // Given an empty database
    EmbeddedPostgresServer server = TestInfra.postgres();
    String name = TestInfra.uniqueName("empty_");
    server.createDatabase(name);
    Cli owner =
        new Cli()
            .set("DATABASE_URL", server.jdbcUrl(name))
            .set("DATABASE_USER", server.user())
            .set("DATABASE_PASSWORD", server.password());

    // When the owner migrates it, twice
    Cli.Result first = owner.run("migrate");
    Cli.Result second = owner.run("migrate");

    // Then the first applies them all, the second nothing
    assertThat(first.exitCode()).as("%s", first).isZero();
    assertThat(first.out())
        .containsPattern("schema at version \\d+: [1-9]\\d* migration\\(s\\) applied");
    assertThat(second.exitCode()).as("%s", second).isZero();
    assertThat(second.out()).containsPattern("schema at version \\d+: 0 migration\\(s\\) applied");
  }

  @Test
  void shouldGrantToTheRoleNamedAndNeverToWhatTheNameMeansInSql() throws SQLException {
    TestDatabase db = TestInfra.freshDatabase();
    Cli owner = new Cli().database(db);

    // A predefined role, whose members (monitoring, backups) would all change rows: refused
    Cli.Result predefined = owner.run("db-grants", "--role", "pg_monitor", "--apply");
    assertThat(predefined.exitCode()).as("%s", predefined).isEqualTo(2);
    assertThat(predefined.err()).contains("--role must be");
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
        Statement s = c.createStatement();
        ResultSet granted =
            s.executeQuery("SELECT has_table_privilege('pg_monitor', 'payments', 'SELECT')")) {
      granted.next();
      assertThat(granted.getBoolean(1)).as("pg_monitor may read payments").isFalse();
    }

    // A role whose name is also an SQL keyword standing for a role (CURRENT_USER): the grants go
    // to that role, not to the owner running the command
    String keyword = "current_user";
    try (Connection c = TestInfra.postgres().dataSource("postgres").getConnection();
        Statement s = c.createStatement()) {
      s.execute("CREATE ROLE \"" + keyword + "\" LOGIN PASSWORD '" + PASSWORD + "'");
    }
    try {
      Cli.Result applied = owner.run("db-grants", "--role", keyword, "--apply");
      assertThat(applied.exitCode()).as("%s", applied).isZero();
      UUID user = UUID.randomUUID();
      asRole(db, keyword, "INSERT INTO users (id) VALUES ('" + user + "')");
    } finally {
      try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
          Statement s = c.createStatement()) {
        s.execute("DROP OWNED BY \"" + keyword + "\"");
        s.execute("DROP ROLE \"" + keyword + "\"");
      }
    }
  }

  @Test
  void shouldRefuseToMigrateAndApplyNothingWhenRunByARoleThatDoesNotOwnTheSchema()
      throws SQLException {
    // Given a database whose schema its owner migrated up to one migration before this build's last
    EmbeddedPostgresServer server = TestInfra.postgres();
    String name = TestInfra.uniqueName("owned_");
    server.createDatabase(name);
    String schemaOwner = "owner_" + suffix();
    try (Connection c =
            DriverManager.getConnection(server.jdbcUrl(name), server.user(), server.password());
        Statement s = c.createStatement()) {
      s.execute("CREATE ROLE " + schemaOwner + " LOGIN PASSWORD '" + PASSWORD + "'");
      s.execute("ALTER DATABASE " + name + " OWNER TO " + schemaOwner);
    }
    FluentConfiguration asOwner =
        Flyway.configure()
            .dataSource(server.jdbcUrl(name), schemaOwner, PASSWORD)
            .locations("classpath:db/migration")
            .configuration(Map.of("flyway.postgresql.transactional.lock", "false"));
    MigrationInfo[] pending = asOwner.load().info().pending();
    String behind = pending[pending.length - 2].getVersion().getVersion();
    asOwner.target(behind).load().migrate();

    // When an operator migrates it as another role, the server's administrator
    Cli.Result administrator =
        new Cli()
            .set("DATABASE_URL", server.jdbcUrl(name))
            .set("DATABASE_USER", server.user())
            .set("DATABASE_PASSWORD", server.password())
            .run("migrate");

    // Then it refuses, naming the owner: what it created would be that role's, and neither the
    // owner's default grants nor db-grants would give the services' role its rows
    assertThat(administrator.exitCode()).as("%s", administrator).isEqualTo(1);
    assertThat(administrator.err())
        .contains("run this as the role that owns the schema")
        .contains(schemaOwner);

    // And the schema is as it was
    assertThat(asOwner.load().info().current().getVersion().getVersion()).isEqualTo(behind);
  }

  @Test
  void shouldRefuseADatabaseUrlCarryingItsPasswordWithoutPrintingIt() {
    // Given DATABASE_URL written as psql and hosting platforms write it, the password in the URL
    // (as postgres://..., or the same after jdbc:), which the driver does not take
    String password = "pw" + suffix();
    for (String url :
        new String[] {
          "postgres://payments:" + password + "@db.internal:5432/payments",
          "jdbc:postgresql://payments:" + password + "@db.internal:5432/payments"
        }) {
      Cli cli =
          new Cli()
              .set("DATABASE_URL", url)
              .set("DATABASE_USER", "payments")
              .set("DATABASE_PASSWORD", PASSWORD);

      // When the owner runs the commands that connect with it
      for (String[] command :
          new String[][] {{"db-grants", "--role", "payments_app"}, {"migrate"}}) {
        Cli.Result result = cli.run(command);

        // Then it is refused as wrong configuration, naming the variable and never the password
        assertThat(result.exitCode()).as("%s", result).isEqualTo(2);
        assertThat(result.err()).contains("DATABASE_URL").doesNotContain(password);
        assertThat(result.out()).doesNotContain(password);
      }
    }
  }

  private static String newRole() throws SQLException {
    String role = "services_" + suffix();
    try (Connection c = TestInfra.postgres().dataSource("postgres").getConnection();
        Statement s = c.createStatement()) {
      s.execute("CREATE ROLE " + role + " LOGIN PASSWORD '" + PASSWORD + "'");
    }
    return role;
  }

  private static void asRole(TestDatabase db, String role, String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(db.url(), role, PASSWORD);
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private static String suffix() {
    return UUID.randomUUID().toString().replace("-", "").substring(0, 12);
  }
}
