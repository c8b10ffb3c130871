package io.marketplace.payments.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A second stack on the data directory of a running one (on other ports) is refused with one line
 * naming the running stack's pid, before it touches the broker's or PostgreSQL's files; the running
 * stack goes on serving. (A stack killed with {@code kill -9} leaves no lock behind: {@code
 * UpRestartTest} starts again on its directory.)
 */
class DataDirInUseTest {

  @TempDir Path dataDir;

  @Test
  void shouldRefuseASecondStackOnTheDataDirectoryOfARunningOne() throws Exception {
    // Given a stack running on the data directory
    try (LocalStack running = LocalStack.start(dataDir, StackPorts.anyFree(), line -> {})) {

      // When a second one starts on it, on other ports
      // Then it is refused, naming the running one
      assertThatThrownBy(() -> LocalStack.start(dataDir, StackPorts.anyFree(), line -> {}))
          .isInstanceOf(DataDirLock.InUseException.class)
          .hasMessage(
              "data directory "
                  + dataDir
                  + " is in use by a running ./payments up (pid "
                  + ProcessHandle.current().pid()
                  + "): stop it first, or choose another with --data-dir");

      // and so is a third, the second's refusal having left the running one's lock in place
      assertThatThrownBy(() -> LocalStack.start(dataDir, StackPorts.anyFree(), line -> {}))
          .isInstanceOf(DataDirLock.InUseException.class);

      // and the running one still serves its API
      try (HttpClient http = HttpClient.newHttpClient()) {
        HttpResponse<String> categories =
            http.send(
                HttpRequest.newBuilder(
                        URI.create(running.env().get("API_URL") + "/api/marketplace/categories"))
                    .timeout(Duration.ofSeconds(10))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(categories.statusCode()).isEqualTo(200);
      }
    }

    // When it has stopped, then the directory is free again
    DataDirLock.acquire(dataDir).close();
  }
}
