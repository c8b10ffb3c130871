package io.marketplace.payments.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedPostgresServerTest {

  @TempDir Path dataDir;

  @Test
  void shouldKeepDataWhenRestartedAndWhenStartedAgainOnTheSameDirectory() throws Exception {
    // Given a server with a database holding a row
    int port;
    try (EmbeddedPostgresServer server = EmbeddedPostgresServer.start(dataDir, 0)) {
      port = server.port();
      server.createDatabase("shop");
      server.createDatabase("shop");
      execute(server, "shop", "CREATE TABLE items (name text PRIMARY KEY)");
      execute(server, "shop", "INSERT INTO items VALUES ('lamp')");

      // When it restarts
      server.restart();

      // Then the row is still there, on the same port
      assertThat(server.port()).isEqualTo(port);
      assertThat(names(server, "shop")).containsExactly("lamp");
    }

    // And when a new server starts on the same directory, as after a restart of the process
    try (EmbeddedPostgresServer again = EmbeddedPostgresServer.start(dataDir, port)) {
      assertThat(names(again, "shop")).containsExactly("lamp");
    }
    assertThat(dataDir).isDirectory();
  }

  @Test
  void shouldKeepEveryCommittedTransactionWhenItsProcessesAreKilled() throws Exception {
    // Given a server that has acknowledged 2,000 commits, one row each, the last just now
    int commits = 2_000;
    try (EmbeddedPostgresServer server = EmbeddedPostgresServer.start(dataDir, 0)) {
      server.createDatabase("shop");
      execute(server, "shop", "CREATE TABLE items (name text PRIMARY KEY)");
      try (Connection connection = server.dataSource("shop").getConnection();
          var insert = connection.prepareStatement("INSERT INTO items VALUES (?)")) {
        for (int i = 0; i < commits; i++) {
          insert.setString(1, "item-" + i);
          insert.executeUpdate();
        }

        // When its postmaster and every backend die by SIGKILL, and it starts again
        server.kill();
      }
      assertThat(server.isRunning()).isFalse();
      server.restart();

      // Then every acknowledged commit is there after recovery
      assertThat(names(server, "shop")).hasSize(commits);
    }
  }

  @Test
  void shouldStopAnOrphanedServerWhenStartedOnItsDirectory() throws Exception {
    // Given a server left running on a directory by a process that died without stopping it
    int port;
    Path pgCtl;
    try (EmbeddedPostgresServer server = EmbeddedPostgresServer.start(dataDir, 0)) {
      port = server.port();
      server.createDatabase("shop");
      execute(server, "shop", "CREATE TABLE items (name text PRIMARY KEY)");
      execute(server, "shop", "INSERT INTO items VALUES ('lamp')");
      long pid = Long.parseLong(Files.readAllLines(dataDir.resolve("postmaster.pid")).getFirst());
      pgCtl =
          Path.of(ProcessHandle.of(pid).orElseThrow().info().command().orElseThrow())
              .resolveSibling("pg_ctl");
    }
    List<String> command = new ArrayList<>();
    if ("root".equals(System.getProperty("user.name"))) {
      command.addAll(List.of("unshare", "-U")); // as zonky does: PostgreSQL refuses to run as root
    }
    command.addAll(
        List.of(
            pgCtl.toString(), "-D", dataDir.toString(), "-o", "-p " + port + " -F", "-w", "start"));
    Process orphanStart =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    assertThat(orphanStart.waitFor()).isZero();

    // When a server starts on that directory
    try (EmbeddedPostgresServer server = EmbeddedPostgresServer.start(dataDir, port)) {

      // Then it has stopped the orphan and serves the same data
      assertThat(names(server, "shop")).containsExactly("lamp");
    }
  }

  @Test
  void shouldInitialiseTheDirectoryAgainWhenItsFirstStartWasKilledDuringInitdb() throws Exception {
    // Given the first start on a directory, its initdb killed (kill -9) half-way through (on a
    // machine fast enough for an initdb to end before it is seen, again on a new directory)
    Path directory = null;
    for (int attempt = 1; directory == null; attempt++) {
      Path candidate = dataDir.resolve("postgres-" + attempt);
      CompletableFuture<EmbeddedPostgresServer> first =
          CompletableFuture.supplyAsync(() -> EmbeddedPostgresServer.start(candidate, 0));
      Optional<ProcessHandle> initdb = initdbWriting(candidate, first, Duration.ofSeconds(60));
      if (initdb.isEmpty() && attempt < 5) {
        first.get(60, TimeUnit.SECONDS).close();
        continue;
      }
      initdb
          .orElseThrow(() -> new AssertionError("no initdb caught in 5 first starts"))
          .destroyForcibly();
      assertThatThrownBy(() -> first.get(60, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class);
      directory = candidate;
    }

    // When a server starts on that directory again
    try (EmbeddedPostgresServer server = EmbeddedPostgresServer.start(directory, 0)) {

      // Then it serves, as on a new directory
      server.createDatabase("shop");
      execute(server, "shop", "CREATE TABLE items (name text PRIMARY KEY)");
      execute(server, "shop", "INSERT INTO items VALUES ('lamp')");
      assertThat(names(server, "shop")).containsExactly("lamp");
    }
  }

  @Test
  void shouldLeaveNoServerRunningWhenItsStartFails() throws Exception {
    // Given a directory whose server starts but never becomes ready: its postgres database is gone
    try (EmbeddedPostgresServer server = EmbeddedPostgresServer.start(dataDir, 0)) {
      execute(server, "template1", "DROP DATABASE postgres");
    }

    // When a server starts on it, and gives up waiting for it
    assertThatThrownBy(() -> EmbeddedPostgresServer.start(dataDir, 0, Duration.ofSeconds(2)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("PostgreSQL did not start");

    // Then no PostgreSQL is left running on the directory (it removes its pid file as it ends)
    assertThat(dataDir.resolve("postmaster.pid")).doesNotExist();
  }

  @Test
  void shouldLeaveAnotherServerAloneWhenAStalePidFileNamesIt() throws Exception {
    // Given a server running on another directory, and this directory's pid file left behind by a
    // server long gone (a reboot), naming the pid the other server has now
    Path other = dataDir.resolve("other");
    Path directory = dataDir.resolve("this");
    EmbeddedPostgresServer.start(directory, 0).close();
    try (EmbeddedPostgresServer running = EmbeddedPostgresServer.start(other, 0)) {
      running.createDatabase("shop");
      execute(running, "shop", "CREATE TABLE items (name text PRIMARY KEY)");
      execute(running, "shop", "INSERT INTO items VALUES ('lamp')");
      Files.copy(other.resolve("postmaster.pid"), directory.resolve("postmaster.pid"));

      // When a server starts on this directory
      try (EmbeddedPostgresServer server = EmbeddedPostgresServer.start(directory, 0)) {

        // Then it serves, and the other server was not stopped
        server.createDatabase("shop");
        assertThat(names(running, "shop")).containsExactly("lamp");
      }
    }
  }

  @Test
  void shouldStartWhenAStalePidFileNamesAProcessThatIsNotPostgres() throws Exception {
    // Given a server whose every process died by SIGKILL (the OOM killer, a container killed),
    // its pid file left behind, and its pid since reused by a process that is no PostgreSQL
    int port;
    try (EmbeddedPostgresServer server = EmbeddedPostgresServer.start(dataDir, 0)) {
      port = server.port();
      server.createDatabase("shop");
      execute(server, "shop", "CREATE TABLE items (name text PRIMARY KEY)");
      execute(server, "shop", "INSERT INTO items VALUES ('lamp')");
      server.kill();
    }
    Path pidFile = dataDir.resolve("postmaster.pid");
    Process other = new ProcessBuilder("sleep", "120").start();
    try {
      List<String> lines = new ArrayList<>(Files.readAllLines(pidFile));
      lines.set(0, Long.toString(other.pid()));
      Files.write(pidFile, lines);

      // When a server starts on that directory
      try (EmbeddedPostgresServer server =
          EmbeddedPostgresServer.start(dataDir, port, Duration.ofSeconds(20))) {

        // Then it serves the same data, and the other process was left alone
        assertThat(names(server, "shop")).containsExactly("lamp");
        assertThat(other.isAlive()).isTrue();
      }
    } finally {
      other.destroyForcibly();
    }
  }

  @Test
  void shouldDeleteTheDataWhenClosedWithoutADirectory() {
    // Given a server started without a data directory
    EmbeddedPostgresServer server = EmbeddedPostgresServer.start(null, 0);
    Path temporary = server.dataDir();
    assertThat(temporary).isDirectory();

    // When it is closed
    server.close();

    // Then its temporary data is gone
    assertThat(Files.exists(temporary)).isFalse();
  }

  @Test
  void shouldNameThePortWhenThePortIsTaken() throws Exception {
    // Given another process listening on a port
    try (ServerSocket taken = new ServerSocket()) {
      taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      int port = taken.getLocalPort();

      // When PostgreSQL is asked to start on it, then it refuses with the port in the message
      assertThatThrownBy(() -> EmbeddedPostgresServer.start(dataDir, port))
          .isInstanceOf(PortInUseException.class)
          .hasMessageContaining(String.valueOf(port));
    }
  }

  @Test
  void shouldStartWithTheServerSettingsNamedInItsProperty() throws Exception {
    // Given a setting asked for through the system property
    System.setProperty(
        EmbeddedPostgresServer.SETTINGS_PROPERTY, "track_commit_timestamp=on, work_mem=8MB");
    try (EmbeddedPostgresServer server = EmbeddedPostgresServer.start(null, 0);
        Connection connection = connect(server, "postgres");
        Statement statement = connection.createStatement()) {
      // Then the running server has it
      assertThat(show(statement, "track_commit_timestamp")).isEqualTo("on");
      assertThat(show(statement, "work_mem")).isEqualTo("8MB");
    } finally {
      System.clearProperty(EmbeddedPostgresServer.SETTINGS_PROPERTY);
    }
  }

  @Test
  void shouldRefuseASettingWithoutItsValue() {
    assertThatThrownBy(() -> EmbeddedPostgresServer.settings("track_commit_timestamp"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("track_commit_timestamp");
  }

  private static String show(Statement statement, String setting) throws SQLException {
    try (ResultSet rows = statement.executeQuery("SHOW " + setting)) {
      rows.next();
      return rows.getString(1);
    }
  }

  @Test
  void shouldRejectADatabaseNameThatWouldNeedQuoting() {
    assertThatThrownBy(() -> EmbeddedPostgresServer.requireDatabaseName("shop; DROP"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  /** The initdb process writing {@code directory}, once it has written its configuration. */
  /**
   * The initdb writing {@code directory} once its configuration is written, or empty when the start
   * {@code starting} ended first (its initdb done before it was seen).
   */
  private static Optional<ProcessHandle> initdbWriting(
      Path directory, CompletableFuture<?> starting, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (starting.isDone()) {
        return Optional.empty();
      }
      if (Files.exists(directory.resolve("postgresql.conf"))) {
        Optional<ProcessHandle> initdb =
            ProcessHandle.allProcesses()
                .filter(p -> p.info().command().orElse("").endsWith("initdb"))
                .filter(
                    p ->
                        Arrays.asList(p.info().arguments().orElse(new String[0]))
                            .contains(directory.toString()))
                .findFirst();
        if (initdb.isPresent()) {
          return initdb;
        }
      }
      Thread.sleep(5);
    }
    throw new AssertionError("no initdb wrote " + directory + " within " + timeout);
  }

  private static void execute(EmbeddedPostgresServer server, String database, String sql)
      throws SQLException {
    try (Connection connection = connect(server, database);
        Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }

  private static List<String> names(EmbeddedPostgresServer server, String database)
      throws SQLException {
    try (Connection connection = connect(server, database);
        Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("SELECT name FROM items ORDER BY name")) {
      List<String> names = new ArrayList<>();
      while (rows.next()) {
        names.add(rows.getString(1));
      }
      return names;
    }
  }

  private static Connection connect(EmbeddedPostgresServer server, String database)
      throws SQLException {
    return DriverManager.getConnection(server.jdbcUrl(database), server.user(), server.password());
  }
}
