package io.marketplace.payments.processor;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.common.worker.RecordHandler;
import io.marketplace.payments.common.worker.StreamWorker;
import io.marketplace.payments.common.worker.WorkerOptions;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestInfra;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.Test;

/**
 * A worker that waits for the dead-letter topic to take a failed record, and meanwhile loses the
 * record's partition to another member of its group, lets the record go: the new owner dead-letters
 * it, once. Holding on, the old owner would send it too (two dead letters of one record, noted
 * twice) and report itself not ready for a partition that is no longer its own.
 */
class DeadLetterAfterRevocationTest {

  private static final Duration WAIT = Duration.ofSeconds(30);

  @Test
  void shouldLeaveAFailedRecordToTheNewOwnerWhenItsPartitionIsRevokedWhileItWaitsForTheDlq()
      throws Exception {
    Topics topics = TestInfra.freshTopics();
    KafkaTestClient kafka = TestInfra.kafkaClient();
    // Given a dead-letter topic that refuses every record (the broker answers "too large")
    String dlq = topics.stripeEvents().dlq().name();
    TestInfra.setMaxMessageBytes(dlq, 16);
    // And a handler for which every record is bad
    RecordHandler poisoned =
        new RecordHandler() {
          @Override
          public String dedupeKey(ConsumerRecord<String, byte[]> record) {
            return new String(record.value(), StandardCharsets.UTF_8);
          }

          @Override
          public void apply(Handle tx, ConsumerRecord<String, byte[]> record) {
            throw new IllegalArgumentException("not an event: " + record.key());
          }
        };
    WorkerOptions options =
        WorkerOptions.of(TestInfra.uniqueName("revoked"), topics.stripeEvents())
            .withRetries(2, Duration.ofMillis(20), Duration.ofMillis(200));
    var db = TestInfra.freshDatabase();
    try (KafkaProducer<String, byte[]> producer =
            new KafkaProducer<>(TestInfra.kafkaConfig(topics).producer("revoked-test"));
        StreamWorker first =
            new StreamWorker(
                    options,
                    TestInfra.kafkaConfig(topics),
                    db.jdbi(),
                    poisoned,
                    producer,
                    new SimpleMeterRegistry(),
                    Clock.systemUTC())
                .start()) {
      Await.until(WAIT, "the first worker assigned", first::isAssigned);
      // And a bad record on the last partition, which the first worker, alone in its group, owns
      // and fails, and whose dead letter it waits to send
      int last = topics.stripeEvents().partitions() - 1;
      producer
          .send(
              new ProducerRecord<>(
                  topics.stripeEvents().name(),
                  last,
                  "pi_revoked",
                  "evt_revoked".getBytes(StandardCharsets.UTF_8)))
          .get(20, TimeUnit.SECONDS);
      Await.until(WAIT, "the first worker waiting for the DLQ", () -> !first.isHealthy());

      // When a second member joins the group and is given that partition (the range assignor
      // gives the later member the upper partitions), and fails the record in its turn
      try (StreamWorker second =
          new StreamWorker(
                  options,
                  TestInfra.kafkaConfig(topics),
                  db.jdbi(),
                  poisoned,
                  producer,
                  new SimpleMeterRegistry(),
                  Clock.systemUTC())
              .start()) {
        Await.until(WAIT, "the second worker assigned", second::isAssigned);
        Await.until(WAIT, "the second worker waiting for the DLQ", () -> !second.isHealthy());

        // Then the first worker lets the record go: ready again while the DLQ still refuses
        Await.until(
            WAIT, "the first worker to let go of a record it no longer owns", first::isHealthy);
        assertThat(first.isAlive()).isTrue();

        // And once the dead-letter topic takes records, the record is on it once
        TestInfra.setMaxMessageBytes(dlq, Topics.MAX_MESSAGE_BYTES);
        Await.until(WAIT, "the second worker to send the dead letter", second::isHealthy);
        kafka.awaitRecord(topics.stripeEvents().dlq(), r -> "pi_revoked".equals(r.key()), WAIT);
        assertThat(
                kafka.readAll(topics.stripeEvents().dlq()).stream()
                    .filter(r -> "pi_revoked".equals(r.key()))
                    .count())
            .as("dead letters of the one record")
            .isEqualTo(1);
      }
    }
  }
}
