package io.marketplace.payments.testsupport;

import io.marketplace.payments.common.db.Migrations;
import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.Topic;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.embedded.EmbeddedKafka;
import io.marketplace.payments.embedded.EmbeddedPostgresServer;
import io.marketplace.payments.embedded.KafkaTopics;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;

/**
 * The infrastructure of a test JVM: one real Kafka broker and one real PostgreSQL, each started on
 * first use, shared by every test of the module, and stopped when the JVM exits. Their data lives
 * in temporary directories. Tests isolate themselves with {@link #freshDatabase()} and {@link
 * #freshTopics()} instead of cleaning up after each other.
 *
 * <p>A failure test may {@link EmbeddedKafka#stop() stop} and {@link EmbeddedKafka#restart()
 * restart} the broker or the database; it must leave them running, as the next test expects them.
 */
public final class TestInfra {

  /** Migrated once per JVM; every fresh database is a copy of it. */
  static final String TEMPLATE_DATABASE = "payments_template";

  private static final AtomicLong SEQUENCE = new AtomicLong();
  private static final Object KAFKA_LOCK = new Object();
  private static final Object POSTGRES_LOCK = new Object();
  private static final Object DATABASES_LOCK = new Object();

  private static volatile EmbeddedKafka kafka;
  private static Path kafkaDir;
  private static volatile EmbeddedPostgresServer postgres;
  private static boolean templateMigrated;

