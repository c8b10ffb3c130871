package io.marketplace.payments.processor;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.Test;

/**
 * A batch that keeps failing on an error that looks transient, because of the batch itself (its
 * transaction runs past the statement timeout), is applied record by record instead of retried
 * whole for ever while the partition's lag grows.
 */
class WorkerBatchFallbackTest {

  private static final Duration WAIT = Duration.ofSeconds(30);

  @Test
  void shouldApplyTheRecordsOneByOneWhenTheirBatchKeepsTimingOut() throws Exception {
    TestDatabase db = TestInfra.freshDatabase();
    Topics topics = TestInfra.freshTopics();
    KafkaTestClient kafka = TestInfra.kafkaClient();
    db.execute("CREATE TABLE applied_alone (record_key text PRIMARY KEY)");
    // Given three records on the topic before the worker starts, so that one poll takes them all
    for (String key : new String[] {"a", "b", "c"}) {
      kafka.send(topics.stripeEvents(), key, "evt_fallback_" + key);
    }
    // And a handler whose transaction times out as soon as it holds a second record
    AtomicReference<Handle> lastTransaction = new AtomicReference<>();
    RecordHandler handler =
        new RecordHandler() {
          @Override
          public String dedupeKey(ConsumerRecord<String, byte[]> record) {
            return new String(record.value(), StandardCharsets.UTF_8);
          }

          @Override
          public void apply(Handle tx, ConsumerRecord<String, byte[]> record) throws Exception {
            if (lastTransaction.getAndSet(tx) == tx) {
              throw new SQLException("canceling statement due to statement timeout", "57014");
            }
            tx.execute("INSERT INTO applied_alone VALUES (?)", record.key());
          }
        };
    WorkerOptions options =
        WorkerOptions.of(TestInfra.uniqueName("fallback"), topics.stripeEvents())
            .withRetries(5, Duration.ofMillis(20), Duration.ofMillis(100));
    try (KafkaProducer<String, byte[]> dlq =
            new KafkaProducer<>(TestInfra.kafkaConfig(topics).producer("fallback-test"));
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

      // Then each record is applied, alone, and none is dead-lettered
      Await.until(WAIT, "the three records applied", () -> db.count("applied_alone") == 3);
      assertThat(kafka.readAll(topics.stripeEvents().dlq())).isEmpty();
      assertThat(worker.isHealthy()).isTrue();
    }
  }
}
