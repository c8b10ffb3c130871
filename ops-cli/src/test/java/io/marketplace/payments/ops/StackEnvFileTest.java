package io.marketplace.payments.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code ./payments} takes from {@code .payments/env}, the addresses and credentials a local
 * {@code ./payments up} wrote, which stays on disk after it stopped: the file, when the environment
 * names no system; never a part of it beside an environment that names another system, which would
 * point one command at two systems (production's database and Stripe key, the local broker or
 * emulator) instead of saying which variable is missing.
 */
class StackEnvFileTest {

  private static final Path SCRIPT =
      Path.of("").toAbsolutePath().getParent().resolve("scripts/stack-env.sh");

  @TempDir Path dir;

  @Test
  void shouldTakeTheLocalStackWhenTheEnvironmentNamesNoSystem() throws Exception {
    // Given the file of a local stack, and an environment that names no system
    Path file = localStackFile();

    // When
    Result loaded = load(file, Map.of("KAFKA_COMMAND_TIMEOUT", "5s"));

    // Then every address of the file is taken, and what the environment sets stays
    assertThat(loaded.out())
        .contains("KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092")
        .contains("STRIPE_API_BASE=http://127.0.0.1:12111")
        .contains("DATABASE_URL=jdbc:postgresql://127.0.0.1:15432/payments")
        .contains("KAFKA_COMMAND_TIMEOUT=5s");
    assertThat(loaded.err()).isEmpty();
  }

  /**
   * The file stays after its {@code up} stopped. Read then, a token was signed with the keys of a
   * stack no longer running, and refused with 401 by an {@code up --data-dir D} started since on
   * the same ports: the operator is told the file is stale, and what to do.
   */
  @Test
  void shouldSayThatTheFileIsOfAnUpNoLongerRunning() throws Exception {
    // Given the file of a local stack whose up has ended
    Path file = localStackFile();
    Process ended = new ProcessBuilder("true").start();
    ended.waitFor(10, TimeUnit.SECONDS);
    Files.writeString(file.resolveSibling("up.lock"), ended.pid() + "\n");

    // When
    Result loaded = load(file, Map.of());

    // Then it is read as before, and the operator is told it is of an up not running now
    assertThat(loaded.out()).contains("KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092");
    assertThat(loaded.err())
        .contains(file + " is of a ./payments up that is not running now")
        .contains("set -a; . D/env; set +a");
  }

  @Test
  void shouldTakeNothingOfTheLocalStackWhenTheEnvironmentNamesAnotherSystem() throws Exception {
    // Given the file of a local stack, and an operator's environment for production that leaves
    // STRIPE_API_BASE to its default (Stripe) and forgets KAFKA_BOOTSTRAP_SERVERS
    Path file = localStackFile();

    // When
    Result loaded =
        load(
            file,
            Map.of(
                "DATABASE_URL", "jdbc:postgresql://db.prod:5432/payments",
                "STRIPE_SECRET_KEY", "sk_live_from_the_operator"));

    // Then nothing of the local stack is mixed in: the missing variable stays missing (the
    // command names it), the default stays the default, and the operator is told why
    assertThat(loaded.out())
        .contains("DATABASE_URL=jdbc:postgresql://db.prod:5432/payments")
        .contains("KAFKA_BOOTSTRAP_SERVERS=\n")
        .contains("STRIPE_API_BASE=\n")
        .contains("DATABASE_PASSWORD=\n");
    assertThat(loaded.err()).contains(".payments/env").contains("DATABASE_URL");
  }

  // ---- helpers

  private record Result(String out, String err) {}

  /** The file of a running up: its lock names a live process (this test's JVM stands in). */
  private Path localStackFile() throws IOException {
    Path payments = Files.createDirectories(dir.resolve(".payments"));
    Files.writeString(payments.resolve("up.lock"), ProcessHandle.current().pid() + "\n");
    return Files.writeString(
        payments.resolve("env"),
        """
        KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092
        DATABASE_URL=jdbc:postgresql://127.0.0.1:15432/payments
        DATABASE_USER=payments
        DATABASE_PASSWORD=local-password-Vq8yT3nKp0
        STRIPE_API_BASE=http://127.0.0.1:12111
        STRIPE_SECRET_KEY=sk_test_local
        AUTH_JWT_SECRET=local-secret-of-the-stack-0123456789abcdef
        """);
  }

  /** Sources the script in a bash with only {@code env}, loads {@code file}, prints the result. */
  private Result load(Path file, Map<String, String> env) throws Exception {
    String print =
        String.join(
            "; ",
            java.util.stream.Stream.of(
                    "KAFKA_BOOTSTRAP_SERVERS",
                    "DATABASE_URL",
                    "DATABASE_PASSWORD",
                    "STRIPE_API_BASE",
                    "STRIPE_SECRET_KEY",
                    "KAFKA_COMMAND_TIMEOUT")
                .map(k -> "echo \"" + k + "=${" + k + ":-}\"")
                .toList());
    ProcessBuilder bash =
        new ProcessBuilder(
            "bash",
            "-c",
            "set -euo pipefail; . \"$1\"; load_stack_env \"$2\"; " + print,
            "bash",
            SCRIPT.toString(),
            file.toString());
    bash.environment().clear();
    bash.environment().put("PATH", System.getenv("PATH"));
    bash.environment().putAll(env);
    Process process = bash.start();
    process.getOutputStream().close();
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).as(err).isZero();
    System.out.println(out + err);
    return new Result(out, err);
  }
}
