package io.marketplace.payments.processor;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.common.worker.RecordHandler;
import io.marketplace.payments.common.worker.StreamWorker;
import io.marketplace.payments.common.worker.WorkerOptions;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.Test;

/**
 * A record whose data drives its handler's recursion past the thread's stack (a nesting deeper than
 * the code expects) fails alone and is dead-lettered, naming the StackOverflowError, and the
 * records behind it are applied. Escaping the loop, the error ended the worker's thread: the worker
 * left its group, the record's partition moved to another replica, whose worker it ended too, and
 * so on, every partition of every replica stopped by one record.
 */
class StackOverflowRecordTest {

  private static final Duration WAIT = Duration.ofSeconds(20);

  @Test
  void shouldDeadLetterARecordWhoseHandlerOverflowsTheStackAndApplyTheOnesBehindIt()
      throws Exception {
    TestDatabase db = TestInfra.freshDatabase();
    Topics topics = TestInfra.freshTopics();
    KafkaTestClient kafka = TestInfra.kafkaClient();
    db.execute("CREATE TABLE applied_records (record_key text PRIMARY KEY)");
    // Given a record whose handler recurses without end, then a good one on the same partition
    kafka.send(topics.stripeEvents(), "pi_nested", "evt_nested");
    kafka.send(topics.stripeEvents(), "pi_nested", "evt_after");
    RecordHandler handler =
        new RecordHandler() {
          @Override
          public String dedupeKey(ConsumerRecord<String, byte[]> record) {
            return new String(record.value(), StandardCharsets.UTF_8);
          }

          @Override
          public void apply(Handle tx, ConsumerRecord<String, byte[]> record) {
            String key = dedupeKey(record);
            if (key.equals("evt_nested")) {
              descend(0);
            }
            tx.execute("INSERT INTO applied_records VALUES (?)", key);
          }
        };
    WorkerOptions options =
        WorkerOptions.of(TestInfra.uniqueName("overflow"), topics.stripeEvents())
            .withRetries(2, Duration.ofMillis(20), Duration.ofMillis(100));
    try (KafkaProducer<String, byte[]> dlq =
            new KafkaProducer<>(TestInfra.kafkaConfig(topics).producer("overflow-test"));
        StreamWorker worker =
            new StreamWorker(
                    options,
                    TestInfra.kafkaConfig(topics),
                    db.jdbi(),
                    handler,
                    dlq,
                    new SimpleMeterRegistry(),
                    Clock.systemUTC())
                .start()) {
      // When the worker runs

      // Then the record is dead-lettered, saying why
      ConsumerRecord<String, byte[]> dead =
          kafka.awaitRecord(topics.stripeEvents().dlq(), r -> "pi_nested".equals(r.key()), WAIT);
      assertThat(KafkaTestClient.text(dead)).isEqualTo("evt_nested");
      assertThat(KafkaTestClient.headers(dead))
          .containsEntry(RecordHeaders.ERROR_CLASS, StackOverflowError.class.getName())
          .containsKey(RecordHeaders.ERROR_MESSAGE);
      // And the record behind it is applied, by a worker still running and ready
      Await.until(
          WAIT,
          "the record behind it applied",
          () -> db.count("applied_records WHERE record_key = ?", "evt_after") == 1);
      assertThat(db.count("applied_records")).isEqualTo(1);
      assertThat(worker.isAlive()).isTrue();
      assertThat(worker.isHealthy()).isTrue();
    }
  }

  private static int descend(int depth) {
    return descend(depth + 1) + 1;
  }
}
