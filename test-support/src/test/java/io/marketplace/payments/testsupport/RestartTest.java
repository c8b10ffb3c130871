package io.marketplace.payments.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.kafka.Topic;
import io.marketplace.payments.embedded.EmbeddedKafka;
import io.marketplace.payments.embedded.EmbeddedPostgresServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.Test;

/** Failure tests stop the shared broker or database and start them again: data must survive. */
class RestartTest {

  @Test
  void shouldKeepRecordsAndCommittedOffsetsWhenTheBrokerRestarts() {
    try (KafkaTestClient kafka = TestInfra.kafkaClient()) {
      // Given two records, one of them consumed and committed by a group
      Topic topic = TestInfra.freshTopics().moderation();
      kafka.send(topic, "lst_1", "first");
      String group = TestInfra.uniqueName("restart-group-");
      assertThat(consumeAndCommit(kafka, group, topic, 1)).hasSize(1);
      kafka.send(topic, "lst_2", "second");
      EmbeddedKafka broker = TestInfra.kafka();
      String bootstrap = broker.bootstrapServers();

      // When the broker stops and starts again
      broker.stop();
      assertThat(broker.isRunning()).isFalse();
      broker.restart();

      // Then it is at the same address with both records, the group resumes after its commit, and
      // the producer made before the restart sends again
      assertThat(broker.bootstrapServers()).isEqualTo(bootstrap);
      assertThat(kafka.readAll(topic))
          .extracting(ConsumerRecord::key)
          .containsExactlyInAnyOrder("lst_1", "lst_2");
      assertThat(consumeAndCommit(kafka, group, topic, 1))
          .extracting(ConsumerRecord::key)
          .containsExactly("lst_2");
      kafka.send(topic, "lst_3", "third");
      assertThat(kafka.awaitRecords(topic, 3, Duration.ofSeconds(10))).hasSize(3);
    }
  }

  @Test
  void shouldKeepDatabasesWhenPostgresRestarts() {
    // Given a database with a user
    TestDatabase db = TestInfra.freshDatabase();
    UUID user = UUID.randomUUID();
    db.execute("INSERT INTO users (id) VALUES (?)", user);
    EmbeddedPostgresServer postgres = TestInfra.postgres();

    // When PostgreSQL restarts
    postgres.restart();

    // Then the user is still there, and fresh databases still come from the migrated template
    assertThat(db.count("users WHERE id = ?", user)).isEqualTo(1);
    assertThat(TestInfra.freshDatabase().count("categories")).isEqualTo(9);
  }

  private static List<ConsumerRecord<String, byte[]>> consumeAndCommit(
      KafkaTestClient kafka, String group, Topic topic, int count) {
    List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(kafka.consumerConfig(group))) {
      consumer.subscribe(List.of(topic.name()));
      Await.until(
          Duration.ofSeconds(20),
          count + " records for group " + group,
          () -> {
            consumer.poll(Duration.ofMillis(100)).forEach(records::add);
            return records.size() >= count;
          });
      consumer.commitSync();
    }
    return records;
  }
}
