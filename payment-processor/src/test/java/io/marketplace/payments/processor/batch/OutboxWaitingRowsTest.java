package io.marketplace.payments.processor.batch;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.db.Writes;
import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.common.outbox.Destination;
import io.marketplace.payments.common.outbox.OutboxRelay;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Rows that wait at the head of the outbox (refused by the broker, resting after a refusal, or for
 * a destination this version does not know) are not read again by every pass: a busy service wakes
 * the relay after each commit, and each pass re-read thousands of them while a topic was refused.
 * Nor do they hold back the rows behind them, however many they are; and a row committed late,
 * below rows the relay already looked past, is published all the same.
 */
class OutboxWaitingRowsTest {

  private static final Duration WAIT = Duration.ofSeconds(30);

  private final TestDatabase db = TestInfra.freshDatabase();
  private final Topics topics = TestInfra.freshTopics();
  private final KafkaConfig kafka = TestInfra.kafkaConfig(topics);
  private final KafkaTestClient client = TestInfra.kafkaClient();

  @AfterEach
  void closeClient() {
    client.close();
  }

  @Test
  void shouldNotReadRestingRowsAgainOnEveryPassWokenByANewRow() {
    // Given 2,000 rows, each of a key of its own, for a destination this version does not know,
    // each refused ten times already and resting (5 s) after its last refusal
    int resting = 2_000;
    db.execute(
        "INSERT INTO outbox_events (event_id, destination, message_key, event_type, payload,"
            + " attempts, failed_at, last_error)"
            + " SELECT gen_random_uuid(), 'SETTLEMENTS', 'user-' || g, 'settlement.made', '{}',"
            + " 10, now(), 'no destination SETTLEMENTS in this version of the relay'"
            + " FROM generate_series(1, ?) AS g",
        resting);
    String topic = topics.paymentEvents().name();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (Producer<String, byte[]> producer =
            new KafkaProducer<>(OutboxRelay.producerSettings(kafka, "outbox-resting"));
        OutboxRelay relay = startRelay(producer, registry, "resting")) {
      Await.until(WAIT, "the relay's first pass", () -> rowsRead(registry) >= resting);

      // When a service commits 25 events of other keys, one after the other, each waking the
      // relay, and each published before the next is written
      double readBefore = rowsRead(registry);
      long started = System.nanoTime();
      List<String> written = new ArrayList<>();
      for (int i = 0; i < 25; i++) {
        OutboxRows.Row row = message("listing-" + i, "{}");
        appendRow(List.of(row));
        relay.wakeUp();
        written.add(row.id().toString());
        Await.until(
            WAIT,
            Duration.ofMillis(5),
            "event " + i + " published",
            () -> db.count("outbox_events WHERE ? = ANY(batch_ids)", row.id()) == 0);
      }
      double read = rowsRead(registry) - readBefore;
      long seconds = Duration.ofNanos(System.nanoTime() - started).toSeconds() + 1;

      // Then every one of them is on the topic, and the resting rows were read again as their
      // rests ended (less than once a second on average), not once per pass (25 passes at least:
      // 50,000 rows)
      assertThat(client.readAll(topic).stream().map(OutboxWaitingRowsTest::eventId).toList())
          .containsExactlyInAnyOrderElementsOf(written);
      assertThat(read)
          .as("outbox rows read in %d s while 25 events were published", seconds)
          .isLessThanOrEqualTo((seconds + 1) * resting + 25.0);
      assertThat(db.count("outbox_events WHERE destination = 'SETTLEMENTS'")).isEqualTo(resting);
    }
  }

