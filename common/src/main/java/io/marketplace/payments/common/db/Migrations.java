package io.marketplace.payments.common.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Collectors;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.output.MigrateResult;

/**
 * The schema of SPEC §5, owned by Flyway: {@code classpath:db/migration} in this module.
 *
 * <p>Flyway serializes the services that start at once with an advisory lock. It is taken per
 * session, not per transaction: an index built {@code CONCURRENTLY} waits for every transaction
 * older than itself, so one held open by Flyway's own lock would make it wait forever.
 *
 * <p>Where the services' role may only read and write rows, the schema's owner migrates before they
 * start ({@code ./payments migrate}), and each service only {@linkplain #requireCurrent checks}.
 */
public final class Migrations {

  private Migrations() {}

  public static MigrateResult migrate(DataSource dataSource) {
    return flyway(dataSource).migrate();
  }

  /**
   * {@link #migrate}, by the schema's owner only: refuses, applying nothing, when the session's
   * role does not own every table the schema has. Another role (the server's administrator) could
   * apply the migrations, but what it created would be its own: neither the owner's default
   * privileges nor {@code ./payments db-grants} would give the services' role its rows.
   *
   * @throws NotTheSchemaOwnerException naming the tables' owner
   */
  public static MigrateResult migrateAsOwner(DataSource dataSource) {
    requireOwner(dataSource);
    return migrate(dataSource);
  }

  private static void requireOwner(DataSource dataSource) {
    String me = null;
    List<String> notMine = new ArrayList<>();
    TreeSet<String> owners = new TreeSet<>();
    try (Connection connection = dataSource.getConnection();
        PreparedStatement statement =
            connection.prepareStatement(
                "SELECT current_user, tablename, tableowner FROM pg_tables"
                    + " WHERE schemaname = 'public' AND tableowner <> current_user"
                    + " ORDER BY tablename");
        ResultSet rows = statement.executeQuery()) {
      while (rows.next()) {
        me = rows.getString(1);
        notMine.add(rows.getString(2));
        owners.add(rows.getString(3));
      }
    } catch (SQLException e) {
      throw new IllegalStateException("cannot read who owns the schema: " + e.getMessage(), e);
    }
    if (!notMine.isEmpty()) {
      throw new NotTheSchemaOwnerException(
          "run this as the role that owns the schema ("
              + String.join(", ", owners)
              + "): "
              + me
              + " does not own "
              + String.join(", ", notMine.subList(0, Math.min(5, notMine.size())))
              + (notMine.size() > 5 ? " and " + (notMine.size() - 5) + " more" : "")
              + "; nothing was applied");
    }
  }

  /**
   * Refuses a schema that lacks a migration this build has, or whose applied migrations differ from
   * this build's; one newer than this build (a release rolling out ahead of this pod) is accepted.
   * Reads Flyway's history only: needs no right to change the schema.
   *
   * @throws SchemaNotCurrentException naming what is missing and who applies it
   */
  public static void requireCurrent(DataSource dataSource) {
    requireHistoryReadable(dataSource);
    Flyway flyway = flyway(dataSource);
    MigrationInfo[] pending = flyway.info().pending();
    if (pending.length > 0) {
      MigrationInfo current = flyway.info().current();
      throw new SchemaNotCurrentException(
          "the database schema is at version "
              + (current == null ? "none" : current.getVersion())
              + " and lacks "
              + Arrays.stream(pending)
                  .map(m -> m.getVersion() + " (" + m.getDescription() + ")")
                  .collect(Collectors.joining(", "))
              + "; this service does not migrate (DATABASE_MIGRATE=false): the schema's owner"
              + " applies them with ./payments migrate, or the deployment's migration Job");
    }
    flyway.validate();
  }

  /**
   * Refuses a role that may not read Flyway's history, which the schema has: without USAGE on the
   * schema Flyway finds no history at all and would report every migration missing, sending the
   * operator to migrate a schema that is current. The catalog names the table to any role.
   */
  private static void requireHistoryReadable(DataSource dataSource) {
    try (Connection connection = dataSource.getConnection();
        PreparedStatement statement =
            connection.prepareStatement(
                "SELECT current_user, has_schema_privilege(n.oid, 'USAGE')"
                    + " AND has_table_privilege(c.oid, 'SELECT')"
                    + " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    + " WHERE n.nspname = 'public' AND c.relname = 'flyway_schema_history'");
        ResultSet rows = statement.executeQuery()) {
      if (rows.next() && !rows.getBoolean(2)) {
        String me = rows.getString(1);
        throw new SchemaNotCurrentException(
            "the database role "
                + me
                + " may not read Flyway's history (public.flyway_schema_history), so this service"
                + " cannot check the schema; the schema's owner grants the services' role what it"
                + " needs with ./payments db-grants --role "
                + me
                + " --apply");
      }
    } catch (SQLException e) {
      throw new IllegalStateException("cannot read the database's catalog: " + e.getMessage(), e);
    }
  }

  /** Raised when a role other than the schema's owner is asked to migrate it. */
  public static final class NotTheSchemaOwnerException extends IllegalStateException {
    NotTheSchemaOwnerException(String message) {
      super(message);
    }
  }

  /**
   * Raised at start by a service that does not migrate and finds the schema behind it, or cannot
   * read its history.
   */
  public static final class SchemaNotCurrentException extends IllegalStateException {
    SchemaNotCurrentException(String message) {
      super(message);
    }
  }

  private static Flyway flyway(DataSource dataSource) {
    return Flyway.configure()
        .dataSource(dataSource)
        .locations("classpath:db/migration")
        .failOnMissingLocations(true)
        .configuration(Map.of("flyway.postgresql.transactional.lock", "false"))
        .load();
  }
}
