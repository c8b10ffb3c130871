package io.marketplace.payments.ops.dlq;

import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.Topic;
import io.marketplace.payments.ops.CommandKafka;
import io.marketplace.payments.ops.OperatorError;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Reads dead-letter topics from the beginning to their current end. The reader joins no consumer
 * group and commits nothing: it assigns itself every partition, so reading changes nothing and two
 * operators can read at once.
 */
public final class DeadLetters {

  private static final Duration POLL = Duration.ofMillis(200);
  private final KafkaConfig kafka;
  private final Duration metadataTimeout;

  /**
   * Each call to Kafka, and the read between two records, waits at most {@code metadataTimeout}.
   */
  public DeadLetters(KafkaConfig kafka, Duration metadataTimeout) {
    this.kafka = kafka;
    this.metadataTimeout = metadataTimeout;
  }

  /** The dead-letter topics of the workers' source topics (SPEC §4: {@code <topic>.dlq}). */
  public List<Topic> dlqTopics() {
    return kafka.topics().all().stream().filter(t -> t.name().endsWith(".dlq")).toList();
  }

  /**
   * The dead-letter topic an operator means by {@code name}: the source or the dlq topic, with or
   * without the deployment's topic prefix.
   */
  public Topic dlqTopic(String name) {
    List<String> candidates = List.of(name, prefix() + name);
    for (Topic dlq : dlqTopics()) {
      String source = dlq.name().substring(0, dlq.name().length() - ".dlq".length());
      if (candidates.contains(dlq.name()) || candidates.contains(source)) {
        return dlq;
      }
    }
    throw new OperatorError(
        "no dead-letter topic for '"
            + name
            + "'; they are: "
            + dlqTopics().stream().map(Topic::name).toList());
  }

  /**
   * Every record of {@code topics}, topic by topic, partitions in order. Refuses when one of them
   * does not exist: every dead-letter topic is created with the system, so a missing one means a
   * wrong {@code KAFKA_TOPIC_PREFIX} or cluster, and "no dead letters" would be a false all-clear.
   */
  public List<DeadLetter> read(List<Topic> topics, PrintWriter progress) {
    List<DeadLetter> letters = new ArrayList<>();
    try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(readerConfig())) {
      Map<Topic, List<TopicPartition>> partitionsOf = new LinkedHashMap<>();
      List<String> missing = new ArrayList<>();
      for (Topic topic : topics) {
        List<PartitionInfo> infos;
        try {
          infos =
              Optional.ofNullable(consumer.partitionsFor(topic.name(), metadataTimeout))
                  .orElse(List.of());
        } catch (org.apache.kafka.common.errors.TimeoutException e) {
          throw OperatorError.kafkaDidNotAnswer(kafka.bootstrapServers(), metadataTimeout, "", e);
        }
        if (infos.isEmpty()) {
          missing.add(topic.name());
        }
        partitionsOf.put(
            topic,
            infos.stream().map(i -> new TopicPartition(topic.name(), i.partition())).toList());
      }
      if (!missing.isEmpty()) {
        throw new OperatorError(
            "the cluster has no topic "
                + String.join(", ", missing)
                + ": "
                + CommandKafka.prefixQuestion(kafka.topics()));
      }
      for (List<TopicPartition> partitions : partitionsOf.values()) {
        letters.addAll(readToEnd(consumer, partitions, progress));
      }
    }
    letters.sort(
        (a, b) ->
            a.dlqTopic().equals(b.dlqTopic())
                ? a.failedAt().compareTo(b.failedAt())
                : a.dlqTopic().compareTo(b.dlqTopic()));
    return letters;
  }

  /**
   * Reads {@code partitions} to the ends they had when it began. Each call to Kafka waits at most
   * {@code KAFKA_COMMAND_TIMEOUT}, and so does the read between two records: a large topic takes as
   * long as it takes, a stalled read fails naming the wait.
   */
  private List<DeadLetter> readToEnd(
      KafkaConsumer<String, byte[]> consumer,
      List<TopicPartition> partitions,
      PrintWriter progress) {
    String topic = partitions.getFirst().topic();
    try {
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions, metadataTimeout);
      List<DeadLetter> letters = new ArrayList<>();
      long deadline = System.nanoTime() + metadataTimeout.toNanos();
      long reported = 0;
      long left = Long.MAX_VALUE;
      for (long nowLeft; (nowLeft = left(consumer, end)) > 0; left = nowLeft) {
        if (nowLeft < left) {
          // moved on (records, or the markers of transactions, read past)
          deadline = System.nanoTime() + metadataTimeout.toNanos();
        } else if (System.nanoTime() - deadline >= 0) {
          throw OperatorError.kafkaDidNotAnswer(
              kafka.bootstrapServers(),
              metadataTimeout,
              "reading " + topic + " stalled, " + letters.size() + " read before its end",
              null);
        }
        for (ConsumerRecord<String, byte[]> record : consumer.poll(POLL)) {
          letters.add(DeadLetter.of(record));
        }
        if (letters.size() - reported >= 1000) {
          reported = letters.size();
          progress.println("read " + reported + " dead letters of " + topic);
          progress.flush();
        }
      }
      return letters;
    } catch (org.apache.kafka.common.errors.TimeoutException e) {
      throw OperatorError.kafkaDidNotAnswer(
          kafka.bootstrapServers(), metadataTimeout, topic + " not read to its end", e);
    }
  }

  /** How many offsets are left to read before {@code end}. */
  private long left(KafkaConsumer<String, byte[]> consumer, Map<TopicPartition, Long> end) {
    return end.entrySet().stream()
        .mapToLong(e -> Math.max(0, e.getValue() - consumer.position(e.getKey(), metadataTimeout)))
        .sum();
  }

  private Properties readerConfig() {
    Properties props = kafka.admin("payments-cli-dlq-reader");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    // looking a topic up must not create it (a broker with auto.create.topics.enable)
    props.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    return props;
  }

  private String prefix() {
    String stripe = kafka.topics().stripeEvents().name();
    return stripe.substring(0, stripe.length() - "stripe.events.v1".length());
  }
}
