package io.marketplace.payments.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedKafkaTest {

  @TempDir Path dataDir;

  @Test
  void shouldKeepTopicsAndRecordsWhenStartedAgainOnTheSameDirectory() throws Exception {
    // Given a broker that created a topic and acknowledged records, then shut down
    try (EmbeddedKafka first = EmbeddedKafka.start(dataDir, 0)) {
      KafkaTopics.createTopics(first.bootstrapServers(), Map.of("kept.v1", 2));
      produce(first.bootstrapServers(), "kept.v1", List.of("a", "b", "c"));
    }

    // When a new broker starts on the same directory, as after a restart of the process
    try (EmbeddedKafka second = EmbeddedKafka.start(dataDir, 0)) {

      // Then the topic and its records are still there, and creating the topic again is harmless
      KafkaTopics.createTopics(second.bootstrapServers(), Map.of("kept.v1", 2));
      assertThat(readValues(second.bootstrapServers(), "kept.v1", 3))
          .containsExactlyInAnyOrder("a", "b", "c");
    }
  }

  @Test
  void shouldTakeLargeRecordsWhenTopicsAreCreatedOrFoundWithAMessageSizeSetting() throws Exception {
    // Given a broker with a topic created without settings, as by an older version
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dataDir, 0)) {
      KafkaTopics.createTopics(kafka.bootstrapServers(), Map.of("old.v1", 2));
      byte[] large = new byte[1536 * 1024];
      new Random(42).nextBytes(large);
      assertThatThrownBy(() -> produceBytes(kafka.bootstrapServers(), "old.v1", large))
          .hasRootCauseInstanceOf(RecordTooLargeException.class);

      // When the topics are created again with a larger max.message.bytes, beside a new one
      KafkaTopics.createTopics(
          kafka.bootstrapServers(),
          Map.of("old.v1", 2, "new.v1", 1),
          Map.of("max.message.bytes", String.valueOf(2 * 1024 * 1024)));

      // Then both take a 1.5 MiB record that does not compress, and the old one kept its partitions
      produceBytes(kafka.bootstrapServers(), "old.v1", large);
      produceBytes(kafka.bootstrapServers(), "new.v1", large);
      try (Admin admin =
          Admin.create(
              Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
        assertThat(
                admin
                    .describeTopics(List.of("old.v1"))
                    .allTopicNames()
                    .get(10, TimeUnit.SECONDS)
                    .get("old.v1")
                    .partitions())
            .hasSize(2);
      }
    }
  }

  @Test
  void shouldNameThePortWhenThePortIsTaken() throws Exception {
    // Given another process listening on a port
    try (ServerSocket taken = new ServerSocket()) {
      taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      int port = taken.getLocalPort();

      // When a broker is asked to start on it, then it refuses with the port in the message
      assertThatThrownBy(() -> EmbeddedKafka.start(dataDir, port))
          .isInstanceOf(PortInUseException.class)
          .hasMessageContaining(String.valueOf(port));
    }
  }

  static void produce(String bootstrap, String topic, List<String> values) throws Exception {
    Map<String, Object> config =
        Map.of(
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
            bootstrap,
            ProducerConfig.ACKS_CONFIG,
            "all",
            ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG,
            StringSerializer.class,
            ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG,
            StringSerializer.class);
    try (var producer = new KafkaProducer<String, String>(config)) {
      for (String value : values) {
        producer.send(new ProducerRecord<>(topic, value, value)).get(10, TimeUnit.SECONDS);
      }
    }
  }

  static void produceBytes(String bootstrap, String topic, byte[] value) throws Exception {
    Map<String, Object> config =
        Map.of(
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
            bootstrap,
            ProducerConfig.ACKS_CONFIG,
            "all",
            ProducerConfig.MAX_REQUEST_SIZE_CONFIG,
            4 * 1024 * 1024,
            ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG,
            StringSerializer.class,
            ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG,
            ByteArraySerializer.class);
    try (var producer = new KafkaProducer<String, byte[]>(config)) {
      producer.send(new ProducerRecord<>(topic, "large", value)).get(10, TimeUnit.SECONDS);
    }
  }

  static List<String> readValues(String bootstrap, String topic, int expected) {
    Map<String, Object> config =
        Map.of(
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
            ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class,
            ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    List<String> values = new ArrayList<>();
    try (var consumer = new KafkaConsumer<String, String>(config)) {
      var partitions =
          consumer.partitionsFor(topic).stream()
              .map(p -> new org.apache.kafka.common.TopicPartition(topic, p.partition()))
              .toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
      while (values.size() < expected && System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(100)).forEach(record -> values.add(record.value()));
      }
    }
    return values;
  }
}
