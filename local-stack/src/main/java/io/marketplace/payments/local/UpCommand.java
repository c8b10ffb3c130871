package io.marketplace.payments.local;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code ./payments up}: the whole system on this machine until Ctrl-C (SPEC §7). */
@Command(
    name = "up",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the whole system on this machine until Ctrl-C.",
      "A real Kafka broker (KRaft) and a real PostgreSQL, both embedded, the Stripe"
          + " emulator, the gateway, the API and every worker. Data persists under the data"
          + " directory; Ctrl-C stops everything cleanly."
    })
public final class UpCommand implements Callable<Integer> {

  /**
   * How long Ctrl-C waits for a start under way to reach its next step: PostgreSQL's and Kafka's
   * own starts are bounded by a minute each.
   */
  private static final Duration START_STEP_LIMIT = Duration.ofMinutes(2);

  @Spec CommandSpec spec;

  @Option(names = "--data-dir", description = "where data persists (default: ${DEFAULT-VALUE})")
  Path dataDir = Path.of(".payments");

  @Option(names = "--kafka-port", description = "default: ${DEFAULT-VALUE}")
  int kafkaPort = StackPorts.defaults().kafka();

  @Option(names = "--postgres-port", description = "default: ${DEFAULT-VALUE}")
  int postgresPort = StackPorts.defaults().postgres();

  @Option(names = "--stripe-port", description = "default: ${DEFAULT-VALUE}")
  int stripePort = StackPorts.defaults().stripe();

  @Option(names = "--gateway-port", description = "default: ${DEFAULT-VALUE}")
  int gatewayPort = StackPorts.defaults().gateway();

  @Option(names = "--api-port", description = "default: ${DEFAULT-VALUE}")
  int apiPort = StackPorts.defaults().api();

  @Option(
      names = "--api-admin-port",
      description = "the API's health and metrics; default: ${DEFAULT-VALUE}")
  int apiAdminPort = StackPorts.defaults().apiAdmin();

  @Option(names = "--processor-port", description = "admin port; default: ${DEFAULT-VALUE}")
  int processorPort = StackPorts.defaults().processor();

  @Option(names = "--refunds-port", description = "admin port; default: ${DEFAULT-VALUE}")
  int refundsPort = StackPorts.defaults().refunds();

  @Option(names = "--expirer-port", description = "admin port; default: ${DEFAULT-VALUE}")
  int expirerPort = StackPorts.defaults().expirer();

  @Option(
      names = "--gateway-admin-port",
      description = "the gateway's health and metrics; default: ${DEFAULT-VALUE}")
  int gatewayAdminPort = StackPorts.defaults().gatewayAdmin();

  @Option(
      names = "--without",
      split = ",",
      paramLabel = "WORKER",
      description =
          "leave these workers stopped (payment-processor, refund-worker), so that ./payments"
              + " replay can rewind their consumer groups; start up again without --without"
              + " after")
  List<String> without = List.of();

  @Option(
      names = "--risk-port",
      description = "the risk service's health and metrics; default: ${DEFAULT-VALUE}")
  int riskPort = StackPorts.defaults().risk();

