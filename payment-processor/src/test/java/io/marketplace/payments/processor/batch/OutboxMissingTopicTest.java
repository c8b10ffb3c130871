package io.marketplace.payments.processor.batch;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.db.Writes;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.common.outbox.Destination;
import io.marketplace.payments.common.outbox.Outbox;
import io.marketplace.payments.common.outbox.OutboxRelay;
import io.marketplace.payments.embedded.KafkaTopics;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A topic that does not exist (deleted, and the broker creates none on its own) blocks a send for
 * the producer's {@code max.block.ms} (5 s) in the relay's thread. Once one send blocked in vain,
 * the relay sends nothing more to that topic until a check in the background finds it again, so the
 * events of the other topics leave within milliseconds of their commit meanwhile; the rows for it
 * wait, refused, and are published in order once the topic is back.
 */
class OutboxMissingTopicTest {

  private static final Duration WAIT = Duration.ofSeconds(30);

  /** How long a send may block (OutboxRelay.MAX_BLOCK). */
  private static final Duration MAX_BLOCK = Duration.ofSeconds(5);

  /** How long after its commit a healthy event may reach its topic. */
  private static final Duration PROMPT = Duration.ofSeconds(2);

  private final TestDatabase db = TestInfra.freshDatabase();
  private final KafkaTestClient client = TestInfra.kafkaClient();

  @AfterEach
  void closeClient() {
    client.close();
  }

  @Test
  void shouldPublishOtherTopicsPromptlyWhileATopicIsMissingAndItsRowsInOrderOnceItIsBack() {
    // Given topics of which only payment events exists, and refund commands for it under three
    // keys, two each, that the relay has tried once
    Topics partly = Topics.withPrefix(TestInfra.uniqueName("missing") + ".");
    KafkaTopics.createTopics(
        client.bootstrapServers(),
        Map.of(partly.paymentEvents().name(), partly.paymentEvents().partitions()),
        Topics.configs());
    String missing = partly.refundCommands().name();
    List<UUID> commands = new ArrayList<>();
    for (int n = 0; n < 2; n++) {
      for (int k = 0; k < 3; k++) {
        UUID id = UUID.randomUUID();
        int number = n;
        String key = "refund-" + k;
        db.jdbi()
            .useTransaction(
                tx ->
                    Outbox.append(
                        tx,
                        Destination.REFUND_COMMANDS,
                        id,
                        key,
                        "refund.requested",
                        "{\"n\":" + number + "}"));
        commands.add(id);
      }
    }
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (Producer<String, byte[]> producer =
            new KafkaProducer<>(
                OutboxRelay.producerSettings(TestInfra.kafkaConfig(partly), "outbox-missing"));
        OutboxRelay relay =
            new OutboxRelay(
                    db.jdbi(), producer, partly, Duration.ofMillis(50), registry, "missing-topic")
                .start()) {
      Await.until(
          WAIT,
          "the first refund command of each key tried once",
          () -> commands.subList(0, 3).stream().allMatch(id -> attempts(id) >= 1));

      // When a service commits payment events one after the other for 8 s, each waking the relay
      List<String> written = new ArrayList<>();
      long started = System.nanoTime();
      for (int i = 0; System.nanoTime() - started < Duration.ofSeconds(8).toNanos(); i++) {
        OutboxRows.Row row =
            new OutboxRows.Row(
                UUID.randomUUID(),
                Destination.PAYMENT_EVENTS,
                "listing-" + i,
                "listing.activated",
                "{}");
        db.jdbi()
            .useTransaction(
                tx -> new Writes().add(OutboxRows.insert(List.of(row)).orElseThrow()).execute(tx));
        relay.wakeUp();
        written.add(row.id().toString());

        // Then each is taken by the broker within 2 s of its commit, while the refund commands'
        // rests end and they are tried again
        Await.until(
            PROMPT,
            Duration.ofMillis(5),
            "payment event " + i + " published within " + PROMPT.toSeconds() + " s of its commit",
            () -> db.count("outbox_events WHERE ? = ANY(batch_ids)", row.id()) == 0);
      }
      assertThat(eventIds(client.readAll(partly.paymentEvents().name())))
          .containsExactlyInAnyOrderElementsOf(written);
      // the refund commands wait, their failure naming the topic, and the relay counts as stalled
      assertThat(db.count("outbox_events WHERE destination = 'REFUND_COMMANDS'")).isEqualTo(6);
      assertThat(attempts(commands.getFirst())).isGreaterThan(1);
      assertThat(lastError(commands.getFirst())).contains("TimeoutException").contains(missing);
      assertThat(registry.get("payments.outbox.stalled").gauge().value()).isGreaterThan(5);

      // When the topic is created
      KafkaTopics.createTopics(
          client.bootstrapServers(),
          Map.of(missing, partly.refundCommands().partitions()),
          Topics.configs());

      // Then the refund commands are published, each key's in the order they were written
      Await.until(
          WAIT,
          "every refund command published",
          () -> db.count("outbox_events WHERE destination = 'REFUND_COMMANDS'") == 0);
      List<ConsumerRecord<String, byte[]>> published = client.readAll(missing);
      assertThat(eventIds(published))
          .containsExactlyInAnyOrderElementsOf(commands.stream().map(UUID::toString).toList());
      for (int k = 0; k < 3; k++) {
        String key = "refund-" + k;
        assertThat(eventIds(published.stream().filter(r -> key.equals(r.key())).toList()))
            .as("the refund commands of %s in order", key)
            .containsExactly(commands.get(k).toString(), commands.get(3 + k).toString());
      }
    }
  }

