package io.marketplace.payments.ops.replay;

import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.ops.OperatorError;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsResult;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsSpec;
import org.apache.kafka.clients.admin.ListGroupsOptions;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/** What the Kafka Admin API tells and changes about consumer groups and their offsets. */
public final class ConsumerGroups implements AutoCloseable {

  private static final Duration POLL = Duration.ofMillis(200);

  private final Admin admin;
  private final KafkaConfig kafka;
  private final String bootstrapServers;
  private final Duration timeout;
  private KafkaConsumer<byte[], byte[]> reader;

  /** Each request waits at most {@code timeout} for Kafka's answer. */
  public ConsumerGroups(KafkaConfig kafka, Duration timeout) {
    this.admin = Admin.create(kafka.admin("payments-cli"));
    this.kafka = kafka;
    this.bootstrapServers = kafka.bootstrapServers();
    this.timeout = timeout;
  }

  /** The members of {@code group} now; none for an empty or unknown group. */
  public List<MemberDescription> liveMembers(String group) {
    try {
      ConsumerGroupDescription description =
          get(admin.describeConsumerGroups(List.of(group)).describedGroups().get(group));
      return List.copyOf(description.members());
    } catch (OperatorError e) {
      if (e.getCause() instanceof GroupIdNotFoundException) {
        return List.of();
      }
      throw e;
    }
  }

  /** The committed offset of each partition {@code group} has committed; empty when none. */
  public Map<TopicPartition, Long> committed(String group) {
    Map<TopicPartition, OffsetAndMetadata> offsets;
    try {
      offsets = get(admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata());
    } catch (OperatorError e) {
      if (e.getCause() instanceof GroupIdNotFoundException) {
        return Map.of();
      }
      throw e;
    }
    Map<TopicPartition, Long> committed = new HashMap<>();
    offsets.forEach(
        (partition, offset) -> {
          if (offset != null) {
            committed.put(partition, offset.offset());
          }
        });
    return committed;
  }

  /**
   * {@link #committed}, refusing a group that has none: unknown (or it never consumed), or one the
   * cluster knows that has committed nothing yet, such as a running worker that has not applied its
   * first record: it reads from the earliest record already. {@code consequence} ends that refusal:
   * what it means for the command.
   */
  public Map<TopicPartition, Long> requireCommitted(String group, String consequence) {
    Map<TopicPartition, Long> committed = committed(group);
    if (committed.isEmpty()) {
      Set<String> known = knownGroups();
      if (known.contains(group)) {
        throw new OperatorError(
            "consumer group "
                + group
                + " has committed no offset yet: its workers read from the earliest record; "
                + consequence);
      }
      throw new OperatorError(
          "consumer group "
              + group
              + " has no committed offsets: unknown, or it never consumed. Known consumer groups: "
              + (known.isEmpty() ? "none" : String.join(", ", known)));
    }
    return committed;
  }

  /** Every consumer group the cluster knows, by name. */
  public SortedSet<String> knownGroups() {
    Collection<GroupListing> groups =
        get(admin.listGroups(ListGroupsOptions.forConsumerGroups()).all());
    SortedSet<String> names = new TreeSet<>();
    groups.forEach(g -> names.add(g.groupId()));
    return names;
  }

  /**
   * Whether {@code group} reads {@code topic}: it has committed an offset on it, or a live member
   * is assigned a partition of it (a worker started on a topic that has had no record yet).
   */
  public boolean reads(String group, String topic) {
    return committed(group).keySet().stream().anyMatch(p -> p.topic().equals(topic))
        || liveMembers(group).stream().anyMatch(m -> assigned(m, topic));
  }

  /**
   * The topics {@code group} reads: those it has committed an offset on, and those its live members
   * are assigned (a worker that has not applied its first record yet has committed nothing).
   */
  public Set<String> topicsRead(String group) {
    Set<String> topics = new HashSet<>();
    committed(group).keySet().forEach(p -> topics.add(p.topic()));
    liveMembers(group)
        .forEach(m -> m.assignment().topicPartitions().forEach(p -> topics.add(p.topic())));
    return topics;
  }

