package io.marketplace.payments.embedded;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates topics deliberately on a single-node broker (the embedded one never creates them on first
 * use). Used by the test fixtures and by the local stack, which pass their typed topics as names
 * and partition counts: this module does not know the system's topic registry.
 */
public final class KafkaTopics {

  private static final Logger log = LoggerFactory.getLogger(KafkaTopics.class);
  private static final short REPLICATION_FACTOR = 1;
  private static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
  private static final TimeUnit MILLIS = TimeUnit.MILLISECONDS;

  private KafkaTopics() {}

  /** {@link #createTopics(String, Map, Map, Duration)} with the broker's topic defaults. */
  public static void createTopics(String bootstrapServers, Map<String, Integer> partitionsByTopic) {
    createTopics(bootstrapServers, partitionsByTopic, Map.of(), DEFAULT_TIMEOUT);
  }

  /** {@link #createTopics(String, Map, Map, Duration)} waiting at most 30 s. */
  public static void createTopics(
      String bootstrapServers,
      Map<String, Integer> partitionsByTopic,
      Map<String, String> configs) {
    createTopics(bootstrapServers, partitionsByTopic, configs, DEFAULT_TIMEOUT);
  }

  /** {@link #createTopics(String, Map, Map, Duration)} with the broker's topic defaults. */
  public static void createTopics(
      String bootstrapServers, Map<String, Integer> partitionsByTopic, Duration timeout) {
    createTopics(bootstrapServers, partitionsByTopic, Map.of(), timeout);
  }

  /**
   * Creates each topic that does not exist yet with its partition count, replication factor 1 and
   * {@code configs} (topic settings such as {@code max.message.bytes}), then waits until every
   * partition of every topic has a leader, so the next produce or fetch succeeds at once. Topics
   * that already exist keep their partitions, and get {@code configs} set: a data directory kept
   * from an older version takes the settings of this one. Running it again is harmless.
   *
   * @throws IllegalStateException when the topics are not ready within {@code timeout}
   */
  public static void createTopics(
      String bootstrapServers,
      Map<String, Integer> partitionsByTopic,
      Map<String, String> configs,
      Duration timeout) {
    if (partitionsByTopic.isEmpty()) {
      return;
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    Map<String, Object> config =
        Map.of(
            AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
            bootstrapServers,
            AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
            (int) timeout.toMillis());
    try (Admin admin = Admin.create(config)) {
      Set<String> existing = admin.listTopics().names().get(remainingMillis(deadline), MILLIS);
      List<NewTopic> missing = new ArrayList<>();
      List<String> kept = new ArrayList<>();
      partitionsByTopic.forEach(
          (name, partitions) -> {
            if (existing.contains(name)) {
              kept.add(name);
            } else {
              missing.add(new NewTopic(name, partitions, REPLICATION_FACTOR).configs(configs));
            }
          });
      setConfigs(admin, kept, configs, deadline);
      if (!missing.isEmpty()) {
        var futures = admin.createTopics(missing).values();
        for (var entry : futures.entrySet()) {
          try {
            entry.getValue().get(remainingMillis(deadline), MILLIS);
          } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
              throw e;
            }
          }
        }
      }
      awaitLeaders(admin, partitionsByTopic, deadline);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(
          "cannot create topics " + partitionsByTopic.keySet() + " on " + bootstrapServers, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while creating topics", e);
    }
  }

  private static void setConfigs(
      Admin admin, List<String> topics, Map<String, String> configs, long deadline)
      throws InterruptedException, ExecutionException, TimeoutException {
    if (topics.isEmpty() || configs.isEmpty()) {
      return;
    }
    List<AlterConfigOp> set =
        configs.entrySet().stream()
            .map(
                entry ->
                    new AlterConfigOp(
                        new ConfigEntry(entry.getKey(), entry.getValue()),
                        AlterConfigOp.OpType.SET))
            .toList();
    Map<ConfigResource, Collection<AlterConfigOp>> changes = new HashMap<>();
    for (String topic : topics) {
      changes.put(new ConfigResource(ConfigResource.Type.TOPIC, topic), set);
    }
    admin.incrementalAlterConfigs(changes).all().get(remainingMillis(deadline), MILLIS);
  }

  private static void awaitLeaders(
      Admin admin, Map<String, Integer> partitionsByTopic, long deadline)
      throws InterruptedException, ExecutionException, TimeoutException {
    while (true) {
      try {
        Map<String, TopicDescription> descriptions =
            admin
                .describeTopics(partitionsByTopic.keySet())
                .allTopicNames()
                .get(remainingMillis(deadline), MILLIS);
        if (descriptions.values().stream().allMatch(KafkaTopics::allPartitionsLed)) {
          warnAboutPartitionCounts(descriptions, partitionsByTopic);
          awaitLeadersServing(admin, descriptions, deadline);
          return;
        }
      } catch (ExecutionException e) {
        // a topic just created may not be in the broker's metadata yet
        if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
          throw e;
        }
      }
      if (System.nanoTime() - deadline > 0) {
        throw new TimeoutException("partitions without a leader: " + partitionsByTopic.keySet());
      }
      Thread.sleep(50);
    }
  }

  /**
   * The metadata names a leader a moment before the leader serves its partition; listing offsets is
   * answered by the leader itself, and the admin client retries it until it is.
   */
  private static void awaitLeadersServing(
      Admin admin, Map<String, TopicDescription> descriptions, long deadline)
      throws InterruptedException, ExecutionException, TimeoutException {
    Map<TopicPartition, OffsetSpec> partitions = new HashMap<>();
    descriptions.forEach(
        (name, description) ->
            description
                .partitions()
                .forEach(
                    partition ->
                        partitions.put(
                            new TopicPartition(name, partition.partition()), OffsetSpec.latest())));
    admin.listOffsets(partitions).all().get(remainingMillis(deadline), MILLIS);
  }

  private static boolean allPartitionsLed(TopicDescription description) {
    return description.partitions().stream()
        .allMatch(partition -> partition.leader() != null && !partition.leader().isEmpty());
  }

  private static void warnAboutPartitionCounts(
      Map<String, TopicDescription> descriptions, Map<String, Integer> wanted) {
    descriptions.forEach(
        (name, description) -> {
          int actual = description.partitions().size();
          if (actual != wanted.get(name)) {
            log.warn(
                "Topic {} exists with {} partitions, not {}: kept as it is",
                name,
                actual,
                wanted.get(name));
          }
        });
  }

  private static long remainingMillis(long deadlineNanos) {
    return Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime()));
  }
}