  @Test
  void shouldPublishARowBehindMoreWaitingRowsThanAPassLooksPast() {
    // Given 12,000 rows, each of a key of its own, for a destination this version does not know:
    // more than a pass reads (20 pages of 500), each refused and kept
    int refusedRows = 12_000;
    db.execute(
        "INSERT INTO outbox_events (event_id, destination, message_key, event_type, payload)"
            + " SELECT gen_random_uuid(), 'SETTLEMENTS', 'user-' || g, 'settlement.made', '{}'"
            + " FROM generate_series(1, ?) AS g",
        refusedRows);
    String topic = topics.paymentEvents().name();
    try (Producer<String, byte[]> producer =
            new KafkaProducer<>(OutboxRelay.producerSettings(kafka, "outbox-far"));
        OutboxRelay relay = startRelay(producer, new SimpleMeterRegistry(), "far")) {
      // When a transaction writes an event of another key, behind all of them
      OutboxRows.Row other = message("listing-c", "{}");
      appendRow(List.of(other));

      // Then it is published while they wait, and every one of them is refused and kept
      client.awaitRecord(topic, r -> eventId(r).equals(other.id().toString()), WAIT);
      Await.until(
          WAIT,
          "every row of the unknown destination refused",
          () ->
              db.count("outbox_events WHERE destination = 'SETTLEMENTS' AND last_error IS NOT NULL")
                  == refusedRows);
      assertThat(db.count("outbox_events WHERE destination = 'SETTLEMENTS'"))
          .isEqualTo(refusedRows);
    }
  }

  @Test
  void shouldPublishARowCommittedLateBelowRowsThatWaitBeforeALaterOneOfItsKey() {
    // Given a transaction that wrote an event of listing L and has not committed yet, and after
    // it a row for a destination this version does not know, refused ten times already and
    // resting (5 s)
    OutboxRows.Row late = message("listing-late", "{\"n\":1}");
    String topic = topics.paymentEvents().name();
    try (Handle open = db.jdbi().open();
        Producer<String, byte[]> producer =
            new KafkaProducer<>(OutboxRelay.producerSettings(kafka, "outbox-late"));
        OutboxRelay relay = startRelay(producer, new SimpleMeterRegistry(), "late")) {
      open.begin();
      new Writes().add(OutboxRows.insert(List.of(late)).orElseThrow()).execute(open);
      db.execute(
          "INSERT INTO outbox_events (event_id, destination, message_key, event_type, payload,"
              + " attempts, failed_at, last_error)"
              + " VALUES (gen_random_uuid(), 'SETTLEMENTS', 'user-1', 'settlement.made', '{}',"
              + " 10, now(), 'no destination SETTLEMENTS in this version of the relay')");
      // and an event written after them, which the relay publishes past the resting row
      OutboxRows.Row after = message("listing-after", "{}");
      appendRow(List.of(after));
      relay.wakeUp();
      client.awaitRecord(topic, r -> eventId(r).equals(after.id().toString()), WAIT);

      // When the transaction commits, and another transaction then writes listing L's next event
      open.commit();
      OutboxRows.Row next = message("listing-late", "{\"n\":2}");
      appendRow(List.of(next));
      relay.wakeUp();

      // Then both are published, listing L's in the order they were written
      client.awaitRecord(topic, r -> eventId(r).equals(next.id().toString()), WAIT);
      client.awaitRecord(topic, r -> eventId(r).equals(late.id().toString()), WAIT);
      assertThat(
              client.readAll(topic).stream()
                  .filter(r -> "listing-late".equals(r.key()))
                  .map(OutboxWaitingRowsTest::eventId)
                  .toList())
          .containsExactly(late.id().toString(), next.id().toString());
    }
  }

  private OutboxRelay startRelay(
      Producer<String, byte[]> producer, MeterRegistry registry, String owner) {
    return new OutboxRelay(db.jdbi(), producer, topics, Duration.ofMillis(50), registry, owner)
        .start();
  }

  private static double rowsRead(MeterRegistry registry) {
    return registry.get("payments.outbox.rows.read").counter().count();
  }

  private static String eventId(ConsumerRecord<String, byte[]> record) {
    return RecordHeaders.get(record.headers(), RecordHeaders.EVENT_ID).orElseThrow();
  }

  private static OutboxRows.Row message(String key, String json) {
    return new OutboxRows.Row(
        UUID.randomUUID(), Destination.PAYMENT_EVENTS, key, "listing.activated", json);
  }

  private void appendRow(List<OutboxRows.Row> messages) {
    db.jdbi()
        .useTransaction(
            tx -> new Writes().add(OutboxRows.insert(messages).orElseThrow()).execute(tx));
  }
}
