package io.marketplace.payments.ops.db;

import io.marketplace.payments.common.db.Database;
import io.marketplace.payments.common.db.Migrations;
import io.marketplace.payments.ops.OperatorError;
import io.marketplace.payments.ops.OpsContext;
import java.util.concurrent.Callable;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.output.MigrateResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code payments migrate}: applies the schema's pending migrations as the schema's owner, for a
 * deployment whose services do not migrate ({@code DATABASE_MIGRATE=false}). The migration Job runs
 * the same code ({@code MigrateMain}).
 */
@Command(
    name = "migrate",
    mixinStandardHelpOptions = true,
    description = {
      "Applies the schema's pending migrations; running it again applies nothing.",
      "Runs as the role in DATABASE_USER, which must own the schema. Services that",
      "run with DATABASE_MIGRATE=false start only once it has run."
    })
public final class MigrateCommand implements Callable<Integer> {

  private final OpsContext context;

  @Spec CommandSpec spec;

  public MigrateCommand(OpsContext context) {
    this.context = context;
  }

  @Override
  public Integer call() {
    MigrateResult result;
    try {
      result = Database.applyMigrationsAsOwner(context.database());
    } catch (Migrations.NotTheSchemaOwnerException e) {
      throw new OperatorError(e.getMessage(), e);
    } catch (FlywayException e) {
      throw new OperatorError(
          "migration failed, the schema is as the last applied migration left it: "
              + e.getMessage(),
          e);
    }
    spec.commandLine()
        .getOut()
        .println(
            "schema at version "
                + (result.targetSchemaVersion == null
                    ? result.initialSchemaVersion
                    : result.targetSchemaVersion)
                + ": "
                + result.migrationsExecuted
                + " migration(s) applied");
    return 0;
  }
}
