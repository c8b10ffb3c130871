package io.marketplace.payments.common.db;

import java.util.Arrays;
import java.util.Map;
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
   * Refuses a schema that lacks a migration this build has, or whose applied migrations differ from
   * this build's; one newer than this build (a release rolling out ahead of this pod) is accepted.
   * Reads Flyway's history only: needs no right to change the schema.
   *
   * @throws SchemaNotCurrentException naming what is missing and who applies it
   */
  public static void requireCurrent(DataSource dataSource) {
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

  /** Raised at start by a service that does not migrate and finds the schema behind it. */
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
