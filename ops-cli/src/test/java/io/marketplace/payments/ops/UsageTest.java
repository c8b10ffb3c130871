package io.marketplace.payments.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What {@code payments} says about itself. */
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
        .containsExactly("token", "replay", "lag", "dlq", "reconcile");
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
