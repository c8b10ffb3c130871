package io.marketplace.payments.testsupport;

import io.marketplace.payments.common.kafka.Topic;
import io.marketplace.payments.common.kafka.Topics;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Writes records the way the system does ({@code acks=all}, each send acknowledged before it
 * returns) and reads topics back from the beginning for assertions. Keys are strings, values raw
 * bytes.
 *
 * <p>Reading never joins a consumer group nor commits: it assigns itself every partition, so it
 * cannot take partitions from, or move the offsets of, the consumers under test. It sees committed
 * records only ({@code read_committed}), as downstream consumers do.
 */
public final class KafkaTestClient implements AutoCloseable {

  private static final Duration SEND_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration POLL = Duration.ofMillis(50);

  private final String bootstrapServers;
  private KafkaProducer<String, byte[]> producer;

  public KafkaTestClient(String bootstrapServers) {
    this.bootstrapServers = bootstrapServers;
  }

  public String bootstrapServers() {
    return bootstrapServers;
  }

  // ---- producing

  /** Sends one record and waits until every in-sync replica has it. */
  public synchronized RecordMetadata send(
      String topic, String key, byte[] value, Map<String, String> headers) {
    ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic, key, value);
    headers.forEach((name, text) -> record.headers().add(name, utf8(text)));
    try {
      return producer().send(record).get(SEND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("send to " + topic + " was not acknowledged: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while sending to " + topic, e);
    }
  }

  public RecordMetadata send(String topic, String key, String value, Map<String, String> headers) {
    return send(topic, key, value == null ? null : utf8(value), headers);
  }

  public RecordMetadata send(String topic, String key, String value) {
    return send(topic, key, value, Map.of());
  }

  public RecordMetadata send(Topic topic, String key, byte[] value, Map<String, String> headers) {
    return send(topic.name(), key, value, headers);
  }

  public RecordMetadata send(Topic topic, String key, String value, Map<String, String> headers) {
    return send(topic.name(), key, value, headers);
  }

  public RecordMetadata send(Topic topic, String key, String value) {
    return send(topic.name(), key, value, Map.of());
  }

  // ---- reading

  /**
   * Reads {@code topic} from the beginning until the records read so far satisfy {@code until}, or
   * {@code timeout} passes; returns what it read either way, in partition-then-offset order per
   * poll.
   */
  public List<ConsumerRecord<String, byte[]>> readAll(
      String topic, Predicate<List<ConsumerRecord<String, byte[]>>> until, Duration timeout) {
    List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
    KafkaConsumer<String, byte[]> consumer = newReader();
    try {
      List<TopicPartition> partitions = partitions(consumer, topic);
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      long deadline = System.nanoTime() + timeout.toNanos();
      while (!until.test(records) && System.nanoTime() - deadline < 0) {
        consumer.poll(POLL).forEach(records::add);
      }
    } finally {
      closeAtOnce(consumer);
    }
    return records;
  }

  /** Every record {@code topic} holds now: reads from the beginning up to the current end. */
  public List<ConsumerRecord<String, byte[]>> readAll(String topic) {
    List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
    KafkaConsumer<String, byte[]> consumer = newReader();
    try {
      List<TopicPartition> partitions = partitions(consumer, topic);
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (!reached(consumer, end)) {
        if (System.nanoTime() - deadline >= 0) {
          throw new AssertionError("could not read " + topic + " to its end " + end);
        }
        consumer.poll(POLL).forEach(records::add);
      }
    } finally {
      closeAtOnce(consumer);
    }
    return records;
  }

  public List<ConsumerRecord<String, byte[]>> readAll(Topic topic) {
    return readAll(topic.name());
  }

  public List<ConsumerRecord<String, byte[]>> readAll(
      Topic topic, Predicate<List<ConsumerRecord<String, byte[]>>> until, Duration timeout) {
    return readAll(topic.name(), until, timeout);
  }

  /**
   * Waits until {@code topic} holds at least {@code count} records and returns all it read; fails
   * with what it saw when fewer arrive within {@code timeout}.
   */
  public List<ConsumerRecord<String, byte[]>> awaitRecords(
      String topic, int count, Duration timeout) {
    List<ConsumerRecord<String, byte[]>> records =
        readAll(topic, read -> read.size() >= count, timeout);
    if (records.size() < count) {
      throw new AssertionError(
          "Expected at least "
              + count
              + " records on "
              + topic
              + " within "
              + timeout.toMillis()
              + " ms, got "
              + records.size()
              + ": "
              + describe(records));
    }
    return records;
  }

  public List<ConsumerRecord<String, byte[]>> awaitRecords(
      Topic topic, int count, Duration timeout) {
    return awaitRecords(topic.name(), count, timeout);
  }