  /** The consumer groups of the cluster that {@link #reads} {@code topic}, by name. */
  public SortedSet<String> readersOf(String topic) {
    SortedSet<String> known = knownGroups();
    SortedSet<String> readers = new TreeSet<>();
    if (known.isEmpty()) {
      return readers;
    }
    Map<String, ListConsumerGroupOffsetsSpec> specs = new HashMap<>();
    known.forEach(group -> specs.put(group, new ListConsumerGroupOffsetsSpec()));
    ListConsumerGroupOffsetsResult offsets = admin.listConsumerGroupOffsets(specs);
    Map<String, KafkaFuture<ConsumerGroupDescription>> described =
        admin.describeConsumerGroups(known).describedGroups();
    for (String group : known) {
      // one group gone or refused meanwhile does not hide the others
      Map<TopicPartition, OffsetAndMetadata> committed =
          orEmpty(() -> get(offsets.partitionsToOffsetAndMetadata(group)));
      if (committed.keySet().stream().anyMatch(p -> p.topic().equals(topic))) {
        readers.add(group);
        continue;
      }
      ConsumerGroupDescription description = orNull(() -> get(described.get(group)));
      if (description != null && description.members().stream().anyMatch(m -> assigned(m, topic))) {
        readers.add(group);
      }
    }
    return readers;
  }

  private static boolean assigned(MemberDescription member, String topic) {
    return member.assignment().topicPartitions().stream().anyMatch(p -> p.topic().equals(topic));
  }

  private static <T> Map<TopicPartition, T> orEmpty(
      java.util.function.Supplier<Map<TopicPartition, T>> lookup) {
    Map<TopicPartition, T> found = orNull(lookup);
    return found == null ? Map.of() : found;
  }

  private static <T> T orNull(java.util.function.Supplier<T> lookup) {
    try {
      return lookup.get();
    } catch (OperatorError e) {
      // a refusal about that group (gone, not authorized); Kafka not answering is not one
      if (e.getCause() instanceof org.apache.kafka.common.errors.ApiException
          && !OperatorError.isKafkaTimeout(e.getCause())) {
        return null;
      }
      throw e;
    }
  }

  /** Whether the cluster has {@code topic}. */
  public boolean hasTopic(String topic) {
    try {
      get(admin.describeTopics(List.of(topic)).allTopicNames());
      return true;
    } catch (OperatorError e) {
      if (e.getCause() instanceof UnknownTopicOrPartitionException) {
        return false;
      }
      throw e;
    }
  }

  /** Whether {@code error}, from a request of this class, is Kafka not answering in time. */
  public static boolean noAnswer(OperatorError error) {
    return OperatorError.isKafkaTimeout(error) || error.getCause() instanceof TimeoutException;
  }

  /** Every partition of {@code topics}. */
  public List<TopicPartition> partitionsOf(Set<String> topics) {
    Map<String, TopicDescription> descriptions = get(admin.describeTopics(topics).allTopicNames());
    List<TopicPartition> partitions = new ArrayList<>();
    descriptions.forEach(
        (topic, description) ->
            description
                .partitions()
                .forEach(p -> partitions.add(new TopicPartition(topic, p.partition()))));
    partitions.sort(
        (a, b) ->
            a.topic().equals(b.topic())
                ? Integer.compare(a.partition(), b.partition())
                : a.topic().compareTo(b.topic()));
    return partitions;
  }

  /**
   * The offset {@code spec} resolves to on each partition; -1 where none does (a time after the
   * last record).
   */
  public Map<TopicPartition, Long> offsets(Collection<TopicPartition> partitions, OffsetSpec spec) {
    Map<TopicPartition, OffsetSpec> request = new HashMap<>();
    partitions.forEach(p -> request.put(p, spec));
    Map<TopicPartition, Long> offsets = new HashMap<>();
    get(admin.listOffsets(request).all()).forEach((p, info) -> offsets.put(p, info.offset()));
    return offsets;
  }

