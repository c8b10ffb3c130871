package io.marketplace.payments.common.db;

import io.marketplace.payments.common.config.ConfigException;
import io.marketplace.payments.common.config.Env;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The migration Job's entry point (k8s/base/migrate-job.yaml), in every service's image: applies
 * the schema as its owner, whose credentials are this process's {@code DATABASE_*}, then exits 0,
 * or 1 with the reason. The services, under a role that may only change rows ({@code
 * DATABASE_MIGRATE=false}), start once it has run. Running it again applies nothing.
 */
public final class MigrateMain {

  private static final Logger log = LoggerFactory.getLogger(MigrateMain.class);

  private MigrateMain() {}

  public static void main(String[] args) {
    try {
      MigrateResult result = Database.applyMigrationsAsOwner(DbConfig.fromEnv(Env.system()));
      log.info(
          "schema at version {}: {} migration(s) applied",
          result.targetSchemaVersion == null
              ? result.initialSchemaVersion
              : result.targetSchemaVersion,
          result.migrationsExecuted);
      System.exit(0);
    } catch (ConfigException e) {
      log.error("{}", e.getMessage());
      System.exit(2);
    } catch (Migrations.NotTheSchemaOwnerException e) {
      log.error("{}", e.getMessage());
      System.exit(1);
    } catch (RuntimeException e) {
      log.error("migration failed, the schema is as the last applied migration left it", e);
      System.exit(1);
    }
  }
}
