package io.marketplace.payments.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * What {@code ./payments up} says once the system runs: where its addresses are, and what to try
 * next, which must work as told from another shell.
 */
class UpReadyLineTest {

  @Test
  void shouldSuggestTheDemoAsItIsWhenTheAddressesAreWhereTheOtherCommandsReadThem() {
    // When
    String line = UpCommand.readyLine(14.2, Path.of(".payments", "env"));

    // Then
    assertThat(line)
        .isEqualTo(
            "ready in 14.2 s; addresses written to .payments/env. Try ./payments demo. Ctrl-C"
                + " stops.");
  }

  /**
   * The other commands read the repository's {@code .payments/env} only: after {@code --data-dir},
   * "Try ./payments demo" alone failed with "missing required environment variable API_URL".
   */
  @Test
  void shouldSayHowTheOtherCommandsReadTheAddressesOfAnotherDataDirectory() {
    // Given
    Path envFile = Path.of("/tmp/walkthrough-stack/env");

    // When
    String line = UpCommand.readyLine(14.2, envFile);

    // Then the line names the file to read, by its absolute path, before the demo
    assertThat(line)
        .startsWith("ready in 14.2 s; addresses written to /tmp/walkthrough-stack/env,")
        .contains("set -a; . /tmp/walkthrough-stack/env; set +a first, then try ./payments demo");
  }
}
