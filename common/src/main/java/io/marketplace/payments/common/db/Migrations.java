package io.marketplace.payments.common.db;

import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;

/** The schema of SPEC §5, owned by Flyway: {@code classpath:db/migration} in this module. */
public final class Migrations {

  private Migrations() {}

  public static MigrateResult migrate(DataSource dataSource) {
    return Flyway.configure()
        .dataSource(dataSource)
        .locations("classpath:db/migration")
        .failOnMissingLocations(true)
        .load()
        .migrate();
  }
}
