package io.marketplace.payments.testsupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.marketplace.payments.common.kafka.Topic;
import io.marketplace.payments.common.kafka.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class KafkaFixtureTest {

  private final KafkaTestClient kafka = TestInfra.kafkaClient();

  @AfterEach
  void closeClient() {
    kafka.close();
  }

  @Test
  void shouldResumeAfterTheCommittedOffsetWhenASecondConsumerOfTheGroupStarts() {
    // Given three acknowledged records with headers on a fresh topic
    Topic topic = TestInfra.freshTopics().stripeEvents();
    for (String id : List.of("pi_1", "pi_2", "pi_3")) {
      kafka.send(topic, id, "{\"id\":\"" + id + "\"}", Map.of("stripe-event-id", "evt_" + id));
    }
    String group = TestInfra.uniqueName("fixture-group-");

    // When a consumer of a group reads them and commits, and two more records arrive
    List<ConsumerRecord<String, byte[]>> firstRead = consumeAndCommit(group, topic, 3);
    kafka.send(topic, "pi_4", "{}");
    kafka.send(topic, "pi_5", "{}");

    // Then the first consumer saw the three with their headers, and a second one of the same group
    // resumes after them
    assertThat(firstRead)
        .extracting(ConsumerRecord::key)
        .containsExactlyInAnyOrder("pi_1", "pi_2", "pi_3");
    assertThat(firstRead)
        .allSatisfy(
            record ->
                assertThat(KafkaTestClient.header(record, "stripe-event-id"))
                    .contains("evt_" + record.key()));
    assertThat(consumeAndCommit(group, topic, 2))
        .extracting(ConsumerRecord::key)
        .containsExactlyInAnyOrder("pi_4", "pi_5");
    assertThat(kafka.readAll(topic)).hasSize(5);
  }

  @Test
  void shouldCreateEveryTopicWithItsPartitionsWhenFreshTopicsAreAsked() throws Exception {
    // When two tests ask for topics
    Topics first = TestInfra.freshTopics();
    Topics second = TestInfra.freshTopics();

    // Then each gets its own names, every one created with its partition count
    assertThat(first.stripeEvents().name()).isNotEqualTo(second.stripeEvents().name());
    assertThat(first.stripeEvents().name()).endsWith(".stripe.events.v1");
    try (Admin admin =
        Admin.create(
            Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
      Map<String, TopicDescription> described =
          admin
              .describeTopics(first.all().stream().map(Topic::name).toList())
              .allTopicNames()
              .get();
      for (Topic topic : first.all()) {
        assertThat(described.get(topic.name()).partitions()).hasSize(topic.partitions());
      }
    }
    // and creating them again is harmless
    TestInfra.createTopics(first);
  }

  @Test
  void shouldFailWithWhatItSawWhenFewerRecordsArrive() {
    // Given a topic with one record
    Topic topic = TestInfra.freshTopics().paymentEvents();
    Topic empty = TestInfra.freshTopics().paymentEvents();
    kafka.send(topic, "lst_1", "listing.activated");

    // When two are awaited, or none, then the failure shows the record
    assertThatThrownBy(() -> kafka.awaitRecords(topic, 2, Duration.ofMillis(300)))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("lst_1=listing.activated");
    assertThatThrownBy(() -> kafka.assertNoRecords(topic, Duration.ofMillis(300)))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("lst_1");
    // and an empty topic passes
    kafka.assertNoRecords(empty, Duration.ofMillis(200));
    assertThat(kafka.readAll(empty)).isEmpty();
  }

  private List<ConsumerRecord<String, byte[]>> consumeAndCommit(
      String group, Topic topic, int count) {
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
