package io.marketplace.payments.ops;

/** Runs {@code payments} with the process environment and exits with the command's status. */
public final class Main {

  private Main() {}

  public static void main(String[] args) {
    quietLogging();
    System.exit(PaymentsCli.commandLine(OpsContext.system()).execute(args));
  }

  /**
   * A command line prints its results on standard output; library logs (Kafka clients, the pool) go
   * to standard error and only when they warn. Must run before the first logger is created.
   */
  public static void quietLogging() {
    if (System.getProperty("logback.configurationFile") == null) {
      System.setProperty("logback.configurationFile", "payments-cli-logback.xml");
    }
  }
}
