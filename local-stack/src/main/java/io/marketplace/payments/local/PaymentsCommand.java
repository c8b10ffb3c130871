package io.marketplace.payments.local;

import io.marketplace.payments.common.config.MissingConfigException;
import io.marketplace.payments.ops.Main;
import io.marketplace.payments.ops.OpsContext;
import io.marketplace.payments.ops.PaymentsCli;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine;

/**
 * {@code ./payments}: the local stack's {@code up} and {@code demo} plus every operator command.
 */
public final class PaymentsCommand {

  private PaymentsCommand() {}

  public static void main(String[] args) {
    boolean up = args.length > 0 && args[0].equals("up");
    if (up) {
      if (System.getProperty("logback.configurationFile") == null) {
        System.setProperty("logback.configurationFile", "payments-up-logback.xml");
      }
    } else {
      Main.quietLogging();
    }
    int status = commandLine(OpsContext.system()).execute(args);
    if (!up || status != 0) {
      System.exit(status);
    }
  }

  /** Every command of {@code ./payments}, the local stack's first. */
  static CommandLine commandLine(OpsContext context) {
    return commandLine(context, STACK_ENV_FILE);
  }

  /** Where {@code ./payments up} writes, and the launcher reads, the running system's addresses. */
  static final Path STACK_ENV_FILE = Path.of(".payments", "env");

  /**
   * The variables by which an environment names a system: with one of them set, the launcher reads
   * no {@code .payments/env} (scripts/stack-env.sh).
   */
  private static final List<String> SYSTEM_VARIABLES =
      List.of(
          "KAFKA_BOOTSTRAP_SERVERS",
          "DATABASE_URL",
          "DATABASE_USER",
          "DATABASE_PASSWORD",
          "STRIPE_API_BASE",
          "STRIPE_SECRET_KEY",
          "AUTH_JWT_SECRET");

  /**
   * {@link #commandLine(OpsContext)} reading the addresses from {@code stackEnvFile}. A command
   * missing a variable where no {@code up} wrote that file, and the environment names no system,
   * says so: "missing AUTH_JWT_SECRET" alone does not tell a developer that {@code up} is to run
   * first, or that the file of an {@code up --data-dir D} is read from the environment.
   */
  static CommandLine commandLine(OpsContext context, Path stackEnvFile) {
    CommandLine cli =
        PaymentsCli.commandLine(
            context, new UpCommand(), new DemoCommand(context), new BenchCommand());
    CommandLine.IExecutionExceptionHandler handler = cli.getExecutionExceptionHandler();
    cli.setExecutionExceptionHandler(
        (error, command, parsed) -> {
          if (error instanceof MissingConfigException
              && !Files.exists(stackEnvFile)
              && SYSTEM_VARIABLES.stream().allMatch(v -> context.env().optional(v, "").isEmpty())) {
            command
                .getErr()
                .println(
                    command.getCommandSpec().qualifiedName()
                        + ": "
                        + error.getMessage()
                        + ", and no ./payments up has written "
                        + stackEnvFile
                        + " here: start ./payments up in another terminal first (after up"
                        + " --data-dir D: set -a; . D/env; set +a)");
            command.getErr().flush();
            return PaymentsCli.USAGE;
          }
          return handler.handleExecutionException(error, command, parsed);
        });
    return cli;
  }
}
