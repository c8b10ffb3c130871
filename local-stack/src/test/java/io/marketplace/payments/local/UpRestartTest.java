package io.marketplace.payments.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.marketplace.payments.embedded.Ports;
import io.marketplace.payments.testsupport.Await;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./payments up} killed with {@code kill -9} and started again on the same data directory
 * and ports, as an operator does after a crash: the child JVM runs the real command line.
 */
class UpRestartTest {

  @TempDir Path dataDir;

  private Process child;
  private LocalStack restarted;

  @AfterEach
  void stop() {
    if (restarted != null) {
      restarted.close();
    }
    if (child != null && child.isAlive()) {
      child.destroyForcibly();
    }
    stopLeftoverPostgres();
  }

  /** The killed `up`'s PostgreSQL, if nothing stopped it, must not outlive the test. */
  private void stopLeftoverPostgres() {
    try {
      Path pidFile = dataDir.resolve("postgres").resolve("postmaster.pid");
      if (!Files.exists(pidFile)) {
        return;
      }
      long pid = Long.parseLong(Files.readAllLines(pidFile).getFirst().strip());
      ProcessHandle.of(pid)
          .filter(p -> p.info().command().map(c -> c.endsWith("postgres")).orElse(false))
          .ifPresent(
              p -> {
                p.destroy();
                p.onExit().orTimeout(15, TimeUnit.SECONDS).join();
              });
    } catch (IOException | RuntimeException e) {
      // nothing left to stop
    }
  }

  @Test
  void shouldStartAgainOnTheSamePortsWithTheSameDataWhenTheLastUpWasKilled() throws Exception {
    // Given `./payments up` running on fixed ports, then killed with kill -9
    Path log = dataDir.resolve("up.log");
    Path envFile = dataDir.resolve("env");
    StackPorts ports =
        startOnFreePorts(log, "the first `up` to be ready", () -> Files.exists(envFile));
    Map<String, String> before = readEnv(envFile);
    // every key SPEC §7 names for .payments/env (the comparisons below pass on a key missing twice)
    assertThat(before)
        .containsKeys(
            "KAFKA_BOOTSTRAP_SERVERS",
            "DATABASE_URL",
            "DATABASE_USER",
            "DATABASE_PASSWORD",
            "STRIPE_API_BASE",
            "STRIPE_SECRET_KEY",
            "STRIPE_WEBHOOK_SECRET",
            "AUTH_JWT_SECRET",
            "GATEWAY_URL",
            "API_URL");
    // (the API's health and metrics on the admin port --api-admin-port chose, printed as the
    // gateway's are)
    assertThat(before.get("API_ADMIN_URL")).isEqualTo("http://127.0.0.1:" + ports.apiAdmin());
    assertThat(read(log)).contains("API metrics at " + before.get("API_ADMIN_URL") + "/metrics");
    // its services log into the data directory it was given, not into .payments of where it runs
    Path logFile = dataDir.resolve("logs").resolve("payments.log");
    awaitWhileRunning(
        log, "the ready line naming the log file", () -> read(log).contains("ready in"));
    assertThat(read(log)).contains(logFile.toString());
    assertThat(logFile).as(read(log)).isNotEmptyFile();
    child.destroyForcibly();
    assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();

    // When it is started again on the same ports
    restarted = LocalStack.start(dataDir, ports, line -> {});

    // Then it runs with the same addresses and keys, and serves its API
    Map<String, String> after = restarted.env();
    for (String key :
        List.of(
            "KAFKA_BOOTSTRAP_SERVERS",
            "DATABASE_URL",
            "STRIPE_API_BASE",
            "STRIPE_SECRET_KEY",
            "STRIPE_WEBHOOK_SECRET",
            "AUTH_JWT_SECRET",
            "GATEWAY_URL",
            "API_URL",
            "API_ADMIN_URL")) {
      assertThat(after.get(key)).as(key).isEqualTo(before.get(key));
    }
    try (HttpClient http = HttpClient.newHttpClient()) {
      HttpResponse<String> categories =
          http.send(
              HttpRequest.newBuilder(
                      URI.create(after.get("API_URL") + "/api/marketplace/categories"))
                  .timeout(Duration.ofSeconds(10))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(categories.statusCode()).isEqualTo(200);
      assertThat(categories.body()).contains("\"housing\"");
      // and its metrics on its admin address only, where its probes' paths answer too
      assertThat(get(http, after.get("API_ADMIN_URL") + "/metrics"))
          .startsWith("200 ")
          .contains("homepage_payments_intents_created_total");
      assertThat(get(http, after.get("API_ADMIN_URL") + "/health/ready")).startsWith("200 ");
      assertThat(get(http, after.get("API_URL") + "/metrics")).startsWith("404 ");
    }
  }

  /** The status and body of {@code GET url}, as {@code "200 <body>"}. */
  private static String get(HttpClient http, String url) throws Exception {
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
            HttpResponse.BodyHandlers.ofString());
    return response.statusCode() + " " + response.body();
  }

