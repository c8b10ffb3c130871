package io.marketplace.payments.system.crash;

import io.marketplace.payments.embedded.Ports;
import io.marketplace.payments.testsupport.Await;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * One deployable run the way Kubernetes runs it: {@code java -cp <classpath> <main class>} in an OS
 * process of its own with its environment, on a small heap, its output in a log file of its own per
 * start ({@code <name>-<n>.log}). {@link #kill()} is {@code kill -9}: no shutdown hook runs,
 * nothing is flushed or committed on the way out.
 */
public final class OsProcess implements AutoCloseable {

  /** A JVM on 2 busy cores takes seconds to start; a broker or a worker recovering, more. */
  public static final Duration START = Duration.ofSeconds(120);

  /**
   * How often a starting process is asked whether it is ready: each ask of a service runs its
   * readiness checks against Kafka and PostgreSQL, each ask of the broker reads its log.
   */
  private static final Duration READY_EVERY = Duration.ofMillis(250);

  private static final List<String> JVM_OPTIONS =
      List.of(
          "-Xmx192m",
          "-XX:+UseSerialGC",
          "-XX:TieredStopAtLevel=1",
          "-Xshare:auto",
          "-Duser.timezone=UTC");

  private final String name;
  private final String mainClass;
  private final List<String> args;
  private final Map<String, String> env;
  private final Path logDir;
  private final Predicate<OsProcess> ready;
  private Process process;
  private Path log;
  private int starts;

  public OsProcess(
      String name,
      String mainClass,
      List<String> args,
      Map<String, String> env,
      Path logDir,
      Predicate<OsProcess> ready) {
    this.name = name;
    this.mainClass = mainClass;
    this.args = List.copyOf(args);
    this.env = Map.copyOf(env);
    this.logDir = logDir;
    this.ready = ready;
  }

  /**
   * A Kafka broker (KRaft) in a process of its own ({@link BrokerMain}), its log directory under
   * {@code run/kafka}, listening on {@code port}; ready once it says so.
   */
  public static OsProcess kafkaBroker(Path run, int port) {
    return new OsProcess(
        "kafka",
        BrokerMain.class.getName(),
        List.of(run.resolve("kafka").toString(), Integer.toString(port)),
        Map.of(),
        run,
        process -> process.logContains(BrokerMain.READY));
  }

  public String name() {
    return name;
  }

  /** The log file of the current (or last) start. */
  public Path log() {
    return log;
  }

  /** Starts the process; does not wait for it to be ready. */
  public synchronized OsProcess start() {
    if (process != null && process.isAlive()) {
      throw new IllegalStateException(name + " is already running");
    }
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(JVM_OPTIONS);
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(mainClass);
    command.addAll(args);
    try {
      Files.createDirectories(logDir);
      log = logDir.resolve(name + "-" + ++starts + ".log");
      ProcessBuilder builder =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      builder.environment().clear();
      builder.environment().putAll(env);
      process = builder.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + name, e);
    }
    return this;
  }

  /** Waits until the process answers as ready, failing early (with its log) if it died. */
  public void awaitReady() {
    try {
      Await.until(START, READY_EVERY, name + " to be ready", () -> !isAlive() || ready.test(this));
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + tail(), e);
    }
    if (!isAlive()) {
      throw new AssertionError(name + " exited with " + process.exitValue() + tail());
    }
  }

  /** The operating system's id of the current (or last) start, or -1 before the first. */
  public synchronized long pid() {
    return process == null ? -1 : process.pid();
  }

  /** The exit status of a process that ended, or -1 while it runs. */
  public synchronized int exitValue() {
    return process == null || process.isAlive() ? -1 : process.exitValue();
  }

  /** {@code kill -9}, then waits until the process is gone. */
  public synchronized void kill() {
    if (process == null) {
      return;
    }
    process.destroyForcibly();
    try {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException(name + " survived SIGKILL for 30 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public synchronized boolean isAlive() {
    return process != null && process.isAlive();
  }

  /** The last lines of the current log, to say why a process did not come up. */
  public String tail() {
    if (log == null || !Files.exists(log)) {
      return "";
    }
    try {
      List<String> lines = Files.readAllLines(log);
      return "; last lines of "
          + log
          + ":\n"
          + String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    } catch (IOException | UncheckedIOException e) {
      return "; " + log + " unreadable: " + e;
    }
  }

  public boolean logContains(String text) {
    try {
      return log != null && Files.exists(log) && Files.readString(log).contains(text);
    } catch (IOException | UncheckedIOException e) {
      return false;
    }
  }

  @Override
  public void close() {
    kill();
  }

  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  /** {@code GET /health/ready} of a service at {@code baseUrl} answers 200. */
  public static boolean ready(String baseUrl) {
    try {
      return HTTP.send(
                  HttpRequest.newBuilder(URI.create(baseUrl + "/health/ready"))
                      .timeout(Duration.ofSeconds(5))
                      .build(),
                  HttpResponse.BodyHandlers.discarding())
              .statusCode()
          == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** A TCP port free now, for a process to listen on (see {@link Ports#free()}). */
  public static int freePort() {
    return Ports.free();
  }

  @Override
  public String toString() {
    return name;
  }
}
