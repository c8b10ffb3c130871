package io.marketplace.payments.embedded;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.properties.MetaPropertiesEnsemble;
import org.apache.kafka.metadata.storage.Formatter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real single-node Kafka in this JVM: one KRaft process that is both broker and controller, for
 * tests and the local stack, never for a service's runtime.
 *
 * <p>The log directory is formatted only the first time, so a persistent directory keeps its
 * topics, records and committed offsets across {@link #stop()}/{@link #restart()} and across
 * process restarts. The controller quorum is static (one voter, {@code controller.quorum.voters}),
 * so the controller port is not written into the log and may differ from one process to the next;
 * the broker port is the caller's.
 *
 * <p>Everything is sized for one node on a small machine: replication factor 1 everywhere, one
 * partition for each internal topic, few threads, small segments and buffers. Topics are never
 * created implicitly: see {@link KafkaTopics}.
 */
public final class EmbeddedKafka implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(EmbeddedKafka.class);

  private static final String HOST = "127.0.0.1";
  private static final int NODE_ID = 1;
  private static final String BROKER_LISTENER = "PLAINTEXT";
  private static final String CONTROLLER_LISTENER = "CONTROLLER";
  private static final String SASL_LISTENER = "CLIENTS";
  private static final ScramMechanism SCRAM = ScramMechanism.SCRAM_SHA_512;
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
  private static final int MIB = 1024 * 1024;

  private final Path dataDir;
  private final int port;
  private final Map<String, String> saslUsers;
  private final int saslPort;
  private int controllerPort;
  private KafkaRaftServer server;

  private EmbeddedKafka(Path dataDir, int port, Map<String, String> saslUsers) {
    this.dataDir = dataDir;
    this.port = port;
    this.saslUsers = Map.copyOf(saslUsers);
    this.saslPort = saslUsers.isEmpty() ? 0 : Ports.freeOtherThan(port);
  }

  /**
   * Starts a broker on {@code port} (0 picks a free one) with its log under {@code dataDir},
   * formatting the directory only when it is not formatted yet. Returns once the broker accepts
   * requests.
   *
   * @throws PortInUseException when {@code port} is taken by another process
   */
  public static EmbeddedKafka start(Path dataDir, int port) {
    return start(dataDir, port, Map.of());
  }

  /**
   * Starts a broker that authorizes its clients, for tests of what a principal may do: as {@link
   * #start(Path, int)}, with the ACL authorizer ({@code StandardAuthorizer}, nothing allowed
   * without an ACL) and a second listener, {@link #saslBootstrapServers()}, where the clients log
   * in with SCRAM-SHA-512 as one of {@code users} (name to password), as in production. The
   * plaintext listener stays for the broker itself and for administration: its anonymous principal
   * is a super user.
   */
  public static EmbeddedKafka startAuthorizing(Path dataDir, Map<String, String> users) {
    if (users.isEmpty()) {
      throw new IllegalArgumentException("an authorizing broker needs at least one user");
    }
    EmbeddedKafka kafka = start(dataDir, 0, users);
    kafka.addScramUsers();
    return kafka;
  }

  private static EmbeddedKafka start(Path dataDir, int port, Map<String, String> saslUsers) {
    Objects.requireNonNull(dataDir, "dataDir");
    if (port < 0 || port > 65_535) {
      throw new IllegalArgumentException("not a TCP port: " + port);
    }
    try {
      Files.createDirectories(dataDir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the Kafka data directory " + dataDir, e);
    }
    if (port != 0) {
      Ports.requireFree("Kafka", port);
    }
    EmbeddedKafka kafka =
        new EmbeddedKafka(dataDir.toAbsolutePath(), port == 0 ? Ports.free() : port, saslUsers);
    kafka.formatIfNeeded();
    kafka.startServer();
    return kafka;
  }

  /** {@code host:port} of the broker, for {@code bootstrap.servers}. */
  public String bootstrapServers() {
    return HOST + ":" + port;
  }

  public int port() {
    return port;
  }

  /**
   * {@code host:port} of the SASL (SCRAM-SHA-512) listener of a broker started with {@link
   * #startAuthorizing}.
   */
  public String saslBootstrapServers() {
    if (saslPort == 0) {
      throw new IllegalStateException("this broker has no SASL listener");
    }
    return HOST + ":" + saslPort;
  }

  public Path dataDir() {
    return dataDir;
  }

  public synchronized boolean isRunning() {
    return server != null;
  }

  /** Shuts the broker down cleanly; its data stays. Does nothing when it is already stopped. */
  public synchronized void stop() {
    if (server == null) {
      return;
    }
    long started = System.nanoTime();
    try {
      server.shutdown();
      server.awaitShutdown();
    } finally {
      server = null;
    }
    log.info("Kafka on {} stopped in {} ms", bootstrapServers(), elapsedMillis(started));
  }

  /** Starts the broker again on the same port with the same data, stopping it first if it runs. */
  public synchronized void restart() {
    stop();
    startServer();
  }

  @Override
  public void close() {
    stop();
  }

  @Override
  public String toString() {
    return "EmbeddedKafka[" + bootstrapServers() + ", " + dataDir + "]";
  }

  private synchronized void startServer() {
    Ports.requireFree("Kafka", port);
    if (controllerPort == 0 || !Ports.isFree(controllerPort)) {
      controllerPort = Ports.freeOtherThan(port);
    }
    long started = System.nanoTime();
    KafkaRaftServer starting = new KafkaRaftServer(new KafkaConfig(config(), false), Time.SYSTEM);
    try {
      starting.startup();
      awaitReady();
    } catch (RuntimeException e) {
      shutDownQuietly(starting);
      throw new IllegalStateException(
          "Kafka did not start on port " + port + " with data in " + dataDir + ": " + e, e);
    }
    server = starting;
    log.info("Kafka on {} started in {} ms", bootstrapServers(), elapsedMillis(started));
  }

  private void formatIfNeeded() {
    if (Files.exists(dataDir.resolve(MetaPropertiesEnsemble.META_PROPERTIES_NAME))) {
      return;
    }
    String clusterId = Uuid.randomUuid().toString();
    try {
      new Formatter()
          .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
          .setNodeId(NODE_ID)
          .setClusterId(clusterId)
          .setDirectories(List.of(dataDir.toString()))
          .setMetadataLogDirectory(dataDir.toString())
          .setControllerListenerName(CONTROLLER_LISTENER)
          .setIgnoreFormatted(true)
          .run();
    } catch (Exception e) {
      throw new IllegalStateException("cannot format the Kafka data directory " + dataDir, e);
    }
    log.info("Formatted {} for Kafka cluster {}", dataDir, clusterId);
  }

  /** Waits until the broker answers metadata requests and lists itself as a live node. */
  private void awaitReady() {
    Map<String, Object> adminConfig =
        Map.of(
            AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
            AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000,
            AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10_000);
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    Exception lastFailure = null;
    try (Admin admin = Admin.create(adminConfig)) {
      while (deadline - System.nanoTime() > 0) {
        try {
          var nodes =
              admin
                  .describeCluster(new DescribeClusterOptions().timeoutMs(5_000))
                  .nodes()
                  .get(10, TimeUnit.SECONDS);
          if (!nodes.isEmpty()) {
            return;
          }
        } catch (ExecutionException | TimeoutException e) {
          lastFailure = e;
        }
        Thread.sleep(50);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for the broker", e);
    }
    throw new IllegalStateException(
        "the broker did not become ready within " + READY_TIMEOUT.toSeconds() + " s", lastFailure);
  }

  private Map<String, String> config() {
    // values as text, the way a server.properties file gives them: Kafka parses each to its type
    Map<String, String> config = new HashMap<>();
    // one process, both roles, a static quorum of itself
    config.put("process.roles", "broker,controller");
    config.put("node.id", String.valueOf(NODE_ID));
    config.put("controller.quorum.voters", NODE_ID + "@" + HOST + ":" + controllerPort);
    config.put("controller.listener.names", CONTROLLER_LISTENER);
    config.put(
        "listeners",
        BROKER_LISTENER
            + "://"
            + HOST
            + ":"
            + port
            + ","
            + CONTROLLER_LISTENER
            + "://"
            + HOST
            + ":"
            + controllerPort);
    config.put("advertised.listeners", BROKER_LISTENER + "://" + HOST + ":" + port);
    config.put(
        "listener.security.protocol.map",
        BROKER_LISTENER + ":PLAINTEXT," + CONTROLLER_LISTENER + ":PLAINTEXT");
    config.put("inter.broker.listener.name", BROKER_LISTENER);
    config.put("log.dirs", dataDir.toString());
    if (saslPort != 0) {
      authorizing(config);
    }

    // one replica of everything, and no waiting for members that will never come
    config.put("default.replication.factor", "1");
    config.put("min.insync.replicas", "1");
    config.put("offsets.topic.replication.factor", "1");
    config.put("offsets.topic.num.partitions", "1");
    config.put("transaction.state.log.replication.factor", "1");
    config.put("transaction.state.log.min.isr", "1");
    config.put("transaction.state.log.num.partitions", "1");
    config.put("share.coordinator.state.topic.replication.factor", "1");
    config.put("share.coordinator.state.topic.min.isr", "1");
    config.put("share.coordinator.state.topic.num.partitions", "1");
    config.put("group.initial.rebalance.delay.ms", "0");
    config.put("auto.create.topics.enable", "false");
    // committed offsets kept as long as stripe.events.v1 keeps records, as docs/deploy.md asks
    config.put("offsets.retention.minutes", "43200");
    config.put("auto.leader.rebalance.enable", "false");
    config.put("num.partitions", "1");

    // a small footprint: few threads, small segments, indexes and cleaner buffers
    config.put("num.network.threads", "2");
    config.put("num.io.threads", "2");
    config.put("background.threads", "2");
    config.put("num.recovery.threads.per.data.dir", "1");
    config.put("num.replica.fetchers", "1");
    config.put("group.coordinator.threads", "1");
    config.put("share.coordinator.threads", "1");
    config.put("log.cleaner.threads", "1");
    config.put("log.cleaner.dedupe.buffer.size", String.valueOf(4 * MIB));
    config.put("log.cleaner.io.buffer.size", String.valueOf(MIB / 4));
    config.put("log.segment.bytes", String.valueOf(16 * MIB));
    config.put("log.index.size.max.bytes", String.valueOf(MIB));
    config.put("offsets.topic.segment.bytes", String.valueOf(16 * MIB));
    config.put("transaction.state.log.segment.bytes", String.valueOf(16 * MIB));
    return config;
  }

  /** The SASL (SCRAM-SHA-512) listener and the ACL authorizer of {@link #startAuthorizing}. */
  private void authorizing(Map<String, String> config) {
    String listener = SASL_LISTENER + "://" + HOST + ":" + saslPort;
    config.put("listeners", config.get("listeners") + "," + listener);
    config.put("advertised.listeners", config.get("advertised.listeners") + "," + listener);
    config.put(
        "listener.security.protocol.map",
        config.get("listener.security.protocol.map") + "," + SASL_LISTENER + ":SASL_PLAINTEXT");
    config.put("sasl.enabled.mechanisms", SCRAM.mechanismName());
    config.put(
        "listener.name."
            + SASL_LISTENER.toLowerCase(Locale.ROOT)
            + "."
            + SCRAM.mechanismName().toLowerCase(Locale.ROOT)
            + ".sasl.jaas.config",
        "org.apache.kafka.common.security.scram.ScramLoginModule required;");
    config.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
    // the broker and controller talk over the plaintext listeners as ANONYMOUS
    config.put("super.users", "User:ANONYMOUS");
  }

  /** Stores the SCRAM credentials of the users, over the plaintext listener. */
  private void addScramUsers() {
    List<UserScramCredentialAlteration> users = new ArrayList<>();
    saslUsers.forEach(
        (user, password) ->
            users.add(
                new UserScramCredentialUpsertion(
                    user, new ScramCredentialInfo(SCRAM, 4096), password)));
    try (Admin admin =
        Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers()))) {
      admin.alterUserScramCredentials(users).all().get(30, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("cannot store the SCRAM users of " + this, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while storing SCRAM users", e);
    }
  }

  private static void shutDownQuietly(KafkaRaftServer server) {
    try {
      server.shutdown();
      server.awaitShutdown();
    } catch (RuntimeException e) {
      log.warn("Kafka did not shut down cleanly after a failed start", e);
    }
  }

  private static long elapsedMillis(long startedNanos) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedNanos);
  }
}