  @Test
  void shouldStopCheckingAMissingTopicWhenClosed() {
    // Given a refund command for a topic that does not exist, which the relay has tried five
    // times: once blocking, then refused at once while a check of the topic (1 s after the first
    // try, blocking up to 5 s) is under way
    Topics none = Topics.withPrefix(TestInfra.uniqueName("none") + ".");
    UUID id = UUID.randomUUID();
    db.jdbi()
        .useTransaction(
            tx ->
                Outbox.append(
                    tx, Destination.REFUND_COMMANDS, id, "refund-1", "refund.requested", "{}"));
    try (Producer<String, byte[]> producer =
        new KafkaProducer<>(
            OutboxRelay.producerSettings(TestInfra.kafkaConfig(none), "outbox-none"))) {
      OutboxRelay relay =
          new OutboxRelay(
                  db.jdbi(),
                  producer,
                  none,
                  Duration.ofMillis(50),
                  new SimpleMeterRegistry(),
                  "closing-check")
              .start();
      Await.until(WAIT, "the refund command tried five times", () -> attempts(id) >= 5);

      // When the relay is closed
      long closing = System.nanoTime();
      relay.close();

      // Then it is closed within the time a send may block, with nothing of it left running
      assertThat(Duration.ofNanos(System.nanoTime() - closing))
          .isLessThanOrEqualTo(MAX_BLOCK.plusSeconds(1));
      assertThat(
              Thread.getAllStackTraces().keySet().stream()
                  .filter(Thread::isAlive)
                  .map(Thread::getName)
                  .filter(name -> name.startsWith("outbox-") && name.endsWith("-closing-check")))
          .isEmpty();
      assertThat(db.count("outbox_events WHERE event_id = ?", id)).isOne();
    }
  }

  private long attempts(UUID eventId) {
    return db.row("SELECT attempts FROM outbox_events WHERE event_id = ?", eventId)
        .map(r -> ((Number) r.get("attempts")).longValue())
        .orElse(0L);
  }

  private String lastError(UUID eventId) {
    return db.row("SELECT last_error FROM outbox_events WHERE event_id = ?", eventId)
        .map(r -> (String) r.get("last_error"))
        .orElseThrow();
  }

  private static List<String> eventIds(List<ConsumerRecord<String, byte[]>> records) {
    return records.stream()
        .map(r -> RecordHeaders.get(r.headers(), RecordHeaders.EVENT_ID).orElseThrow())
        .toList();
  }
}
