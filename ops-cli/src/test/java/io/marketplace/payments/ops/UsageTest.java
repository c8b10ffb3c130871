package io.marketplace.payments.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What {@code payments} says about itself, and about a command line it cannot take. */
class UsageTest {

  private final Cli cli = new Cli();

  @Test
  void shouldSummariseEveryCommandInWholeSentencesWhenAskedForHelp() {
    // When
    Cli.Result help = cli.run("--help");

    // Then every command is listed, and no summary stops mid-sentence
    assertThat(help.exitCode()).as(help.toString()).isZero();
    List<String> commands = commandSummaries(help.out());
    assertThat(commands)
        .extracting(line -> line.split("\\s+")[0])
        .containsExactly(
            "token", "replay", "lag", "dlq", "reconcile", "kafka-acls", "migrate", "db-grants");
    assertThat(commands).allSatisfy(line -> assertThat(line).endsWith("."));
  }

  @Test
  void shouldPrintTheProjectVersionWhenAskedForIt() {
    // When
    Cli.Result version = cli.run("--version");

    // Then
    assertThat(version.exitCode()).as(version.toString()).isZero();
    assertThat(version.out().strip()).matches("marketplace payments \\d+\\.\\d+\\.\\d+\\S*");
  }

  @Test
  void shouldPrintTheSameVersionWhenACommandIsAskedForIt() {
    // When
    Cli.Result version = cli.run("--version");
    Cli.Result ofToken = cli.run("token", "--version");
    Cli.Result ofRedrive = cli.run("dlq", "redrive", "--version");

    // Then
    assertThat(ofToken.out()).as(ofToken.toString()).isEqualTo(version.out());
    assertThat(ofRedrive.out()).as(ofRedrive.toString()).isEqualTo(version.out());
  }

  @Test
  void shouldNameAnUnknownOptionBeforeAMissingRequiredOneWhenBothAreWrong() {
    // When the operator mistypes the one required option
    Cli.Result token = cli.run("token", "--usr", "1");

    // Then the typo is named, with what was meant, rather than only the option it hid
    assertThat(token.exitCode()).as(token.toString()).isEqualTo(PaymentsCli.USAGE);
    assertThat(token.err()).containsPattern("Unknown options?: '--usr'").contains("--user");
    assertThat(token.err()).doesNotContain("Missing required option");
  }

  @Test
  void shouldNameAnUnknownOptionBeforeAMissingRequiredOneInEveryCommand() {
    // When
    Cli.Result reconcile = cli.run("reconcile", "--snce", "1h");
    Cli.Result replay = cli.run("replay", "--consumer", "payment-processor", "--to-earlist");
    Cli.Result redrive = cli.run("dlq", "redrive", "--al");

    // Then
    assertThat(reconcile.exitCode()).as(reconcile.toString()).isEqualTo(PaymentsCli.USAGE);
    assertThat(reconcile.err()).containsPattern("Unknown options?: '--snce'").contains("--since");
    assertThat(replay.exitCode()).as(replay.toString()).isEqualTo(PaymentsCli.USAGE);
    assertThat(replay.err())
        .containsPattern("Unknown options?: '--to-earlist'")
        .contains("--to-earliest");
    assertThat(redrive.exitCode()).as(redrive.toString()).isEqualTo(PaymentsCli.USAGE);
    assertThat(redrive.err()).containsPattern("Unknown options?: '--al'").contains("--all");
  }

  @Test
  void shouldStillNameAMissingRequiredOptionWhenNothingIsUnknown() {
    // When
    Cli.Result token = cli.run("token", "--role", "super_admin");

    // Then
    assertThat(token.exitCode()).as(token.toString()).isEqualTo(PaymentsCli.USAGE);
    assertThat(token.err()).contains("Missing required option: '--user=UUID'");
  }

  /** The lines of the "Commands:" section, each command's summary joined onto one line. */
  static List<String> commandSummaries(String help) {
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
