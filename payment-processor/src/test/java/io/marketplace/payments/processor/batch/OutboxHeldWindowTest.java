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
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A message the broker refuses holds back the later messages of its own key, not the rest of the
 * rows they are written in: a worker transaction's row holds hundreds of keys, the next
 * transactions share some of them, and held whole, such rows held each other back until they filled
 * the relay's pass and nothing at all was published.
 */
class OutboxHeldWindowTest {

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
  void shouldPublishEveryOtherKeyWhileTransactionsSharingKeysWaitBehindARefusedMessage() {
    // Given a topic that refuses batches over 20,000 bytes (more than a producer's batch of small
    // records, so that only the large one is refused, not the thousands of small ones each split
    // and retried), and a row whose one event (listing A) is too large for it, refused by a
    // running relay
    String topic = topics.paymentEvents().name();
    TestInfra.setMaxMessageBytes(topic, 20_000);
    OutboxRows.Row refused = message("listing-a", "{\"pad\":\"" + randomText(30_000) + "\"}");
    appendRow(List.of(refused));
    try (Producer<String, byte[]> producer =
            new KafkaProducer<>(OutboxRelay.producerSettings(kafka, "outbox-window"));
        OutboxRelay relay = startRelay(producer, "window")) {
      Await.until(WAIT, "the large event refused", () -> attempts(refused.id()) >= 1);

      // When five worker transactions write a row of 1,000 events each, the first with listing
      // A's next event, each sharing one listing with the one before it (as a busy processor's
      // transactions do), and then a row of listing C, which shares nothing with them
      List<UUID> written = new ArrayList<>();
      OutboxRows.Row next = message("listing-a", "{\"n\":2}");
      String shared = null;
      for (int i = 0; i < 5; i++) {
        List<OutboxRows.Row> messages = new ArrayList<>();
        messages.add(i == 0 ? next : message(shared, "{}"));
        shared = "listing-chain-" + i;
        messages.add(message(shared, "{}"));
        for (int j = 0; j < 998; j++) {
          messages.add(message("listing-" + i + "-" + j, "{}"));
        }
        appendRow(messages);
        messages.forEach(m -> written.add(m.id()));
      }
      OutboxRows.Row other = message("listing-c", "{}");
      appendRow(List.of(other));

      // Then listing C's event is published, and so is every event of those transactions but
      // listing A's, which waits behind the refused one
      client.awaitRecord(topic, r -> eventId(r).equals(other.id().toString()), WAIT);
      Await.until(
          WAIT,
          "every event but listing A's published",
          () -> client.readAll(topic).size() == written.size());
      assertThat(eventIdsOf(topic, "listing-a")).as("listing A's events").isEmpty();

      // And once the topic takes large records again, listing A's events follow, in order, and
      // every event is on the topic once
      TestInfra.setMaxMessageBytes(topic, Topics.MAX_MESSAGE_BYTES);
      db.awaitOutboxPublished(WAIT);
      assertThat(eventIdsOf(topic, "listing-a"))
          .containsExactly(refused.id().toString(), next.id().toString());
      List<String> published = client.readAll(topic).stream().map(r -> eventId(r)).toList();
      assertThat(published).doesNotHaveDuplicates().hasSize(written.size() + 2);
    }
  }

  @Test
  void shouldPublishPastMoreWaitingRowsThanAPassReadsAtOnce() {
    // Given more rows than a pass reads at once, each of a key of its own, for a destination a
    // newer version added (written by it during a rolling deploy, or a topic this service may
    // not write to): each is refused, and rests, and keeps its place
    int refusedRows = 1_200;
    db.execute(
        "INSERT INTO outbox_events (event_id, destination, message_key, event_type, payload)"
            + " SELECT gen_random_uuid(), 'SETTLEMENTS', 'user-' || g, 'settlement.made', '{}'"
            + " FROM generate_series(1, ?) AS g",
        refusedRows);
    String topic = topics.paymentEvents().name();
    try (Producer<String, byte[]> producer =
            new KafkaProducer<>(OutboxRelay.producerSettings(kafka, "outbox-lookahead"));
        OutboxRelay relay = startRelay(producer, "lookahead")) {
      // When a transaction writes an event of another key, behind all of them
      OutboxRows.Row other = message("listing-c", "{}");
      appendRow(List.of(other));

      // Then it is published while they wait
      client.awaitRecord(topic, r -> eventId(r).equals(other.id().toString()), WAIT);
      // And every one of them is refused and kept, none lost (the pass that sends the event notes
      // the refusals of the last of them in the transaction it commits after the broker took it)
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

  private OutboxRelay startRelay(Producer<String, byte[]> producer, String owner) {
    return new OutboxRelay(
            db.jdbi(), producer, topics, Duration.ofMillis(50), new SimpleMeterRegistry(), owner)
        .start();
  }

  private List<String> eventIdsOf(String topic, String key) {
    return client.readAll(topic).stream()
        .filter(r -> key.equals(r.key()))
        .map(OutboxHeldWindowTest::eventId)
        .toList();
  }

  private static String eventId(ConsumerRecord<String, byte[]> record) {
    return RecordHeaders.get(record.headers(), RecordHeaders.EVENT_ID).orElseThrow();
  }

  private long attempts(UUID eventId) {
    return db.row(
            "SELECT attempts FROM outbox_events WHERE event_id = ? OR ? = ANY(batch_ids)",
            eventId,
            eventId)
        .map(r -> ((Number) r.get("attempts")).longValue())
        .orElse(0L);
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

  private static String randomText(int bytes) {
    byte[] random = new byte[bytes];
    new SecureRandom().nextBytes(random);
    return Base64.getEncoder().encodeToString(random);
  }
}