  // TODO: the Stripe emulator joins here once the stripe-emulator module has its server
  // (TestInfra.stripe(): one emulator per JVM, started lazily like the broker).

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(TestInfra::stopAll, "test-infra-shutdown"));
  }

  private TestInfra() {}

  /** The broker of this JVM, started on first use. */
  public static EmbeddedKafka kafka() {
    EmbeddedKafka started = kafka;
    if (started != null) {
      return started;
    }
    synchronized (KAFKA_LOCK) {
      if (kafka == null) {
        kafkaDir = temporaryDirectory("test-kafka-");
        kafka = EmbeddedKafka.start(kafkaDir, 0);
      }
      return kafka;
    }
  }

  /** The PostgreSQL server of this JVM, started on first use. */
  public static EmbeddedPostgresServer postgres() {
    EmbeddedPostgresServer started = postgres;
    if (started != null) {
      return started;
    }
    synchronized (POSTGRES_LOCK) {
      if (postgres == null) {
        postgres = EmbeddedPostgresServer.start(null, 0);
      }
      return postgres;
    }
  }

  /**
   * A new database with every migration applied, for one test. Migrations run once per JVM into a
   * template database; each call copies it, which takes a fraction of a second.
   */
  public static TestDatabase freshDatabase() {
    EmbeddedPostgresServer server = postgres();
    String name = uniqueName("test_");
    synchronized (DATABASES_LOCK) {
      if (!templateMigrated) {
        server.createDatabase(TEMPLATE_DATABASE);
        Migrations.migrate(server.dataSource(TEMPLATE_DATABASE));
        templateMigrated = true;
      }
      // the copy needs the template to have no sessions: Flyway closed its own, and no one else
      // connects to it
      try (Connection connection = server.dataSource("postgres").getConnection();
          Statement statement = connection.createStatement()) {
        statement.execute("CREATE DATABASE " + name + " TEMPLATE " + TEMPLATE_DATABASE);
      } catch (SQLException e) {
        throw new IllegalStateException("cannot create database " + name, e);
      }
    }
    return new TestDatabase(name, server.jdbcUrl(name), server.user(), server.password());
  }

  /**
   * A set of topics of its own for one test, every one created on the broker: the system's topics
   * under a unique prefix ({@code t<n>.stripe.events.v1}, ...), with their partition counts.
   */
  public static Topics freshTopics() {
    Topics topics = Topics.withPrefix(uniqueName("t") + ".");
    createTopics(topics);
    return topics;
  }

  /**
   * Creates every topic of {@code topics} that is missing on the broker, with the settings of
   * production ({@link Topics#configs()}), and waits for leaders.
   */
  public static void createTopics(Topics topics) {
    Map<String, Integer> partitions = new LinkedHashMap<>();
    for (Topic topic : topics.all()) {
      partitions.put(topic.name(), topic.partitions());
    }
    KafkaTopics.createTopics(kafka().bootstrapServers(), partitions, Topics.configs());
  }

  /**
   * Deletes {@code topic} and creates it again, empty, with the settings of production: what a
   * purge, a failover to another cluster, or a wiped local broker leaves, where offsets restart at
   * 0. Returns once the new topic has leaders.
   */
  public static void recreateTopic(Topic topic) {
    deleteTopic(topic);
    KafkaTopics.createTopics(
        kafka().bootstrapServers(), Map.of(topic.name(), topic.partitions()), Topics.configs());
  }

  /**
   * Deletes {@code topic}, as an operator's mistake might; returns once the cluster lists it no
   * more.
   */
  public static void deleteTopic(Topic topic) {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka().bootstrapServers()))) {
      admin.deleteTopics(List.of(topic.name())).all().get(20, TimeUnit.SECONDS);
      Await.until(
          java.time.Duration.ofSeconds(20),
          topic.name() + " deleted",
          () -> {
            try {
              return !admin.listTopics().names().get(5, TimeUnit.SECONDS).contains(topic.name());
            } catch (ExecutionException | TimeoutException e) {
              return false;
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              return false;
            }
          });
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("could not delete " + topic.name(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * Sets a topic's {@code max.message.bytes}: a tiny value makes the broker refuse every record of
   * it ({@code RecordTooLargeException}), as it refuses one too large for the topic in production;
   * {@link Topics#MAX_MESSAGE_BYTES} sets it back.
   */
  public static void setMaxMessageBytes(String topic, int bytes) {
    setTopicConfig(topic, TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(bytes));
  }

  /** Sets one config of a topic, and returns once the broker reports it in effect. */
  public static void setTopicConfig(String topic, String name, String value) {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka().bootstrapServers()))) {
      admin
          .incrementalAlterConfigs(
              Map.of(
                  new ConfigResource(ConfigResource.Type.TOPIC, topic),
                  List.of(
                      new AlterConfigOp(new ConfigEntry(name, value), AlterConfigOp.OpType.SET))))
          .all()
          .get(20, TimeUnit.SECONDS);
      // the controller has it; the broker applies it from the metadata log a moment later, and a
      // produce before then still sees the old value
      ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
      Await.until(
          java.time.Duration.ofSeconds(20),
          name + "=" + value + " in effect on " + topic,
          () -> {
            try {
              ConfigEntry entry =
                  admin
                      .describeConfigs(List.of(resource))
                      .all()
                      .get(5, TimeUnit.SECONDS)
                      .get(resource)
                      .get(name);
              return entry != null && value.equals(entry.value());
            } catch (ExecutionException | TimeoutException e) {
              return false;
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              return false;
            }
          });
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("could not set " + name + " of " + topic, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** What a service under test is given to reach the broker with {@code topics}. */
  public static KafkaConfig kafkaConfig(Topics topics) {
    return new KafkaConfig(kafka().bootstrapServers(), topics);
  }

  /** A client of the broker for producing and asserting on records; close it after the test. */
  public static KafkaTestClient kafkaClient() {
    return new KafkaTestClient(kafka().bootstrapServers());
  }

  /**
   * {@code prefix} followed by a number unique in this JVM: for consumer groups, client ids and
   * anything else tests must not share. Lower-case letters, digits and _ in, the same out.
   */
  public static String uniqueName(String prefix) {
    return prefix + SEQUENCE.incrementAndGet();
  }

  private static void stopAll() {
    EmbeddedKafka broker = kafka;
    if (broker != null) {
      broker.close();
      deleteRecursively(kafkaDir);
    }
    EmbeddedPostgresServer server = postgres;
    if (server != null) {
      server.close();
    }
  }

  private static Path temporaryDirectory(String prefix) {
    try {
      return Files.createTempDirectory(prefix);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a temporary directory", e);
    }
  }

  private static void deleteRecursively(Path root) {
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
      // a temporary directory left behind is not worth failing a finished test run for
    }
  }
}
