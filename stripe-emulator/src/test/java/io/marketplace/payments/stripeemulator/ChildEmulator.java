package io.marketplace.payments.stripeemulator;

import io.marketplace.payments.embedded.Ports;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The emulator alone in a child JVM ({@link Main}, this JVM's java and classpath), so a test can
 * kill it as a crash does: {@link #kill()} is SIGKILL, no shutdown hook, no flush.
 */
final class ChildEmulator implements AutoCloseable {
  private final Process process;
  private final int port;
  private final Path log;

  private ChildEmulator(Process process, int port, Path log) {
    this.process = process;
    this.port = port;
    this.log = log;
  }

  /** Starts {@link Main} with {@code env} on a free port and waits until it answers. */
  static ChildEmulator start(Path logDir, Map<String, String> env) {
    int port = freePort();
    Path log = logDir.resolve("child-emulator-" + port + ".log");
    ProcessBuilder builder =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx128m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile());
    builder.environment().putAll(env);
    builder.environment().put("STRIPE_EMULATOR_PORT", Integer.toString(port));
    ChildEmulator child;
    try {
      child = new ChildEmulator(builder.start(), port, log);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try {
      Eventually.await("the child emulator to answer", Duration.ofSeconds(30), child::healthy);
    } catch (AssertionError e) {
      child.kill();
      throw new AssertionError(e.getMessage() + "; its output:\n" + child.output(), e);
    }
    return child;
  }

  String baseUrl() {
    return "http://localhost:" + port;
  }

  /** SIGKILL, as {@code kill -9}: the JVM gets no chance to run anything. */
  void kill() {
    process.destroyForcibly();
    try {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        throw new AssertionError("the child emulator did not die");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  String output() {
    try {
      return Files.exists(log) ? Files.readString(log) : "";
    } catch (IOException e) {
      return "(unreadable: " + e + ")";
    }
  }

  private boolean healthy() {
    if (!process.isAlive()) {
      throw new AssertionError("the child emulator exited; its output:\n" + output());
    }
    try (HttpClient http = HttpClient.newHttpClient()) {
      HttpResponse<Void> response =
          http.send(
              HttpRequest.newBuilder(URI.create(baseUrl() + "/_emulator/health"))
                  .timeout(Duration.ofSeconds(2))
                  .build(),
              HttpResponse.BodyHandlers.discarding());
      return response.statusCode() == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private static int freePort() {
    return Ports.free();
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      kill();
    }
  }
}