  @Test
  void shouldStopItsPostgresWhenStoppedWhileStillStarting() throws Exception {
    // Given `./payments up` stopped (SIGTERM, as Ctrl-C's SIGINT) once PostgreSQL runs, before the
    // stack is ready
    Path log = dataDir.resolve("up.log");
    startOnFreePorts(
        log, "PostgreSQL of `up` to be running", () -> read(log).contains("PostgreSQL ready"));
    Path pidFile = dataDir.resolve("postgres").resolve("postmaster.pid");
    long postmaster = Long.parseLong(Files.readAllLines(pidFile).getFirst().strip());

    // When it is stopped
    child.destroy();
    assertThat(child.waitFor(60, TimeUnit.SECONDS)).as(read(log)).isTrue();

    // Then it stopped its PostgreSQL (which removes its pid file as it ends): no orphan left
    assertThat(pidFile).as(read(log)).doesNotExist();
    Await.until(
        Duration.ofSeconds(10),
        "PostgreSQL " + postmaster + " to be gone",
        () -> ProcessHandle.of(postmaster).map(p -> !p.isAlive()).orElse(true));
  }

  @Test
  void shouldNameThePostgresOptionWhenAnotherProcessHoldsItsPort() throws Exception {
    // Given PostgreSQL's port held by a process that is not a PostgreSQL of this data directory
    try (ServerSocket other = new ServerSocket()) {
      other.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      StackPorts ports = new StackPorts(0, other.getLocalPort(), 0, 0, 0, 0, 0, 0, 0, 0, 0);

      // When the stack starts, then it refuses, naming the option that moves the port
      assertThatThrownBy(() -> LocalStack.start(dataDir, ports, line -> {}))
          .isInstanceOf(StackPorts.PortTakenException.class)
          .hasMessage(
              "port "
                  + other.getLocalPort()
                  + " is taken by another process; choose another with --postgres-port");
    }
  }

  @Test
  void shouldNameTheApiAdminPortOptionWhenAnotherProcessHoldsItsPort() throws Exception {
    // Given the API's admin port (8087 unless moved) held by another process
    assertThat(StackPorts.defaults().apiAdmin()).isEqualTo(8087);
    try (ServerSocket other = new ServerSocket()) {
      other.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      StackPorts ports = new StackPorts(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, other.getLocalPort());

      // When the stack checks its ports, then it refuses before anything starts, naming the
      // option that moves it
      assertThatThrownBy(ports::requireFreeButPostgres)
          .isInstanceOf(StackPorts.PortTakenException.class)
          .hasMessage(
              "port "
                  + other.getLocalPort()
                  + " is taken by another process; choose another with --api-admin-port");
    }
  }

  @Test
  void shouldNameBothOptionsWhenTwoAreGivenTheSamePort() {
    // Given the gateway and the API given one port (free: no other process holds it)
    int port = freePort();
    StackPorts ports = new StackPorts(0, 0, 0, port, port, 0, 0, 0, 0, 0, 0);

    // When the stack starts, then it refuses before anything starts, naming both options
    assertThatThrownBy(() -> LocalStack.start(dataDir, ports, line -> {}))
        .isInstanceOf(StackPorts.PortTakenException.class)
        .hasMessage(
            "port "
                + port
                + " is given to both --gateway-port and --api-port; choose another for one of"
                + " them");
    assertThat(dataDir.resolve("kafka")).doesNotExist();
  }