  /** The property payments-up-logback.xml names the services' log file by. */
  static final String LOG_FILE_PROPERTY = "payments.log.file";

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    long started = System.nanoTime();
    // set before anything logs, which configures logging: the log lives with the data it tells
    // of, not in the default data directory whatever --data-dir says
    Path logFile = logFile(dataDir);
    StackPorts ports =
        new StackPorts(
            kafkaPort,
            postgresPort,
            stripePort,
            gatewayPort,
            apiPort,
            processorPort,
            refundsPort,
            expirerPort,
            gatewayAdminPort,
            riskPort,
            apiAdminPort);
    Set<LocalStack.Worker> leftStopped;
    try {
      leftStopped =
          without.stream()
              .map(String::strip)
              .map(LocalStack.Worker::of)
              .collect(Collectors.toCollection(() -> EnumSet.noneOf(LocalStack.Worker.class)));
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--without: " + e.getMessage());
    }
    // Registered before anything starts: Ctrl-C while the stack is still starting must stop what
    // has started, PostgreSQL above all, a process of its own that would outlive this JVM.
    AtomicBoolean stopping = new AtomicBoolean();
    AtomicReference<LocalStack> running = new AtomicReference<>();
    CountDownLatch startEnded = new CountDownLatch(1);
    CountDownLatch stopped = new CountDownLatch(1);
    Thread hook =
        Thread.ofPlatform()
            .unstarted(
                () -> {
                  stopping.set(true);
                  out.println("stopping ...");
                  out.flush();
                  // a start under way stops what it started at its next step
                  awaitQuietly(startEnded);
                  LocalStack stack = running.get();
                  if (stack != null) {
                    stack.close();
                  }
                  out.println("stopped");
                  out.flush();
                  stopped.countDown();
                });
    Runtime.getRuntime().addShutdownHook(hook);
    LocalStack stack;
    try {
      stack =
          LocalStack.start(
              dataDir,
              ports,
              leftStopped,
              line -> {
                if (stopping.get()) {
                  throw new StartAbandoned();
                }
                out.printf("[%5.1f s] %s%n", (System.nanoTime() - started) / 1e9, line);
                out.flush();
              });
      running.set(stack);
    } catch (StackPorts.PortTakenException | DataDirLock.InUseException e) {
      removeQuietly(hook);
      spec.commandLine().getErr().println("payments up: " + e.getMessage());
      return 1;
    } catch (StartAbandoned e) {
      return 1; // stopped while starting: the hook reports it
    } catch (RuntimeException e) {
      removeQuietly(hook);
      throw e;
    } finally {
      startEnded.countDown();
    }
    Path envFile = dataDir.resolve("env");
    stack.writeEnvFile(envFile);
    out.println();
    stack.env().entrySet().stream()
        .filter(
            e ->
                e.getKey().endsWith("_URL")
                    || e.getKey().endsWith("_SERVERS")
                    || e.getKey().endsWith("_BASE"))
        .forEach(e -> out.printf("  %-24s %s%n", e.getKey(), e.getValue()));
    out.printf("  %-24s %s%n", "credentials", "in " + envFile + " (never printed)");
    out.printf("  %-24s %s%n", "logs", logFile + " (JSON; warnings here too)");
    out.println();
    out.println(readyLine((System.nanoTime() - started) / 1e9, envFile));
    out.flush();
    stopped.await();
    return 0;
  }

  /**
   * Where the services' logs go: {@code D/logs/payments.log} of the data directory, unless the
   * property is set already (tests, a developer's {@code PAYMENTS_JAVA_OPTS}).
   */
  static Path logFile(Path dataDir) {
    String set = System.getProperty(LOG_FILE_PROPERTY);
    if (set != null) {
      return Path.of(set);
    }
    Path file = dataDir.resolve("logs").resolve("payments.log");
    System.setProperty(LOG_FILE_PROPERTY, file.toString());
    return file;
  }

  /**
   * The line that says the system is up. The other commands read the repository's {@code
   * .payments/env} (the launcher runs in the repository), so after {@code --data-dir D} they are
   * told how to read {@code D/env}: "Try ./payments demo" alone would fail naming a missing
   * variable.
   */
  static String readyLine(double seconds, Path envFile) {
    Path file = envFile.toAbsolutePath().normalize();
    boolean read = file.equals(Path.of(".payments", "env").toAbsolutePath().normalize());
    return String.format(
        Locale.ROOT,
        read
            ? "ready in %.1f s; addresses written to %s. Try ./payments demo. Ctrl-C stops."
            : "ready in %.1f s; addresses written to %s, which the other ./payments commands"
                + " read only from the environment: in another shell, set -a; . %s; set +a"
                + " first, then try ./payments demo. Ctrl-C stops.",
        seconds,
        read ? envFile : file,
        file);
  }

  private static void awaitQuietly(CountDownLatch latch) {
    try {
      latch.await(START_STEP_LIMIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** A start that failed before anything runs has nothing for the hook to stop. */
  private static void removeQuietly(Thread hook) {
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // the JVM is already stopping: the hook runs, and finds nothing to stop
    }
  }

  /** Thrown into the start by Ctrl-C: the start stops what it started, in reverse order. */
  private static final class StartAbandoned extends RuntimeException {
    StartAbandoned() {
      super("stopped while starting", null, false, false);
    }
  }
}
