package io.marketplace.payments.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.ops.OpsContext;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code ./payments} as the launcher runs it: the local stack's commands and the operators'. */
class PaymentsCommandTest {

  /** What a run printed and how it exited. */
  record Result(int exitCode, String out, String err) {}

  @Test
  void shouldListEveryCommandOfTheLauncherInWholeSentencesWhenAskedForHelp() {
    // When
    Result help = run(Map.of(), "--help");

    // Then every command the launcher runs is listed, bench included, each summary whole
    assertThat(help.exitCode()).as(help.toString()).isZero();
    List<String> commands = commandSummaries(help.out());
    assertThat(commands)
        .extracting(line -> line.split("\\s+")[0])
        .containsExactly(
            "up",
            "demo",
            "bench",
            "token",
            "replay",
            "lag",
            "dlq",
            "reconcile",
            "kafka-acls",
            "migrate",
            "db-grants");
    assertThat(commands).allSatisfy(line -> assertThat(line).endsWith("."));
  }

  @Test
  void shouldSayInOneLineThatTheApiDoesNotAnswerWhenTheStackIsDown() {
    // Given the addresses of a stack that is not running
    int closed = closedPort();
    String api = "http://127.0.0.1:" + closed;
    Map<String, String> env =
        Map.of(
            "API_URL",
            api,
            "STRIPE_API_BASE",
            "http://127.0.0.1:" + closed,
            "STRIPE_SECRET_KEY",
            "sk_test_" + randomHex(),
            "AUTH_JWT_SECRET",
            randomHex());

    // When
    Result demo = run(env, "demo");

    // Then
    assertThat(demo.exitCode()).as(demo.toString()).isEqualTo(1);
    assertThat(demo.err().strip())
        .isEqualTo(
            "payments demo: the API at " + api + " does not answer: is ./payments up running?");
  }

  /**
   * Picocli starts each element of a description on a line of its own: an option's text split into
   * several broke mid-sentence ("this long before T that the" / "database holds ..."), and a
   * command's line longer than the help's width wrapped a word alone onto a line of its own before
   * the next. Every option's text is one paragraph picocli wraps; a command's lines fit, but for
   * its last, which picocli wraps.
   */
  @Test
  void shouldWrapEveryHelpTextAsWholeParagraphs() {
    // Given every command of the launcher, subcommands included
    CommandLine cli =
        PaymentsCommand.commandLine(new OpsContext(Env.of(Map.of()), Clock.systemUTC()));
    List<CommandLine> commands = new java.util.ArrayList<>(List.of(cli));
    for (int i = 0; i < commands.size(); i++) {
      commands.addAll(commands.get(i).getSubcommands().values());
    }

    // Then
    for (CommandLine command : commands) {
      String name = command.getCommandSpec().qualifiedName();
      List<String> lines = List.of(command.getCommandSpec().usageMessage().description());
      assertThat(lines.subList(0, Math.max(0, lines.size() - 1)))
          .as(name)
          .allSatisfy(line -> assertThat(line.length()).as(name + ": " + line).isLessThan(80));
      command
          .getCommandSpec()
          .options()
          .forEach(
              option ->
                  assertThat(option.description())
                      .as(name + " " + option.longestName())
                      .hasSizeLessThanOrEqualTo(1));
    }
  }

  /**
   * A fresh clone, no {@code up} run yet: "missing required environment variable AUTH_JWT_SECRET"
   * alone does not say that {@code ./payments up} is to run first.
   */
  @Test
  void shouldSayThatNoUpHasWrittenItsAddressesWhenAVariableIsMissingOnAFreshClone(
      @TempDir Path repository) {
    // Given a repository where no ./payments up has run, and an environment naming no system
    Path envFile = repository.resolve(".payments").resolve("env");

    // When the developer asks for a token
    Result token = run(Map.of(), envFile, "token", "--user", UUID.randomUUID().toString());

    // Then one line names the variable, the file, and what to run first
    assertThat(token.exitCode()).as(token.toString()).isEqualTo(2);
    assertThat(token.err().strip())
        .as(token.toString())
        .doesNotContain("\n")
        .startsWith("payments token: missing required environment variable AUTH_JWT_SECRET,")
        .contains("no ./payments up has written " + envFile)
        .contains("start ./payments up in another terminal first");
  }

  /** An operator's environment for another system keeps the plain line: it names no local file. */
  @Test
  void shouldNameOnlyTheMissingVariableWhenTheEnvironmentNamesASystem(@TempDir Path repository) {
    // When
    Result token =
        run(
            Map.of("KAFKA_BOOTSTRAP_SERVERS", "kafka.prod:9093"),
            repository.resolve(".payments").resolve("env"),
            "token",
            "--user",
            UUID.randomUUID().toString());

    // Then
    assertThat(token.exitCode()).as(token.toString()).isEqualTo(2);
    assertThat(token.err().strip())
        .isEqualTo("payments token: missing required environment variable AUTH_JWT_SECRET");
  }

  private static String randomHex() {
    byte[] bytes = new byte[32];
    new SecureRandom().nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }

  /** A port nothing listens on: taken from the system, then given back. */
  private static int closedPort() {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Result run(Map<String, String> env, String... args) {
    return run(env, PaymentsCommand.STACK_ENV_FILE, args);
  }

  private static Result run(Map<String, String> env, Path stackEnvFile, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli =
        PaymentsCommand.commandLine(new OpsContext(Env.of(env), Clock.systemUTC()), stackEnvFile);
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int code = cli.execute(args);
    Result result = new Result(code, out.toString(), err.toString());
    System.out.println("$ payments " + String.join(" ", args) + "\n" + result);
    return result;
  }

  /** The lines of the "Commands:" section, each command's summary joined onto one line. */
  private static List<String> commandSummaries(String help) {
    List<String> lines = Arrays.asList(help.split("\n"));
    List<String> section = lines.subList(lines.indexOf("Commands:") + 1, lines.size());
    StringBuilder joined = new StringBuilder();
    for (String line : section) {
      if (line.isBlank()) {
        break;
      }
      // a command starts at column 2, its summary wraps further in
      joined.append(line.startsWith("   ") ? " " + line.strip() : "\n" + line.strip());
    }
    return Arrays.stream(joined.toString().strip().split("\n")).toList();
  }
}
