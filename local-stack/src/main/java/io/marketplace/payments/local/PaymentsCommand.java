package io.marketplace.payments.local;

import io.marketplace.payments.ops.Main;
import io.marketplace.payments.ops.OpsContext;
import io.marketplace.payments.ops.PaymentsCli;
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
    return PaymentsCli.commandLine(
        context, new UpCommand(), new DemoCommand(context), new BenchCommand());
  }
}
