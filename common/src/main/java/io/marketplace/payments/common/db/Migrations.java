package io.marketplace.payments.common.db;

import java.util.Map;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;

/**
 * The schema of SPEC §5, owned by Flyway: {@code classpath:db/migration} in this module.
 *
 * <p>Flyway serializes the services that start at once with an advisory lock. It is taken per
 * session, not per transaction: an index built {@code CONCURRENTLY} waits for every transaction
 * older than itself, so one held open by Flyway's own lock would make it wait forever.
 */
public final class Migrations {

  private Migrations() {}

  public static MigrateResult migrate(DataSource dataSource) {
    return Flyway.configure()
        .dataSource(dataSource)
        .locations("classpath:db/migration")
        .failOnMissingLocations(true)
        .configuration(Map.of("flyway.postgresql.transactional.lock", "false"))
        .load()
        .migrate();
  }
}