  /**
   * Starts `up` on ports picked free, and waits until {@code condition} holds. The ports are free
   * when picked and bound by the child seconds later; another process on the machine picking ports
   * meanwhile may take one first (seen under concurrent test JVMs). Such a start is made again on
   * other ports, at most twice; any other exit fails at once, with the child's output.
   */
  private StackPorts startOnFreePorts(Path log, String description, BooleanSupplier condition)
      throws IOException {
    for (int attempt = 1; ; attempt++) {
      StackPorts ports = freePorts();
      child = startUp(ports, log);
      if (!exitedBefore(log, description, condition)) {
        return ports;
      }
      String output = read(log);
      boolean portTaken =
          output.contains("already in use") || output.contains("is taken by another process");
      assertThat(portTaken && attempt < 3)
          .as("`up` exited before %s: %s", description, output)
          .isTrue();
    }
  }

  /**
   * Waits until {@code condition} holds (false), or the child exits first (true), with the child's
   * output.
   */
  private boolean exitedBefore(Path log, String description, BooleanSupplier condition) {
    return Await.value(
        Duration.ofSeconds(180),
        description + " (" + log + ")",
        () -> {
          if (condition.getAsBoolean()) {
            return Optional.of(false);
          }
          return child.isAlive() ? Optional.empty() : Optional.of(true);
        });
  }

  /**
   * Waits until {@code condition} holds, and fails at once, with the child's output, if the child
   * exits first.
   */
  private void awaitWhileRunning(Path log, String description, BooleanSupplier condition) {
    assertThat(exitedBefore(log, description, condition))
        .as("`up` exited before %s: %s", description, read(log))
        .isFalse();
  }

  private Process startUp(StackPorts ports, Path log) throws IOException {
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1"));
    if (Runtime.version().feature() >= 24) {
      // as ./payments: Kafka's clients unmap buffers through sun.misc.Unsafe
      command.add("--sun-misc-unsafe-memory-access=allow");
    }
    command.addAll(
        List.of(
            "-cp",
            System.getProperty("java.class.path"),
            PaymentsCommand.class.getName(),
            "up",
            "--data-dir",
            dataDir.toString(),
            "--kafka-port",
            Integer.toString(ports.kafka()),
            "--postgres-port",
            Integer.toString(ports.postgres()),
            "--stripe-port",
            Integer.toString(ports.stripe()),
            "--gateway-port",
            Integer.toString(ports.gateway()),
            "--api-port",
            Integer.toString(ports.api()),
            "--processor-port",
            Integer.toString(ports.processor()),
            "--refunds-port",
            Integer.toString(ports.refunds()),
            "--expirer-port",
            Integer.toString(ports.expirer()),
            "--gateway-admin-port",
            Integer.toString(ports.gatewayAdmin()),
            "--risk-port",
            Integer.toString(ports.risk()),
            "--api-admin-port",
            Integer.toString(ports.apiAdmin())));
    return new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
  }

  /** Eleven distinct free loopback ports. */
  private static StackPorts freePorts() {
    Set<Integer> taken = new HashSet<>();
    int[] ports = new int[11];
    for (int i = 0; i < ports.length; i++) {
      int port;
      do {
        port = freePort();
      } while (!taken.add(port));
      ports[i] = port;
    }
    return new StackPorts(
        ports[0], ports[1], ports[2], ports[3], ports[4], ports[5], ports[6], ports[7], ports[8],
        ports[9], ports[10]);
  }

  /** Outside the ephemeral range, so the clients of other processes cannot take it meanwhile. */
  private static int freePort() {
    return Ports.free();
  }

  private static Map<String, String> readEnv(Path file) throws IOException {
    Properties properties = new Properties();
    try (InputStream in = new FileInputStream(file.toFile())) {
      properties.load(in);
    }
    return properties.stringPropertyNames().stream()
        .collect(Collectors.toMap(k -> k, properties::getProperty));
  }

  private static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      return "(unreadable: " + e + ")";
    }
  }
}