  /**
   * Of the partitions whose {@code from} lies before their {@code end}, those on which a
   * read_committed reader starting at {@code from} finds no record before {@code end}: the offsets
   * between hold only the markers of transactions (and records of aborted ones), nothing a worker
   * applies. A worker commits the offset after the last record it applied, so on a topic written in
   * transactions the marker that follows it stays between its committed offset and the end. Reads
   * at most one record of each partition; waits at most the command's timeout for progress.
   */
  public Set<TopicPartition> withoutRecords(
      Map<TopicPartition, Long> from, Map<TopicPartition, Long> end) {
    Map<TopicPartition, Long> open = new HashMap<>();
    from.forEach(
        (partition, offset) -> {
          if (offset < end.getOrDefault(partition, 0L)) {
            open.put(partition, offset);
          }
        });
    if (open.isEmpty()) {
      return Set.of();
    }
    KafkaConsumer<byte[], byte[]> consumer = reader();
    Set<TopicPartition> pending = new HashSet<>(open.keySet());
    Set<TopicPartition> empty = new HashSet<>();
    try {
      consumer.assign(open.keySet());
      open.forEach(consumer::seek);
      // read_committed, the end is the last stable offset: a reader stops before a transaction
      // still open, whose records are still to come
      Map<TopicPartition, Long> stable = consumer.endOffsets(open.keySet(), timeout);
      long deadline = System.nanoTime() + timeout.toNanos();
      long left = Long.MAX_VALUE;
      while (!pending.isEmpty()) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(POLL)) {
          TopicPartition partition = new TopicPartition(record.topic(), record.partition());
          if (pending.remove(partition)) {
            consumer.pause(Set.of(partition));
            if (record.offset() >= end.get(partition)) {
              empty.add(partition); // the first record came after the end taken
            }
          }
        }
        long nowLeft = 0;
        for (TopicPartition partition : List.copyOf(pending)) {
          long position = consumer.position(partition, timeout);
          if (position >= end.get(partition)) {
            pending.remove(partition);
            empty.add(partition);
          } else if (position >= stable.get(partition)) {
            pending.remove(partition); // an open transaction: its records may be yet to apply
          } else {
            nowLeft += end.get(partition) - position;
          }
        }
        if (nowLeft < left) {
          left = nowLeft;
          deadline = System.nanoTime() + timeout.toNanos();
        } else if (!pending.isEmpty() && System.nanoTime() - deadline >= 0) {
          throw OperatorError.kafkaDidNotAnswer(
              bootstrapServers, timeout, "reading " + pending + " to tell records stalled", null);
        }
      }
    } catch (org.apache.kafka.common.errors.TimeoutException e) {
      throw OperatorError.kafkaDidNotAnswer(bootstrapServers, timeout, "", e);
    } finally {
      consumer.unsubscribe();
    }
    return empty;
  }

  private KafkaConsumer<byte[], byte[]> reader() {
    if (reader == null) {
      Properties props = kafka.admin("payments-cli-lag-reader");
      props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
      props.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
      props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
      props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 100);
      props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
      props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
      reader = new KafkaConsumer<>(props);
    }
    return reader;
  }

  /**
   * Commits {@code targets} as {@code group}'s offsets. The broker refuses while the group has
   * members, which closes the window between our check and this call.
   */
  public void rewind(String group, Map<TopicPartition, Long> targets, String note) {
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    targets.forEach((p, offset) -> offsets.put(p, new OffsetAndMetadata(offset, note)));
    try {
      get(admin.alterConsumerGroupOffsets(group, offsets).all());
    } catch (OperatorError e) {
      if (OperatorError.isKafkaTimeout(e.getCause()) || e.getCause() instanceof TimeoutException) {
        // no answer is no refusal: the offsets may have moved
        throw new OperatorError(
            e.getMessage()
                + "; the offsets of "
                + group
                + " may or may not have moved: run replay again once Kafka answers (it sets the"
                + " same offsets), and keep "
                + group
                + " stopped until it succeeds",
            e.getCause());
      }
      throw new OperatorError(
          "Kafka refused to move the offsets of "
              + group
              + " ("
              + e.getMessage()
              + "): did a member start meanwhile? Stop "
              + group
              + " and run replay again",
          e.getCause());
    }
  }

  private <T> T get(KafkaFuture<T> future) {
    try {
      return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      if (OperatorError.isKafkaTimeout(cause)) {
        throw OperatorError.kafkaDidNotAnswer(bootstrapServers, null, "", cause);
      }
      throw new OperatorError(String.valueOf(cause.getMessage()), cause);
    } catch (TimeoutException e) {
      throw OperatorError.kafkaDidNotAnswer(bootstrapServers, timeout, "", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new OperatorError("interrupted", e);
    }
  }

  @Override
  public void close() {
    if (reader != null) {
      reader.close(Duration.ofSeconds(5));
    }
    admin.close(Duration.ofSeconds(5));
  }
}