  /**
   * Waits until a record of {@code topic} matches {@code match}, and returns it; fails with what it
   * saw otherwise.
   */
  public ConsumerRecord<String, byte[]> awaitRecord(
      String topic, Predicate<ConsumerRecord<String, byte[]>> match, Duration timeout) {
    List<ConsumerRecord<String, byte[]>> records =
        readAll(topic, read -> read.stream().anyMatch(match), timeout);
    return records.stream()
        .filter(match)
        .findFirst()
        .orElseThrow(
            () ->
                new AssertionError(
                    "No matching record on "
                        + topic
                        + " within "
                        + timeout.toMillis()
                        + " ms; saw "
                        + describe(records)));
  }

  public ConsumerRecord<String, byte[]> awaitRecord(
      Topic topic, Predicate<ConsumerRecord<String, byte[]>> match, Duration timeout) {
    return awaitRecord(topic.name(), match, timeout);
  }

  /**
   * Checks that {@code topic} stays empty for {@code within}; fails at the first record. Keep the
   * window short: it is always waited out in full when the test passes.
   */
  public void assertNoRecords(String topic, Duration within) {
    List<ConsumerRecord<String, byte[]>> records = readAll(topic, read -> !read.isEmpty(), within);
    if (!records.isEmpty()) {
      throw new AssertionError("Expected no records on " + topic + ", got " + describe(records));
    }
  }

  public void assertNoRecords(Topic topic, Duration within) {
    assertNoRecords(topic.name(), within);
  }

  /**
   * Consumer settings for a test that consumes as a group itself: string keys, byte values, no
   * auto-commit, from the earliest offset.
   */
  public Map<String, Object> consumerConfig(String groupId) {
    Map<String, Object> config = new HashMap<>();
    config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    config.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
    config.put(ConsumerConfig.CLIENT_ID_CONFIG, groupId + "-" + UUID.randomUUID());
    config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    return config;
  }

  // ---- record helpers

  /** The value as UTF-8 text, or null for a tombstone. */
  public static String text(ConsumerRecord<String, byte[]> record) {
    return record.value() == null ? null : new String(record.value(), StandardCharsets.UTF_8);
  }

  /** The last header {@code name} as UTF-8 text. */
  public static Optional<String> header(ConsumerRecord<?, ?> record, String name) {
    Header header = record.headers().lastHeader(name);
    return header == null || header.value() == null
        ? Optional.empty()
        : Optional.of(new String(header.value(), StandardCharsets.UTF_8));
  }

  /** Every header as UTF-8 text, the last one winning for repeated names. */
  public static Map<String, String> headers(ConsumerRecord<?, ?> record) {
    Map<String, String> headers = new HashMap<>();
    for (Header header : record.headers()) {
      headers.put(
          header.key(),
          header.value() == null ? null : new String(header.value(), StandardCharsets.UTF_8));
    }
    return headers;
  }

  @Override
  public synchronized void close() {
    if (producer != null) {
      producer.close(Duration.ofSeconds(5));
      producer = null;
    }
  }

  private KafkaProducer<String, byte[]> producer() {
    if (producer == null) {
      Map<String, Object> config = new HashMap<>();
      config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
      config.put(ProducerConfig.ACKS_CONFIG, "all");
      config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
      config.put(ProducerConfig.LINGER_MS_CONFIG, 0);
      config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) SEND_TIMEOUT.toMillis());
      config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) SEND_TIMEOUT.toMillis());
      config.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
      // as large a record as the topics take, as the services' producers can
      config.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Topics.MAX_MESSAGE_BYTES);
      config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
      config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
      producer = new KafkaProducer<>(config);
    }
    return producer;
  }

  private KafkaConsumer<String, byte[]> newReader() {
    Map<String, Object> config = new HashMap<>();
    config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    return new KafkaConsumer<>(config);
  }

  /**
   * Closes a reader without waiting. It belongs to no group and commits nothing, and a graceful
   * close would only wait for the answer to the fetch it left at the broker, which the broker holds
   * for its fetch wait (half a second) once the topic has nothing more: half a second on every
   * read, many times in a test that polls a topic.
   */
  private static void closeAtOnce(KafkaConsumer<String, byte[]> consumer) {
    consumer.close(CloseOptions.timeout(Duration.ZERO));
  }

  private static List<TopicPartition> partitions(
      KafkaConsumer<String, byte[]> consumer, String topic) {
    List<TopicPartition> partitions =
        consumer.partitionsFor(topic, Duration.ofSeconds(10)).stream()
            .map(info -> new TopicPartition(topic, info.partition()))
            .toList();
    if (partitions.isEmpty()) {
      throw new AssertionError("topic " + topic + " does not exist");
    }
    return partitions;
  }

  private static boolean reached(
      KafkaConsumer<String, byte[]> consumer, Map<TopicPartition, Long> end) {
    return end.entrySet().stream()
        .allMatch(entry -> consumer.position(entry.getKey()) >= entry.getValue());
  }

  private static String describe(List<ConsumerRecord<String, byte[]>> records) {
    return records.stream()
        .limit(20)
        .map(record -> record.key() + "=" + abbreviate(text(record)))
        .collect(Collectors.joining(", ", "[", records.size() > 20 ? ", ...]" : "]"));
  }

  private static String abbreviate(String text) {
    return text == null || text.length() <= 200 ? text : text.substring(0, 200) + "...";
  }

  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
